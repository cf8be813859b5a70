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
import type { NodeLogLine, ProcessState } from '../shared/api.js';
import { writeFileAtomic } from '../../core/process/atomic-file.js';
import type { ClusterRecord } from './cluster-registry.js';
import { NodeOperationGuard, type NodeHost, type NodeLaunch, type NodeLogQuery, type NodeProcessInfo } from './node-host.js';
import { defaultLogRotation, followLog, readNodeLogs, type LogRotation, type LogSource } from './node-logs.js';
import { DataLayout, projectRoot } from './paths.js';
import { liveLockOwner, type LockOwner } from '../../core/process/pid-lock.js';
import { isProcessAlive, isProcessStopped } from '../../core/process/processes.js';
import { describeExit, type ExitRecord, type RunnerReport, type RunnerSpec } from './runner-protocol.js';

export interface LocalHostOptions {
  /**
   * The Node runtime for node runners and raftd; default this process's (Electron's own, as Node).
   * A packaged app, whose RunAsNode fuse is off, names a Node of its own.
   */
  node?: string;
  /** How to run raftd; defaults to this checkout's core/server/bin/raftd.mjs under `node`. */
  raftd?: { command: string; args: string[] };
  rotation?: LogRotation;
  /** How long a stopping node may take before the console reports it. */
  stopTimeoutMs?: number;
  /** Extra raftd flags for every node (e.g. faster elections in tests). */
  extraArgs?: string[];
}

const RUNNER_REPORT_TIMEOUT_MS = 20_000;

/** A cluster's nodes as processes on this machine, each under its folder of the console's data dir. */
export class LocalHost implements NodeHost {
  private readonly root = projectRoot();
  private readonly rotation: LogRotation;
  /** Signals we sent, so "paused" is known where /proc is not. */
  private readonly paused = new Set<string>();
  /** Nodes with a start or stop under way: a second request for the same node is refused. */
  private readonly guard = new NodeOperationGuard();

  constructor(
    private readonly layout: DataLayout,
    private readonly clusterId: string,
    private readonly options: LocalHostOptions = {},
  ) {
    this.rotation = options.rotation ?? defaultLogRotation;
  }

  async info(nodeId: string): Promise<NodeProcessInfo> {
    return this.infoNow(nodeId);
  }

  private infoNow(nodeId: string): NodeProcessInfo {
    const owner = liveLockOwner(this.layout.nodeLock(this.clusterId, nodeId));
    if (owner) {
      const pid = raftdPid(owner);
      // The runner holds the lock but its raftd is not (yet) recorded or alive.
      if (pid === undefined) return { state: 'starting', ...(owner.child && { pid: owner.child.pid }) };
      const stopped = isProcessStopped(pid) ?? this.paused.has(nodeId);
      return { state: stopped ? 'paused' : 'running', pid, ...(owner.child?.started && { started: owner.child.started }) };
    }
    const exit = this.lastExit(nodeId);
    if (!exit) return { state: 'stopped' };
    const state: ProcessState = exit.error ? 'crashed' : exit.signal === 'SIGKILL' ? 'killed' : exit.code === 0 || exit.signal === 'SIGTERM' ? 'stopped' : 'crashed';
    return { state, detail: describeExit(exit) };
  }

  private isRunning(nodeId: string): boolean {
    return liveLockOwner(this.layout.nodeLock(this.clusterId, nodeId)) !== null;
  }

  filePath(nodeId: string, name: string): string {
    return join(this.layout.nodeDir(this.clusterId, nodeId), name);
  }

  async start(launch: NodeLaunch): Promise<number> {
    const { nodeId } = launch;
    return this.guard.run(nodeId, async () => {
      const owner = liveLockOwner(this.layout.nodeLock(this.clusterId, nodeId));
      if (owner) throw new ApiError('conflict', `node ${nodeId} is already running (pid ${owner.child?.pid ?? owner.pid})`);
      await assertPortsFree(nodeId, [launch.peer, launch.client]);
      const nodeDir = this.layout.nodeDir(this.clusterId, nodeId);
      const dataDir = this.layout.nodeDataDir(this.clusterId, nodeId);
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      for (const [name, content] of Object.entries(launch.files ?? {})) await writeFileAtomic(this.filePath(nodeId, name), content);
      const raftd = this.options.raftd ?? { command: this.options.node ?? process.execPath, args: [join(this.root, 'core/server/bin/raftd.mjs')] };
      const spec: RunnerSpec = {
        what: `node ${nodeId} of cluster ${this.clusterId}`,
        command: raftd.command,
        args: [...raftd.args, '--data-dir', dataDir, ...launch.args, ...(this.options.extraArgs ?? [])],
        env: launch.env,
        cwd: this.root,
        lockFile: this.layout.nodeLock(this.clusterId, nodeId),
        exitFile: this.layout.nodeExitFile(this.clusterId, nodeId),
        logFile: this.layout.nodeLogFile(this.clusterId, nodeId),
        rotation: this.rotation,
      };
      this.paused.delete(nodeId);
      return this.spawnRunner(spec, join(nodeDir, 'runner.err'));
    });
  }

