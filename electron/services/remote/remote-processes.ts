// A cluster's nodes as raftd processes on remote hosts (NodeHost over RemoteShell). Each node lives
// in ~/.raft-console/clusters/<cluster>/nodes/<node>/ on its host: data/, logs/raftd.log (rotated by
// the node's keeper), node.lock (the keeper's and raftd's pids with their kernel start times),
// exit.json, the start spec and the node's files (0600). The state lives there, not in the console:
// a restarted console reads it back (re-attach) with one command per host.
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ApiError } from '../../shared/api.js';
import type { NodeLogLine, ProcessState } from '../../shared/api.js';
import { NodeOperationGuard, type NodeHost, type NodeLaunch, type NodeLogQuery, type NodeProcessInfo } from '../node-host.js';
import { defaultLogRotation, parseLogLine, type LogRotation } from '../node-logs.js';
import type { LockOwner } from '../../../core/process/pid-lock.js';
import { describeExit, type ExitRecord } from '../runner-protocol.js';
import { REMOTE_ROOT, checked, remoteFailure, whenConnected } from './deploy.js';
import type { RemoteStartSpec, StartReport } from './deploy-entry.js';
import type { RemoteHost } from './remote-host.js';
import { RemoteError, shellQuote, type ForwardedPort } from './remote-shell.js';

export interface RemoteProcessesOptions {
  rotation?: LogRotation;
  /** How long a stopping node may take before the console reports it. */
  stopTimeoutMs?: number;
  /** How long raftd may take to listen once started. */
  readyTimeoutMs?: number;
  /** Extra raftd flags for every node (faster elections in tests). */
  extraArgs?: string[];
  /** How long a host's process listing is reused: one command per host per period, whatever asks. */
  infoCacheMs?: number;
}

/** The node's folder, relative to the remote user's home (where every remote command starts). */
export function remoteNodeDir(clusterId: string, nodeId: string): string {
  return `${REMOTE_ROOT}/clusters/${clusterId}/nodes/${nodeId}`;
}

/** What one listing of a host says about one node. */
interface NodeListing {
  lock?: LockOwner;
  exit?: ExitRecord;
  /** The starter's report of the last start, once it finished. */
  report?: StartReport;
  /** /proc/<pid>/stat fields after the command name, by pid. */
  stats: Map<number, string[]>;
}

export class RemoteProcesses implements NodeHost {
  private readonly rotation: LogRotation;
  private readonly forwards = new Map<string, { client: string; port: Promise<ForwardedPort> }>();
  private readonly guard = new NodeOperationGuard();
  /** Per host: the last listing and when it was taken; a listing under way is shared. */
  private readonly listings = new Map<string, { at: number; settled: boolean; nodes: Promise<Map<string, NodeListing>> }>();
  /** Nodes whose start was cut off: stopped as soon as their host answers again. */
  private readonly rollbacks = new Set<string>();
  private closed = false;

  constructor(
    private readonly clusterId: string,
    /** The host that runs a node (from the cluster's definition). */
    private readonly hostOf: (nodeId: string) => RemoteHost,
    /** The nodes of the cluster on a host (listed together). */
    private readonly nodesOn: (host: RemoteHost) => string[],
    private readonly options: RemoteProcessesOptions = {},
  ) {
    this.rotation = options.rotation ?? defaultLogRotation;
  }

  filePath(nodeId: string, name: string): string {
    return `${remoteNodeDir(this.clusterId, nodeId)}/${name}`;
  }

  async info(nodeId: string): Promise<NodeProcessInfo> {
    const host = this.hostOf(nodeId);
    // While the pool reconnects by itself nothing is asked: the node is unknown, not crashed.
    if (host.shell.state === 'reconnecting') return hostUnreachable(host);
    let listing: NodeListing | undefined;
    try {
      listing = (await this.listing(host)).get(nodeId);
    } catch (error) {
      if (linkDown(host, error)) return hostUnreachable(host, error);
      return { state: 'unknown', detail: `${host.displayName}: ${(error as Error).message}` };
    }
    const info = infoFrom(listing);
    if (this.rollbacks.has(nodeId)) {
      this.rollbacks.delete(nodeId);
      if (isLive(info.state)) {
        await this.signalAndWait(nodeId, 'TERM', this.options.stopTimeoutMs ?? 10_000).catch(() => this.rollbacks.add(nodeId));
        return this.info(nodeId);
      }
    }
    return info;
  }

