// What raftctl needs, on this machine, to reach a cluster the console runs: the cluster token in a
// file (0600 in a 0700 folder of the console's data dir, <data>/access/<cluster>/; the token is in the
// console's registry already) and, for a cluster with mutual TLS, the console's client certificate and the CA. ClusterSummary.access names
// these files; electron/shared/raftctl-command.ts builds the command from them.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterAccess } from '../shared/api.js';
import { writeFileAtomic } from '../../core/process/atomic-file.js';
import type { ClusterPki } from './cluster-pki.js';
import type { ClusterRecord } from './cluster-registry.js';
import { childPath } from './paths.js';

export const TOKEN_FILE = 'token';

export class ClusterAccessFiles {
  /** Token files live in `<data dir>/access/<cluster id>/`. */
  private readonly root: string;

  constructor(
    private readonly pki: ClusterPki,
    dataDir: string,
  ) {
    this.root = join(dataDir, 'access');
  }

  private dir(clusterId: string): string {
    return childPath(this.root, clusterId, 'cluster id');
  }

  private tokenFile(clusterId: string): string {
    return join(this.dir(clusterId), TOKEN_FILE);
  }

  /** Writes the token file when it is missing or differs (clusters saved before it existed get one on attach). */
  async save(record: ClusterRecord): Promise<void> {
    if (!record.token) return;
    const file = this.tokenFile(record.id);
    if ((await readFile(file, 'utf8').catch(() => null)) === record.token) return;
    await mkdir(this.root, { recursive: true, mode: 0o700 });
    await mkdir(this.dir(record.id), { recursive: true, mode: 0o700 });
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
    await rm(this.dir(clusterId), { recursive: true, force: true });
  }
}
