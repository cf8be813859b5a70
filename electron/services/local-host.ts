// Local nodes: real raftd processes, each started through a detached runner (node-runner.ts) that
// holds the node's lock and writes its logs. All state lives in files under the node's folder, so
// a restarted console sees exactly what is running; nothing here is remembered only in memory.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApiError } from '../shared/api.js';
import type { ProcessState } from '../shared/api.js';
import type { ClusterRecord, NodeRecord } from './cluster-registry.js';
import { defaultLogRotation, type LogRotation } from './node-logs.js';
import { DataLayout, projectRoot } from './paths.js';
import { liveLockOwner, type LockOwner } from './pid-lock.js';
import { isProcessAlive, isProcessStopped } from './processes.js';
import { describeExit, type ExitRecord, type RunnerReport, type RunnerSpec } from './runner-protocol.js';

export interface LocalProcessOptions {
  /** How to run raftd; defaults to this checkout's core/server/bin/raftd.mjs under the current Node. */
  raftd?: { command: string; args: string[] };
  rotation?: LogRotation;
  /** How long a stopping node may take before the console reports it. */
  stopTimeoutMs?: number;
  /** Extra raftd flags for every node (e.g. faster elections in tests). */
  extraArgs?: string[];
}

export interface ProcessInfo {
  state: ProcessState;
  pid?: number;
  /** How the last process ended, when it is not running. */
  detail?: string;
}

const RUNNER_REPORT_TIMEOUT_MS = 20_000;

export class LocalProcesses {
  private readonly root = projectRoot();
  private readonly rotation: LogRotation;
  /** Signals we sent, so "paused" is known where /proc is not. */
  private readonly paused = new Set<string>();
  /** Nodes with a start or stop under way: a second request for the same node is refused. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly layout: DataLayout,
    private readonly options: LocalProcessOptions = {},
  ) {
    this.rotation = options.rotation ?? defaultLogRotation;
  }

  get logRotation(): LogRotation {
    return this.rotation;
  }

  info(clusterId: string, nodeId: string): ProcessInfo {
    const owner = liveLockOwner(this.layout.nodeLock(clusterId, nodeId));
    if (owner) {
      const pid = raftdPid(owner);
      // The runner holds the lock but its raftd is not (yet) recorded or alive.
      if (pid === undefined) return { state: 'starting', ...(owner.child && { pid: owner.child.pid }) };
      const stopped = isProcessStopped(pid) ?? this.paused.has(key(clusterId, nodeId));
      return { state: stopped ? 'paused' : 'running', pid };
    }
    const exit = this.lastExit(clusterId, nodeId);
    if (!exit) return { state: 'stopped' };
    const state: ProcessState = exit.error ? 'crashed' : exit.signal === 'SIGKILL' ? 'killed' : exit.code === 0 || exit.signal === 'SIGTERM' ? 'stopped' : 'crashed';
    return { state, detail: describeExit(exit) };
  }

  isRunning(clusterId: string, nodeId: string): boolean {
    return liveLockOwner(this.layout.nodeLock(clusterId, nodeId)) !== null;
  }

  /** Starts raftd for the node; refuses when a process already uses its data dir. Returns raftd's pid. */
  async start(cluster: ClusterRecord, node: NodeRecord, flags: string[] = []): Promise<number> {
    return this.exclusive(cluster.id, node.id, async () => {
      const owner = liveLockOwner(this.layout.nodeLock(cluster.id, node.id));
      if (owner) throw new ApiError('conflict', `node ${node.id} is already running (pid ${owner.child?.pid ?? owner.pid})`);
      await assertPortsFree(node);
      const nodeDir = this.layout.nodeDir(cluster.id, node.id);
      mkdirSync(this.layout.nodeDataDir(cluster.id, node.id), { recursive: true });
      const raftd = this.options.raftd ?? { command: process.execPath, args: [join(this.root, 'core/server/bin/raftd.mjs')] };
      const spec: RunnerSpec = {
        what: `node ${node.id} of cluster ${cluster.id}`,
        command: raftd.command,
        args: [...raftd.args, ...raftdArgs(this.layout, cluster, node), ...(this.options.extraArgs ?? []), ...flags],
        env: cluster.token ? { RAFTD_TOKEN: cluster.token } : {},
        cwd: this.root,
        lockFile: this.layout.nodeLock(cluster.id, node.id),
        exitFile: this.layout.nodeExitFile(cluster.id, node.id),
        logFile: this.layout.nodeLogFile(cluster.id, node.id),
        rotation: this.rotation,
      };
      this.paused.delete(key(cluster.id, node.id));
      return this.spawnRunner(spec, join(nodeDir, 'runner.err'));
    });
  }

