// Mutual TLS of the clusters the console creates: each cluster has its own CA, whose key stays in
// the console's data dir (0600 files in a 0700 folder) and never goes to a node. The console's own
// client certificate lives next to it; a node gets a certificate issued at each launch, naming its
// id and the addresses it is reached at, so a node added later needs nothing saved beforehand.
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createClusterCa, issueClientCertificate, issueNodeCertificate, type ClusterCa } from '../../core/security/pki.js';
import { checkTlsMaterial, type TlsMaterial } from '../../core/security/tls.js';
import { ApiError } from '../shared/api.js';
import { childPath } from './paths.js';

/** The console's name in its client certificates. */
const CONSOLE_CLIENT = 'raft-console';

/** The names of a node's TLS files (NodeLaunch.files) and the raftd flags that take them. */
export const NODE_TLS_FILES = { cert: 'tls-node.crt', key: 'tls-node.key', ca: 'tls-ca.crt' } as const;

/** One cluster's CA and the console's client certificate, loaded. */
export class ClusterTls {
  constructor(
    private readonly ca: ClusterCa,
    /** What the console presents on the nodes' client ports. */
    readonly client: TlsMaterial,
  ) {}

  /**
   * A fresh certificate for the node, as the files its host writes (0600): CN = node id, SANs =
   * 127.0.0.1 (the console reaches client ports on loopback, remote ones through a forward) and
   * the hosts of its peer and client addresses.
   */
  async nodeFiles(node: { id: string; peer?: string; client?: string }): Promise<Record<string, string>> {
    const hosts = [...new Set(['127.0.0.1', hostOf(node.peer), hostOf(node.client)].filter((h): h is string => !!h))];
    const material = await issueNodeCertificate(this.ca, { nodeId: node.id, hosts });
    return { [NODE_TLS_FILES.cert]: material.cert, [NODE_TLS_FILES.key]: material.key, [NODE_TLS_FILES.ca]: material.ca };
  }
}

/** Where every cluster's CA lives: `<data dir>/pki/<cluster id>/`. */
export class ClusterPki {
  constructor(readonly root: string) {}

  dir(clusterId: string): string {
    return childPath(this.root, clusterId, 'cluster id');
  }

  /** A new CA and console client certificate for the cluster, replacing any left by an earlier cluster of that id. */
  async create(clusterId: string): Promise<void> {
    const dir = this.dir(clusterId);
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { mode: 0o700 });
    const ca = await createClusterCa({ clusterId });
    const client = await issueClientCertificate(ca, { name: CONSOLE_CLIENT });
    const files = { 'ca.crt': ca.cert, 'ca.key': ca.key, 'console.crt': client.cert, 'console.key': client.key };
    for (const [name, content] of Object.entries(files)) await writeFile(join(dir, name), content, { mode: 0o600, flag: 'wx' });
  }

  /** The cluster's TLS, checked: a missing or damaged file is a clear error naming it. */
  async open(clusterId: string): Promise<ClusterTls> {
    const dir = this.dir(clusterId);
    const read = async (name: string) => {
      try {
        return await readFile(join(dir, name), 'utf8');
      } catch (error) {
        throw new ApiError('unavailable', `cluster ${clusterId} uses TLS but its ${name} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}) in ${dir}`);
      }
    };
    const [caCert, caKey, cert, key] = [await read('ca.crt'), await read('ca.key'), await read('console.crt'), await read('console.key')];
    const client = { cert, key, ca: caCert };
    try {
      checkTlsMaterial(client, new Date(), { cert: join(dir, 'console.crt'), key: join(dir, 'console.key'), ca: join(dir, 'ca.crt') });
      checkTlsMaterial({ cert: caCert, key: caKey, ca: caCert }, new Date(), { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key'), ca: join(dir, 'ca.crt') });
    } catch (error) {
      throw new ApiError('unavailable', `cluster ${clusterId}: ${(error as Error).message}`);
    }
    return new ClusterTls({ cert: caCert, key: caKey }, client);
  }

  async remove(clusterId: string): Promise<void> {
    await rm(this.dir(clusterId), { recursive: true, force: true });
  }
}

/** The host of host:port, without IPv6 brackets. */
function hostOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const colon = address.lastIndexOf(':');
  const host = colon < 0 ? address : address.slice(0, colon);
  return host.replace(/^\[|\]$/g, '') || undefined;
}
