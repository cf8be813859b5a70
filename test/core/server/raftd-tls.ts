// TLS for raftd test clusters: a CA, node certificates in files raftd reads, and HTTPS requests
// with a client certificate (fetch cannot present one).
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { createClusterCa, issueClientCertificate, issueNodeCertificate, writeTlsFiles, type ClusterCa } from '../../../core/security/pki.js';
import type { TlsMaterial } from '../../../core/security/tls.js';

export interface TestClusterTls {
  ca: ClusterCa;
  /** A client certificate of the cluster CA, for the harness's and the tests' requests. */
  client: TlsMaterial;
  dir: string;
}

export async function createTestClusterTls(root: string): Promise<TestClusterTls> {
  const ca = await createClusterCa({ clusterId: 'test' });
  return { ca, client: await issueClientCertificate(ca, { name: 'test-client' }), dir: join(root, 'tls') };
}

/** Writes node `id`'s certificate and key; returns raftd's TLS flags for them. */
export async function nodeTlsArgs(tls: TestClusterTls, id: string): Promise<string[]> {
  const files = await writeTlsFiles(tls.dir, id, await issueNodeCertificate(tls.ca, { nodeId: id, hosts: ['127.0.0.1', 'localhost'] }));
  return ['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', files.ca];
}

export interface HttpsReply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One HTTPS request (no redirects followed) presenting `client`'s certificate; `client` may be just a CA to trust. */
export function httpsRequest(url: string, client: Partial<TlsMaterial> & { ca: string }, init: { method?: string; body?: string; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method ?? 'GET', headers: init.headers, ca: client.ca, cert: client.cert, key: client.key, agent: false, timeout: init.timeoutMs ?? 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(init.body);
  });
}