  async stop(nodeId: string): Promise<void> {
    await this.guard.run(nodeId, async () => {
      const pid = this.signal(nodeId, 'SIGTERM');
      if (pid === null) return;
      // A paused process handles SIGTERM only once continued.
      this.signal(nodeId, 'SIGCONT');
      await this.waitForExit(nodeId, this.options.stopTimeoutMs ?? 10_000, `node ${nodeId} did not stop within the timeout (pid ${pid}); kill it instead`);
    });
  }

  async kill(nodeId: string): Promise<void> {
    await this.guard.run(nodeId, async () => {
      const pid = this.signal(nodeId, 'SIGKILL');
      if (pid === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
      await this.waitForExit(nodeId, 10_000, `node ${nodeId} (pid ${pid}) survived SIGKILL`);
    });
  }

  async pause(nodeId: string): Promise<void> {
    if (this.signal(nodeId, 'SIGSTOP') === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
    this.paused.add(nodeId);
  }

  async resume(nodeId: string): Promise<void> {
    if (this.signal(nodeId, 'SIGCONT') === null) throw new ApiError('conflict', `node ${nodeId} is not running`);
    this.paused.delete(nodeId);
  }

  readLog(nodeId: string, query: NodeLogQuery): Promise<NodeLogLine[]> {
    return readNodeLogs([this.logSource(nodeId)], query, this.rotation.keep);
  }

  followLog(nodeId: string, onLine: (line: NodeLogLine) => void): () => void {
    return followLog(this.logSource(nodeId), this.rotation.keep, onLine);
  }

  private logSource(nodeId: string): LogSource {
    return { clusterId: this.clusterId, nodeId, file: this.layout.nodeLogFile(this.clusterId, nodeId) };
  }

  async clientEndpoint(_nodeId: string, client: string): Promise<string> {
    return client;
  }

  async removeAll(nodeIds: readonly string[]): Promise<void> {
    const running = nodeIds.filter((id) => this.isRunning(id));
    if (running.length) throw new ApiError('conflict', `cluster ${this.clusterId} still has running nodes: ${running.join(', ')}`);
    await rm(this.layout.clusterDir(this.clusterId), { recursive: true, force: true });
  }

  async removeNodeData(nodeId: string): Promise<void> {
    if (this.isRunning(nodeId)) throw new ApiError('conflict', `node ${nodeId} is still running`);
    await rm(this.layout.nodeDataDir(this.clusterId, nodeId), { recursive: true, force: true });
  }

  async close(): Promise<void> {}

  private lastExit(nodeId: string): ExitRecord | null {
    try {
      return JSON.parse(readFileSync(this.layout.nodeExitFile(this.clusterId, nodeId), 'utf8')) as ExitRecord;
    } catch {
      return null;
    }
  }

  /** Sends a signal to the node's raftd; null when it is not running. */
  private signal(nodeId: string, signal: NodeJS.Signals): number | null {
    const pid = raftdPid(liveLockOwner(this.layout.nodeLock(this.clusterId, nodeId)));
    if (pid === undefined) return null;
    process.kill(pid, signal);
    return pid;
  }

  private async waitForExit(nodeId: string, timeoutMs: number, timeoutMessage: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.isRunning(nodeId)) {
      if (Date.now() > deadline) throw new ApiError('unavailable', timeoutMessage);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.paused.delete(nodeId);
  }


  private spawnRunner(spec: RunnerSpec, errorFile: string): Promise<number> {
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const runner = join(this.root, 'electron/services/node-runner.ts');
    const err = openSync(errorFile, 'a', 0o600);
    const child = spawn(this.options.node ?? process.execPath, ['--import', tsx, runner], {
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

function lastLines(file: string): string {
  if (!existsSync(file)) return 'no output';
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  return lines.slice(-3).join(' | ') || 'no output';
}

/** Refuses to start a node whose ports another program holds: raftd would only fail later, less clearly. */
async function assertPortsFree(nodeId: string, addresses: string[]): Promise<void> {
  for (const address of addresses) {
    if (!address) throw new ApiError('invalid-input', `node ${nodeId} has no address`);
    const [host, port] = splitHostPort(address);
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, host, () => server.close(() => resolve(true)));
    });
    if (!free) throw new ApiError('conflict', `node ${nodeId}: ${address} is in use by another program`);
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