  async start(launch: NodeLaunch): Promise<number> {
    const { nodeId } = launch;
    const host = this.hostOf(nodeId);
    return this.guard.run(nodeId, async () => {
      await whenConnected(host.shell);
      const [deployment, listing] = await Promise.all([host.deployment(), this.listing(host, true)]).catch((error: unknown) => {
        throw remoteFailure(host.displayName, `starting node ${nodeId}`, error);
      });
      const running = infoFrom(listing.get(nodeId));
      if (isLive(running.state)) throw new ApiError('conflict', `node ${nodeId} is already running on ${host.displayName} (pid ${running.pid})`);
      const dir = remoteNodeDir(this.clusterId, nodeId);
      const home = deployment.facts.home;
      const spec: RemoteStartSpec = {
        what: `node ${nodeId} of cluster ${this.clusterId}`,
        command: deployment.nodePath,
        args: [deployment.bundlePath, 'raftd', '--data-dir', `${dir}/data`, ...launch.args, ...(this.options.extraArgs ?? [])],
        env: launch.env,
        cwd: home,
        lockFile: `${home}/${dir}/node.lock`,
        exitFile: `${home}/${dir}/exit.json`,
        logFile: `${home}/${dir}/logs/raftd.log`,
        rotation: this.rotation,
        peer: launch.peer,
        client: launch.client,
        reportFile: `${home}/${dir}/start.json`,
        errorFile: `${home}/${dir}/runner.err`,
        readyTimeoutMs: this.options.readyTimeoutMs ?? 15_000,
      };
      try {
        await checked(host.shell, `umask 077 && mkdir -p ${shellQuote(`${dir}/data`)} ${shellQuote(`${dir}/logs`)} && rm -f ${shellQuote(`${dir}/start.json`)}`, `create the folder of node ${nodeId}`);
        // Secrets (the token in env, certificates) travel over the channel's stdin, never on a command line.
        for (const [name, content] of Object.entries({ ...launch.files, 'start-spec.json': JSON.stringify(spec) })) {
          await writeRemoteFile(host, this.filePath(nodeId, name), content);
        }
      } catch (error) {
        throw remoteFailure(host.displayName, `preparing node ${nodeId}`, error);
      }
      this.forget(host);
      let report: StartReport;
      try {
        const result = await host.shell.exec(`${shellQuote(deployment.nodePath)} ${shellQuote(deployment.bundlePath)} start ${shellQuote(this.filePath(nodeId, 'start-spec.json'))}`, {
          timeoutMs: spec.readyTimeoutMs + 30_000,
        });
        report = parseReport(result.stdout, result.stderr);
      } catch (error) {
        throw await this.rollBack(host, nodeId, error);
      } finally {
        this.forget(host);
      }
      if (report.ok) return report.pid;
      throw startFailure(host, nodeId, report);
    });
  }

  async stop(nodeId: string): Promise<void> {
    await this.guard.run(nodeId, async () => {
      await this.signalAndWait(nodeId, 'TERM', this.options.stopTimeoutMs ?? 10_000);
    });
  }

  async kill(nodeId: string): Promise<void> {
    await this.guard.run(nodeId, async () => {
      const sent = await this.signalAndWait(nodeId, 'KILL', 10_000);
      if (!sent) throw new ApiError('conflict', `node ${nodeId} is not running`);
    });
  }

  async pause(nodeId: string): Promise<void> {
    if (!(await this.signal(nodeId, ['STOP']))) throw new ApiError('conflict', `node ${nodeId} is not running`);
  }

  async resume(nodeId: string): Promise<void> {
    if (!(await this.signal(nodeId, ['CONT']))) throw new ApiError('conflict', `node ${nodeId} is not running`);
  }

  async readLog(nodeId: string, query: NodeLogQuery): Promise<NodeLogLine[]> {
    const host = this.hostOf(nodeId);
    const logFile = this.filePath(nodeId, 'logs/raftd.log');
    const files = [...Array.from({ length: this.rotation.keep }, (_, i) => `${logFile}.${this.rotation.keep - i}`), logFile];
    // Filtered by text on the host (grep -F), by level here; only the newest lines travel.
    const wanted = Math.min(50_000, query.levels ? query.limit * 8 : query.limit);
    const grep = query.search ? ` | grep -F -i -e ${shellQuote(query.search)}` : '';
    const command = `for f in ${files.map(shellQuote).join(' ')}; do [ -f "$f" ] && cat "$f"; done${grep} | tail -n ${wanted}`;
    let stdout: string;
    try {
      ({ stdout } = await host.shell.exec(command, { timeoutMs: 30_000 }));
    } catch (error) {
      throw remoteFailure(host.displayName, `reading the log of ${nodeId}`, error);
    }
    const lines = stdout
      .split('\n')
      .filter((raw) => raw)
      .map((raw) => parseLogLine(raw, this.clusterId, nodeId))
      .filter((line) => !query.levels || query.levels.includes(line.level));
    return lines.slice(-query.limit);
  }

