// The raftctl command that reaches one raftd node from the operator's shell on the console's machine,
// built here only (the Clusters view shows it, a test runs it against a real TLS cluster). A remote
// node's client port listens on its host's loopback: the command first forwards it through SSH (the
// tunnel closes by itself once the command is done), then asks it with the cluster's token and, for
// a cluster with mutual TLS, the console's client certificate.
import type { ClusterAccess, NodeDefinition } from './api.js';
import { shellQuote } from '../services/remote/remote-shell.js';

/** The SSH login of a remote node's host (its profile). */
export interface SshLogin {
  user: string;
  address: string;
  port: number;
}

/** How long the SSH tunnel waits for raftctl's connection before it closes. */
const TUNNEL_SECONDS = 10;

/** raftctl's flags for the cluster's token and TLS files. */
export function raftctlAccessFlags(access: ClusterAccess | undefined): string[] {
  if (!access) return [];
  return [
    ...(access.tokenFile ? ['--token-file', access.tokenFile] : []),
    ...(access.tlsCert && access.tlsKey && access.tlsCa ? ['--tls-cert', access.tlsCert, '--tls-key', access.tlsKey, '--tls-ca', access.tlsCa] : []),
  ];
}

/** `npx raftctl … status` for the node; null for nodes raftctl cannot reach (embedded, or no client address). */
export function raftctlCommand(node: NodeDefinition, access: ClusterAccess | undefined, ssh?: SshLogin): string | null {
  if (node.kind === 'embedded' || !node.client) return null;
  const ask = (endpoint: string) => ['npx', 'raftctl', '--endpoints', endpoint, ...raftctlAccessFlags(access), 'status'].map(shellQuote).join(' ');
  if (node.kind === 'local') return ask(node.client);
  // The same port here as on the host: the node's certificate names 127.0.0.1, which both are.
  const port = node.client.slice(node.client.lastIndexOf(':') + 1);
  const login = ssh ? [`${ssh.user}@${ssh.address}`, ...(ssh.port === 22 ? [] : ['-p', String(ssh.port)])] : [`<${node.host ?? 'host'}>`];
  const tunnel = ['ssh', '-f', '-o', 'ExitOnForwardFailure=yes', '-L', `${port}:${node.client}`, ...login, 'sleep', String(TUNNEL_SECONDS)];
  return `${tunnel.map((a) => (a.startsWith('<') ? a : shellQuote(a))).join(' ')} && ${ask(`127.0.0.1:${port}`)}`;
}
