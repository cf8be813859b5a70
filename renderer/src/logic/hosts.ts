// How the Hosts view words what the backend reports about SSH hosts: labels, grouping, and the
// command an operator runs on the host to compare a key's fingerprint. Nothing here decides trust.
import type { ClusterSummary } from '../../../electron/shared/api';

export type HostConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'unreachable' | 'key-not-trusted' | 'auth-failed';

export const hostStateLabel: Record<HostConnectionState, string> = {
  idle: 'not connected yet',
  connecting: 'connecting',
  connected: 'connected',
  reconnecting: 'reconnecting',
  unreachable: 'unreachable',
  'key-not-trusted': 'key not trusted',
  'auth-failed': 'login refused',
};

export const hostStateTone: Record<HostConnectionState, 'default' | 'info' | 'success' | 'warning' | 'error'> = {
  idle: 'default',
  connecting: 'info',
  connected: 'success',
  reconnecting: 'warning',
  unreachable: 'error',
  'key-not-trusted': 'error',
  'auth-failed': 'error',
};

export const testStepLabel: Record<string, string> = {
  tcp: 'TCP connection',
  'host-key': 'Host key',
  auth: 'Login',
  node: 'Node.js',
  os: 'OS and architecture',
  disk: 'Free disk space',
};

/** The host key file sshd keeps for a key type, by OpenSSH's naming. */
export function hostKeyFile(keyType: string): string | null {
  if (keyType === 'ssh-ed25519') return '/etc/ssh/ssh_host_ed25519_key.pub';
  if (keyType.startsWith('ecdsa-sha2-')) return '/etc/ssh/ssh_host_ecdsa_key.pub';
  if (keyType === 'ssh-rsa' || keyType.startsWith('rsa-sha2-')) return '/etc/ssh/ssh_host_rsa_key.pub';
  if (keyType === 'ssh-dss') return '/etc/ssh/ssh_host_dsa_key.pub';
  return null;
}

/** What to run on the host (on its console, not over this connection) to print the same SHA256 fingerprint. */
export function fingerprintCommand(keyType: string): string {
  const file = hostKeyFile(keyType);
  return file ? `ssh-keygen -lf ${file}` : 'for f in /etc/ssh/ssh_host_*_key.pub; do ssh-keygen -lf "$f"; done';
}

export const UNGROUPED = 'Ungrouped';

/** Profiles by group, groups in name order, "Ungrouped" last; a profile in two groups shows in both. */
export function groupHosts<T extends { name: string; groups: string[] }>(hosts: readonly T[]): { group: string; hosts: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const host of hosts) {
    for (const group of host.groups.length ? host.groups : [UNGROUPED]) groups.set(group, [...(groups.get(group) ?? []), host]);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => (a === UNGROUPED ? 1 : b === UNGROUPED ? -1 : a.localeCompare(b)))
    .map(([group, list]) => ({ group, hosts: [...list].sort((a, b) => a.name.localeCompare(b.name)) }));
}

export interface NodeOnHost {
  clusterId: string;
  clusterName: string;
  nodeId: string;
}

/** The raftd nodes each cluster placed on a host; nodes name their host by profile name (or id). */
export function nodesOnHost(host: { id: string; name: string }, clusters: readonly ClusterSummary[]): NodeOnHost[] {
  const out: NodeOnHost[] = [];
  for (const cluster of clusters) {
    for (const node of cluster.nodes) {
      if (!node.host) continue;
      if (node.host === host.id || node.host.toLowerCase() === host.name.toLowerCase()) out.push({ clusterId: cluster.id, clusterName: cluster.name, nodeId: node.id });
    }
  }
  return out;
}

/** Bytes in the unit a person reads (1.5 MB). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}