  /** SIGTERM, then wait for the process to end. */
  async stop(clusterId: string, nodeId: string): Promise<void> {
    await this.exclusive(clusterId, nodeId, async () => {
      const pid = this.signal(clusterId, nodeId, 'SIGTERM');
      if (pid === null) return;
      // A paused process handles SIGTERM only once continued.
      this.signal(clusterId, nodeId, 'SIGCONT');
      await this.waitForExit(clusterId, nodeId, this.options.stopTimeoutMs ?? 10_000, `node ${nodeId} did not stop within the timeout (pid ${pid}); kill it instead`);
    });
  }

  /** SIGKILL: the crash test. */
  async kill(clusterId: string, nodeId: string): Promise<void> {
    await this.exclusive(clusterId, nodeId, async () => {
      const pid = this.signal(clusterId, nodeId, 'SIGKILL');
      if (pid === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
      await this.waitForExit(clusterId, nodeId, 10_000, `node ${nodeId} (pid ${pid}) survived SIGKILL`);
    });
  }

  pause(clusterId: string, nodeId: string): void {
    if (this.signal(clusterId, nodeId, 'SIGSTOP') === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
    this.paused.add(key(clusterId, nodeId));
  }

  resume(clusterId: string, nodeId: string): void {
    if (this.signal(clusterId, nodeId, 'SIGCONT') === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
    this.paused.delete(key(clusterId, nodeId));
  }

  /** Deletes a cluster's folder (data and logs of every node); refuses while any of its nodes runs. */
  async removeClusterFiles(cluster: ClusterRecord): Promise<void> {
    const running = cluster.nodes.filter((n) => this.isRunning(cluster.id, n.id)).map((n) => n.id);
    if (running.length) throw new ApiError('conflict', `cluster ${cluster.id} still has running nodes: ${running.join(', ')}`);
    await rm(this.layout.clusterDir(cluster.id), { recursive: true, force: true });
  }

  /** Deletes a removed node's raft data, keeping its logs; refuses while it runs. */
  async removeNodeData(clusterId: string, nodeId: string): Promise<void> {
    if (this.isRunning(clusterId, nodeId)) throw new ApiError('conflict', `node ${nodeId} is still running`);
    await rm(this.layout.nodeDataDir(clusterId, nodeId), { recursive: true, force: true });
  }

  private lastExit(clusterId: string, nodeId: string): ExitRecord | null {
    try {
      return JSON.parse(readFileSync(this.layout.nodeExitFile(clusterId, nodeId), 'utf8')) as ExitRecord;
    } catch {
      return null;
    }
  }

  /** Sends a signal to the node's raftd; null when it is not running. */
  private signal(clusterId: string, nodeId: string, signal: NodeJS.Signals): number | null {
    const pid = raftdPid(liveLockOwner(this.layout.nodeLock(clusterId, nodeId)));
    if (pid === undefined) return null;
    process.kill(pid, signal);
    return pid;
  }

  private async waitForExit(clusterId: string, nodeId: string, timeoutMs: number, timeoutMessage: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.isRunning(clusterId, nodeId)) {
      if (Date.now() > deadline) throw new ApiError('unavailable', timeoutMessage);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.paused.delete(key(clusterId, nodeId));
  }

  private async exclusive<T>(clusterId: string, nodeId: string, work: () => Promise<T>): Promise<T> {
    const k = key(clusterId, nodeId);
    if (this.busy.has(k)) throw new ApiError('conflict', `node ${nodeId} is already being started or stopped`);
    this.busy.add(k);
    try {
      return await work();
    } finally {
      this.busy.delete(k);
    }
  }

  private spawnRunner(spec: RunnerSpec, errorFile: string): Promise<number> {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const runner = join(this.root, 'electron/services/node-runner.ts');
    const err = openSync(errorFile, 'a');
    const child = spawn(process.execPath, ['--import', tsx, runner], {
      cwd: this.root,
      detached: true,
      stdio: ['ignore', err, err, 'ipc'],
      env: { ...process.env, ELECTRON_RUN_AS_NODE: '1' },
    });
    closeSync(err);
    child.send(spec);
    return new Promise<number>((resolve, reject) => {
      const fail = (message: string) => {
        clearTimeout(timer);
        reject(new ApiError('unavailable', message));
      };
      const timer = setTimeout(() => fail(`${spec.what}: the runner did not report within ${RUNNER_REPORT_TIMEOUT_MS / 1000} s`), RUNNER_REPORT_TIMEOUT_MS);
      child.once('message', (message: RunnerReport) => {
        clearTimeout(timer);
        child.unref();
        child.channel?.unref();
        if (message.ok) resolve(message.pid);
        else fail(message.error);
      });
      child.once('exit', (code) => fail(`${spec.what}: the runner ended (code ${code}) before starting raftd: ${lastLines(errorFile)}`));
      child.once('error', (error) => fail(`${spec.what}: could not start the runner: ${error.message}`));
    });
  }
}

/** The pid of the raftd a node's runner started, while that very process lives. */
function raftdPid(owner: LockOwner | null): number | undefined {
  const child = owner?.child;
  return child && isProcessAlive(child.pid, child.started) ? child.pid : undefined;
}

function key(clusterId: string, nodeId: string): string {
  return `${clusterId}/${nodeId}`;
}

function raftdArgs(layout: DataLayout, cluster: ClusterRecord, node: NodeRecord): string[] {
  const members = cluster.nodes.map((n) => `${n.id}=${n.peer}/${n.client}`).join(',');
  return [
    '--id', node.id,
    '--data-dir', layout.nodeDataDir(cluster.id, node.id),
    '--peer', node.peer ?? '',
    '--client', node.client ?? '',
    '--cluster', members,
    // Peers of other clusters (ports get reused) are refused by raftd.
    '--cluster-id', cluster.id,
    ...(node.joined ? ['--join'] : []),
  ];
}

function lastLines(file: string): string {
  if (!existsSync(file)) return 'no output';
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return lines.slice(-3).join(' | ') || 'no output';
}

/** Refuses to start a node whose ports another program holds: raftd would only fail later, less clearly. */
async function assertPortsFree(node: NodeRecord): Promise<void> {
  for (const address of [node.peer, node.client]) {
    if (!address) throw new ApiError('invalid-input', `node ${node.id} has no address`);
    const [host, port] = splitHostPort(address);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (!free) throw new ApiError('conflict', `node ${node.id}: ${address} is in use by another program`);
  }
}

function splitHostPort(address: string): [string, number] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon), Number(address.slice(colon + 1))];
}

/** The ports the saved clusters' nodes are defined on: a stopped node keeps its ports for its next start. */
export function definedPorts(clusters: readonly ClusterRecord[]): Set<number> {
  const addresses = clusters.flatMap((c) => c.nodes.flatMap((n) => [n.peer, n.client]));
  return new Set(addresses.filter((a): a is string => !!a).map((a) => splitHostPort(a)[1]));
}

/** Distinct free loopback ports, none of them in `taken`. */
export async function pickFreePorts(count: number, taken: ReadonlySet<number>): Promise<number[]> {
  const servers: ReturnType<typeof createServer>[] = [];
  const ports: number[] = [];
  try {
    while (ports.length < count) {
      const server = createServer();
      servers.push(server);
      const port = await new Promise<number>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
      });
      if (!taken.has(port)) ports.push(port);
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
  return ports;
}