  followLog(nodeId: string, onLine: (line: NodeLogLine) => void): () => void {
    const host = this.hostOf(nodeId);
    let partial = '';
    const follower = host.shell.followFile(this.filePath(nodeId, 'logs/raftd.log'), (text) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) if (raw) onLine(parseLogLine(raw, this.clusterId, nodeId));
    });
    return () => follower.stop();
  }

  /** Copies the node's current log file to this machine. */
  async downloadLog(nodeId: string, localFile: string): Promise<void> {
    const host = this.hostOf(nodeId);
    await mkdir(dirname(localFile), { recursive: true });
    try {
      await host.shell.download(this.filePath(nodeId, 'logs/raftd.log'), localFile);
    } catch (error) {
      throw remoteFailure(host.displayName, `downloading the log of ${nodeId}`, error);
    }
  }

  /** A 127.0.0.1 port of this machine carried over SSH to the node's client port on its host's loopback. */
  async clientEndpoint(nodeId: string, client: string): Promise<string> {
    if (this.closed) throw new ApiError('unavailable', `cluster ${this.clusterId} is closed`);
    let forward = this.forwards.get(nodeId);
    if (!forward || forward.client !== client) {
      const port = Number(client.slice(client.lastIndexOf(':') + 1));
      const host = this.hostOf(nodeId);
      const opened = host.shell.forwardLocal(port, '127.0.0.1');
      forward = { client, port: opened };
      this.forwards.set(nodeId, forward);
      opened.catch(() => this.forwards.get(nodeId)?.port === opened && this.forwards.delete(nodeId));
    }
    return `127.0.0.1:${(await forward.port).localPort}`;
  }

  async removeNodeData(nodeId: string): Promise<void> {
    const host = this.hostOf(nodeId);
    const info = await this.info(nodeId);
    if (isLive(info.state)) throw new ApiError('conflict', `node ${nodeId} is still running`);
    if (info.state === 'unknown') throw new ApiError('unavailable', `node ${nodeId}: ${info.detail}`);
    await checked(host.shell, `rm -rf ${shellQuote(`${remoteNodeDir(this.clusterId, nodeId)}/data`)}`, `remove the data of ${nodeId}`);
    await this.closeForward(nodeId);
  }

  async removeAll(nodeIds: readonly string[]): Promise<void> {
    const infos = await Promise.all(nodeIds.map(async (id) => ({ id, info: await this.info(id) })));
    const running = infos.filter(({ info }) => isLive(info.state)).map(({ id }) => id);
    if (running.length) throw new ApiError('conflict', `cluster ${this.clusterId} still has running nodes: ${running.join(', ')}`);
    const hosts = [...new Set(nodeIds.map((id) => this.hostOf(id)))];
    for (const host of hosts) {
      await checked(host.shell, `rm -rf ${shellQuote(`${REMOTE_ROOT}/clusters/${this.clusterId}`)}`, `remove the files of cluster ${this.clusterId}`);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.forwards.keys()].map((id) => this.closeForward(id)));
  }

  private async closeForward(nodeId: string): Promise<void> {
    const forward = this.forwards.get(nodeId);
    this.forwards.delete(nodeId);
    if (forward) await (await forward.port.catch(() => null))?.close();
  }

  private forget(host: RemoteHost): void {
    this.listings.delete(host.name);
  }

  /** Lock, exit record and /proc stat of every node of this cluster on the host: one command. */
  private listing(host: RemoteHost, fresh = false): Promise<Map<string, NodeListing>> {
    const cached = this.listings.get(host.name);
    // One listing in flight per host, whoever asks (a host that does not answer is not asked again and again).
    if (cached && (!cached.settled || (!fresh && Date.now() - cached.at < (this.options.infoCacheMs ?? 500)))) return cached.nodes;
    const entry = { at: Date.now(), settled: false, nodes: this.list(host) };
    this.listings.set(host.name, entry);
    entry.nodes.then(
      () => {
        entry.settled = true;
      },
      () => {
        entry.settled = true;
        if (this.listings.get(host.name) === entry) this.listings.delete(host.name);
      },
    );
    return entry.nodes;
  }

  private async list(host: RemoteHost): Promise<Map<string, NodeListing>> {
    const ids = this.nodesOn(host);
    const result = new Map<string, NodeListing>();
    if (ids.length === 0) return result;
    const script = [
      `cd ${shellQuote(`${REMOTE_ROOT}/clusters/${this.clusterId}/nodes`)} 2>/dev/null || exit 0`,
      `for d in ${ids.map(shellQuote).join(' ')}; do`,
      '  echo "N $d"',
      '  if [ -f "$d/node.lock" ]; then l=$(cat "$d/node.lock"); echo "L $l"',
      `    for p in $(printf '%s' "$l" | grep -o '"pid":[0-9]*' | cut -d: -f2); do [ -r /proc/$p/stat ] && echo "S $p $(cat /proc/$p/stat 2>/dev/null)"; done`,
      '  fi',
      '  [ -f "$d/exit.json" ] && echo "E $(cat "$d/exit.json")"',
      '  [ -f "$d/start.json" ] && echo "R $(cat "$d/start.json")"',
      'done; true',
    ].join('\n');
    const out = await host.shell.exec(script, { timeoutMs: 15_000 });
    let current: NodeListing | undefined;
    for (const line of out.stdout.split('\n')) {
      const tag = line.slice(0, 2);
      const rest = line.slice(2);
      if (tag === 'N ') {
        current = { stats: new Map() };
        result.set(rest.trim(), current);
      } else if (!current) {
        continue;
      } else if (tag === 'L ') {
        current.lock = parseJson<LockOwner>(rest) ?? undefined;
      } else if (tag === 'E ') {
        current.exit = parseJson<ExitRecord>(rest) ?? undefined;
      } else if (tag === 'R ') {
        current.report = parseJson<StartReport>(rest) ?? undefined;
      } else if (tag === 'S ') {
        const space = rest.indexOf(' ');
        const stat = rest.slice(space + 1);
        current.stats.set(Number(rest.slice(0, space)), stat.slice(stat.lastIndexOf(')') + 2).split(' '));
      }
    }
    return result;
  }

  /** Sends signals to the node's raftd, only if it is the very process the lock names (pid and start time). */
  private async signal(nodeId: string, signals: string[]): Promise<number | null> {
    const host = this.hostOf(nodeId);
    try {
      await whenConnected(host.shell);
      return await this.signalNow(host, nodeId, signals);
    } catch (error) {
      throw remoteFailure(host.displayName, `signalling node ${nodeId} (${signals.join(', ')})`, error);
    }
  }

  private async signalNow(host: RemoteHost, nodeId: string, signals: string[]): Promise<number | null> {
    const info = infoFrom((await this.listing(host, true)).get(nodeId));
    if (!isLive(info.state) || info.pid === undefined || info.state === 'starting') return null;
    const check = `[ "$(sed 's/.*) //' /proc/${info.pid}/stat 2>/dev/null | cut -d' ' -f20)" = ${shellQuote(info.started ?? '')} ]`;
    const result = await host.shell.exec(`${check} && ${signals.map((s) => `kill -${s} ${info.pid}`).join(' && ')}`, { timeoutMs: 15_000 });
    this.forget(host);
    return result.code === 0 ? info.pid : null;
  }

  /** Signals and waits until the node's process (and its keeper) have ended; false when it was not running. */
  private async signalAndWait(nodeId: string, signal: 'TERM' | 'KILL', timeoutMs: number): Promise<boolean> {
    // A paused process handles SIGTERM only once continued.
    const pid = await this.signal(nodeId, signal === 'TERM' ? ['TERM', 'CONT'] : ['KILL']);
    if (pid === null) return false;
    const host = this.hostOf(nodeId);
    const deadline = Date.now() + timeoutMs;
    while (isLive(infoFrom((await this.listing(host, true)).get(nodeId)).state)) {
      if (Date.now() > deadline) throw new ApiError('unavailable', `node ${nodeId} on ${host.displayName} did not stop within ${timeoutMs / 1000} s (pid ${pid}); kill it instead`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return true;
  }

  /**
   * A start whose outcome is unknown (the link dropped, the command timed out): once the starter on
   * the host has finished (its report file) or cannot be waited for any longer, stop what it started.
   */
  private async rollBack(host: RemoteHost, nodeId: string, cause: unknown): Promise<ApiError> {
    const why = cause instanceof RemoteError ? cause.message : (cause as Error).message;
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 15_000) + 25_000;
    for (;;) {
      try {
        await whenConnected(host.shell, 1_000);
        const listing = (await this.listing(host, true)).get(nodeId);
        if (listing?.report || Date.now() > deadline) {
          if (isLive(infoFrom(listing).state)) await this.signalAndWait(nodeId, 'TERM', this.options.stopTimeoutMs ?? 10_000);
          return new ApiError('unavailable', `${host.displayName}: starting node ${nodeId} was cut off (${why}); it was rolled back (not running)`);
        }
      } catch {
        if (Date.now() > deadline) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    this.rollbacks.add(nodeId);
    return new ApiError('unavailable', `${host.displayName}: starting node ${nodeId} was cut off (${why}) and the host cannot be reached to roll it back; it is stopped as soon as the host answers again`);
  }

}

/** The failure says the host cannot be reached at all (as opposed to a command that failed there). */
function linkDown(host: RemoteHost, error: unknown): boolean {
  if (host.shell.state === 'reconnecting' || host.shell.state === 'unreachable') return true;
  return error instanceof RemoteError && ['connection-lost', 'unreachable', 'refused', 'handshake-timeout', 'jump-failed'].includes(error.code);
}

function hostUnreachable(host: RemoteHost, error?: unknown): NodeProcessInfo {
  const why = (error as Error | undefined)?.message ?? host.shell.lastError?.message ?? `the link is ${host.shell.state}`;
  return { state: 'unknown', detail: `${host.displayName} cannot be reached: ${why}`, hostUnreachable: host.name };
}

/** A file written owner-only from the command's stdin, then moved into place (never half-written under its name). */
async function writeRemoteFile(host: RemoteHost, path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await checked(host.shell, `umask 077 && cat > ${shellQuote(tmp)} && mv -f ${shellQuote(tmp)} ${shellQuote(path)}`, `write ${path}`, { stdin: content });
}

function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

function parseReport(stdout: string, stderr: string): StartReport {
  const last = stdout.trim().split('\n').pop() ?? '';
  const report = parseJson<StartReport>(last);
  if (report && typeof report.ok === 'boolean') return report;
  return { ok: false, reason: 'failed', error: (stderr || stdout).trim().split('\n').slice(-3).join(' | ') || 'the starter printed nothing' };
}

function startFailure(host: RemoteHost, nodeId: string, report: Extract<StartReport, { ok: false }>): ApiError {
  const where = `${host.displayName}: node ${nodeId}`;
  const tail = report.logTail?.length ? `\nlast lines of its log:\n${report.logTail.join('\n')}` : '';
  switch (report.reason) {
    case 'port-in-use':
      return new ApiError('conflict', `${where} cannot start: ${report.error}`);
    case 'in-use':
      return new ApiError('conflict', `${where} is already running: ${report.error}`);
    case 'disk-full':
      return new ApiError('unavailable', `${where} cannot start: the remote disk is full (${report.error})${tail}`);
    case 'exited':
      return new ApiError('unavailable', `${where} did not start: ${report.error}${tail}`);
    default:
      return new ApiError('unavailable', `${where} did not start: ${report.error}${tail}`);
  }
}

/** What a listing says of a node's process: the keeper's lock, checked against the kernel's start times. */
function infoFrom(listing: NodeListing | undefined): NodeProcessInfo {
  if (!listing) return { state: 'stopped' };
  const alive = (p?: { pid: number; started: string | null }) => {
    const stat = p && listing.stats.get(p.pid);
    return !!stat && (p.started === null || stat[19] === p.started) && stat[0] !== 'Z';
  };
  const lock = listing.lock;
  if (lock && (alive(lock) || alive(lock.child))) {
    const child = lock.child;
    if (!child || !alive(child)) return { state: 'starting', ...(child && { pid: child.pid }) };
    const state = listing.stats.get(child.pid)?.[0];
    return { state: state === 'T' || state === 't' ? 'paused' : 'running', pid: child.pid, ...(child.started && { started: child.started }) };
  }
  const exit = listing.exit;
  if (!exit) return { state: 'stopped' };
  return { state: exitState(exit), detail: describeExit(exit) };
}

function exitState(exit: ExitRecord): ProcessState {
  if (exit.error) return 'crashed';
  if (exit.signal === 'SIGKILL') return 'killed';
  return exit.code === 0 || exit.signal === 'SIGTERM' ? 'stopped' : 'crashed';
}

function isLive(state: ProcessState): boolean {
  return state === 'running' || state === 'starting' || state === 'paused';
}
