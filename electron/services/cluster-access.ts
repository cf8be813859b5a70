// What raftctl needs, on this machine, to reach a cluster the console runs: the cluster token in a
// file (0600, next to the cluster's CA; the token is in the console's registry already) and, for a
// cluster with mutual TLS, the console's client certificate and the CA. ClusterSummary.access names
// these files; electron/shared/raftctl-command.ts builds the command from them.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterAccess } from '../shared/api.js';
import { writeFileAtomic } from '../../core/process/atomic-file.js';
import type { ClusterPki } from './cluster-pki.js';
import type { ClusterRecord } from './cluster-registry.js';

export const TOKEN_FILE = 'token';

export class ClusterAccessFiles {
  constructor(private readonly pki: ClusterPki) {}

  private tokenFile(clusterId: string): string {
    return join(this.pki.dir(clusterId), TOKEN_FILE);
  }

  /** Writes the token file when it is missing or differs (clusters saved before it existed get one on attach). */
  async save(record: ClusterRecord): Promise<void> {
    if (!record.token) return;
    const file = this.tokenFile(record.id);
    if ((await readFile(file, 'utf8').catch(() => null)) === record.token) return;
    await mkdir(this.pki.dir(record.id), { recursive: true, mode: 0o700 });
    await writeFileAtomic(file, record.token);
  }

  /** The files for raftctl's flags; undefined for clusters raftctl cannot reach (embedded ones). */
  describe(record: ClusterRecord): ClusterAccess | undefined {
    if (record.kind === 'embedded') return undefined;
    const dir = this.pki.dir(record.id);
    return {
      ...(record.token && { tokenFile: this.tokenFile(record.id) }),
      ...(record.tls && { tlsCert: join(dir, 'console.crt'), tlsKey: join(dir, 'console.key'), tlsCa: join(dir, 'ca.crt') }),
    };
  }

  /** The token file goes with its cluster (the CA files go with RaftdCluster.destroy). */
  async remove(clusterId: string): Promise<void> {
    await rm(this.tokenFile(clusterId), { force: true });
  }
}
