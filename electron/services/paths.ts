// Where things live: the project checkout (raftd, the node runner) and the console's data directory.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiError } from '../shared/api.js';

/** The checkout root, found upwards from this module (works from sources and from the electron-vite bundle in out/). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'electron'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Raft Console checkout above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}

/** RAFT_CONSOLE_DATA_DIR wins; then the directory the host gives (Electron's userData); else ~/.raft-console. */
export function resolveDataDir(hostDefault?: string): string {
  const fromEnv = process.env.RAFT_CONSOLE_DATA_DIR;
  if (fromEnv) return resolve(fromEnv);
  return hostDefault ?? join(homedir(), '.raft-console');
}

/** A plain name: what the API allows for ids, and never `.` or `..`. */
const plainName = /^[A-Za-z0-9_.-]{1,64}$/;

/**
 * `parent/name`, for a name that is a plain name (so it cannot climb out or reach into a subfolder),
 * checked to resolve inside `parent` all the same: ids come from requests and from a file on disk.
 */
export function childPath(parent: string, name: string, what: string): string {
  if (!plainName.test(name) || name === '.' || name === '..') throw new ApiError('invalid-input', `${what} "${name}" is not a plain name (letters, digits, _ . -; not . or ..)`);
  const path = join(parent, name);
  const rel = relative(resolve(parent), resolve(path));
  if (!rel || rel === '..' || rel.startsWith('..' + sep) || resolve(rel) === rel) throw new ApiError('invalid-input', `${what} "${name}" leads outside ${parent}`);
  return path;
}

/** One folder per cluster and node under the data dir; every path built from an id stays inside its parent. */
export class DataLayout {
  constructor(readonly root: string) {}

  get registryFile(): string {
    return join(this.root, 'clusters.json');
  }

  /** Each cluster's CA and the console's client certificate (cluster-pki.ts). */
  get pkiDir(): string {
    return join(this.root, 'pki');
  }

  get consoleLock(): string {
    return join(this.root, 'console.lock');
  }

  clusterDir(clusterId: string): string {
    return childPath(join(this.root, 'clusters'), clusterId, 'cluster id');
  }

  nodeDir(clusterId: string, nodeId: string): string {
    return childPath(join(this.clusterDir(clusterId), 'nodes'), nodeId, 'node id');
  }

  /** raftd's --data-dir. */
  nodeDataDir(clusterId: string, nodeId: string): string {
    return join(this.nodeDir(clusterId, nodeId), 'data');
  }

  nodeLogFile(clusterId: string, nodeId: string): string {
    return join(this.nodeDir(clusterId, nodeId), 'logs', 'raftd.log');
  }

  /** Held by the node's runner while its raftd lives: the one guard against two processes on one data dir. */
  nodeLock(clusterId: string, nodeId: string): string {
    return join(this.nodeDir(clusterId, nodeId), 'node.lock');
  }

  /** How the node's last process ended, written by the runner. */
  nodeExitFile(clusterId: string, nodeId: string): string {
    return join(this.nodeDir(clusterId, nodeId), 'exit.json');
  }
}
