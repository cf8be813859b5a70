// The embedded demo cluster: the same Raft core in this process, on the simulated network, with
// time the user controls (run at a speed, pause, single-step). Every message in flight is part
// of the state; drops, partitions and crashes are one call away.
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { RotatingFileStream } from 'rotating-file-stream';
import { EmbeddedCluster } from '../../core/node/embedded.js';
import type { NodeStatus } from '../../core/node/raft-node.js';
import { MessageType, type RaftLogger } from '../../core/raft/types.js';
import { entryView } from '../../core/service/entries.js';
import { RaftdService, ServiceError } from '../../core/service/raftd-service.js';
import { ApiError } from '../shared/api.js';
import type { ClusterCapabilities, ClusterState, KvResult, LogEntryDetail, LogEntryView, NodeLogLine } from '../shared/api.js';
import type { TraceMessage } from '../shared/trace-format.js';
import { completePartition, describePartition, newNodeIdAmong, type ClusterDriver, type NodeAction } from './cluster-driver.js';
import { logNodeIds, withoutNode, type ClusterRecord, type ClusterRegistry } from './cluster-registry.js';
import { clusterState, membersFrom, mostAuthoritative } from './cluster-view.js';
import { nodeView } from './node-view.js';
import type { NodeLogQuery } from './node-host.js';
import { createNodeLogStream, followLog, readNodeLogs, type LogRotation, type LogSource } from './node-logs.js';
import type { DataLayout } from './paths.js';
import { Timeline } from './timeline.js';

const TAIL = 20;
/** Simulated milliseconds a single step advances when none is given: short enough to watch messages move. */
const DEFAULT_STEP_MS = 10;
/** Wall-clock patience for a request that needs simulated time to move (the clock may be paused). */
const WALL_TIMEOUT_MS = 10_000;
const PUBLISH_EVERY_MS = 100;
/** A new cluster's time runs at a quarter speed: slow enough to watch the first election's votes fly. */
export const FIRST_SPEED = 0.25;
/** While that first election's votes are in flight, slower still (a vote takes ½–1 s to cross), until a leader is elected. */
export const FIRST_VOTES_SPEED = 0.02;

export interface EmbeddedOptions {
  /** Start with time running at speed 1 (the first-run demo). */
  run?: boolean;
  /** Write each node's log lines (pino JSON, like raftd's) to its rotating log file here. */
  logs?: { layout: DataLayout; rotation: LogRotation };
  /** Builds the cluster instead of a plain one of the record's nodes (a guided scenario's), given each node's logger. */
  build?: (logger: ((id: string) => RaftLogger) | undefined) => Promise<EmbeddedCluster>;
}

/** Per-node log files for the embedded nodes, in the same format and place as a local node's. */
class EmbeddedNodeLogs {
  private readonly streams = new Map<string, RotatingFileStream>();
  private readonly loggers = new Map<string, RaftLogger>();

  constructor(
    private readonly clusterId: string,
    private readonly layout: DataLayout,
    private readonly rotation: LogRotation,
    private readonly now: () => number,
  ) {}

  get keep(): number {
    return this.rotation.keep;
  }

  file(nodeId: string): string {
    return this.layout.nodeLogFile(this.clusterId, nodeId);
  }

  logger(nodeId: string): RaftLogger {
    let logger = this.loggers.get(nodeId);
    if (!logger) {
      const write = (level: number, msg: string) => {
        let stream = this.streams.get(nodeId);
        if (!stream) {
          mkdirSync(dirname(this.file(nodeId)), { recursive: true });
          stream = createNodeLogStream(this.file(nodeId), this.rotation);
          this.streams.set(nodeId, stream);
        }
        stream.write(JSON.stringify({ level, time: Date.now(), node: nodeId, simulatedMs: this.now(), msg }) + '\n');
      };
      logger = { debug: (m) => write(20, m), info: (m) => write(30, m), warn: (m) => write(40, m) };
      this.loggers.set(nodeId, logger);
    }
    return logger;
  }

  close(): void {
    for (const stream of this.streams.values()) stream.end();
    this.streams.clear();
  }
}

/** Nodes share one clock: they crash and restart, but cannot be paused alone; time and messages are the user's. */
const EMBEDDED_CAPABILITIES: ClusterCapabilities = {
  nodeActions: ['start', 'stop', 'kill', 'restart'],
  simulatedClock: true,
  dropMessages: true,
  electionTimers: true,
  stopAll: false,
  forceElection: true,
};

const ACTION_LABELS: Partial<Record<NodeAction, string>> = { start: 'start', stop: 'stop (crash)', kill: 'crash', restart: 'restart' };

export class EmbeddedDriver implements ClusterDriver {
  readonly capabilities = EMBEDDED_CAPABILITIES;
  private readonly timeline: Timeline;
  private publishTimer?: NodeJS.Timeout;
  private readonly unsubscribe: Array<() => void> = [];
  private closed = false;
  /** What each node last reported while up: a crashed node is shown with it, marked not reachable (stale). */
  private readonly lastKnown = new Map<string, { status: NodeStatus; at: number; logTail: LogEntryView[] }>();

  private constructor(
    readonly clusterId: string,
    private readonly registry: ClusterRegistry,
    private readonly cluster: EmbeddedCluster,
    private readonly publish: (state: ClusterState) => void,
    private readonly logs: EmbeddedNodeLogs | undefined,
  ) {
    this.timeline = new Timeline(() => cluster.clock.now());
    this.unsubscribe.push(
      cluster.on((event) => {
        if (event.type === 'role' && event.role === 'leader') this.endFirstElection();
        this.changed();
      }),
      cluster.network.onEvent((event) => {
        if (event.kind === 'send' && (event.type === MessageType.Vote || event.type === MessageType.PreVote)) this.slowForFirstVotes();
        this.changed();
      }),
    );
  }

  /** The first-run demo until its first leader: its votes play in slow motion (the user's own clock choice ends it). */
  private firstElection = false;

  private slowForFirstVotes(): void {
    if (this.firstElection && this.cluster.isRunning() && this.cluster.currentSpeed() !== FIRST_VOTES_SPEED) this.cluster.run(FIRST_VOTES_SPEED);
  }

  private endFirstElection(): void {
    if (!this.firstElection) return;
    this.firstElection = false;
    if (this.cluster.isRunning()) this.cluster.run(FIRST_SPEED);
  }

  static async create(record: ClusterRecord, registry: ClusterRegistry, publish: (state: ClusterState) => void, options: EmbeddedOptions = {}): Promise<EmbeddedDriver> {
    let clock: { now(): number } | undefined;
    const logs = options.logs && new EmbeddedNodeLogs(record.id, options.logs.layout, options.logs.rotation, () => clock?.now() ?? 0);
    const logger = logs && ((id: string) => logs.logger(id));
    const cluster = options.build ? await options.build(logger) : await EmbeddedCluster.create({ ids: record.nodes.map((n) => n.id), seed: record.seed ?? 1, logger });
    clock = cluster.clock;
    const driver = new EmbeddedDriver(record.id, registry, cluster, publish, logs);
    if (options.run) {
      cluster.run(FIRST_SPEED);
      driver.firstElection = true;
    }
    driver.changed();
    return driver;
  }

  actionLabel(action: NodeAction): string {
    return ACTION_LABELS[action] ?? action;
  }

  private get record(): ClusterRecord {
    return this.registry.get(this.clusterId);
  }

  private assertNode(nodeId: string): void {
    if (!this.cluster.ids().includes(nodeId)) throw new ApiError('not-found', `cluster ${this.clusterId} has no node "${nodeId}"`);
  }

  state(): ClusterState {
    const ids = this.cluster.ids();
    const statuses = new Map(ids.filter((id) => this.cluster.isUp(id)).map((id) => [id, this.cluster.node(id)!.status()]));
    const reference = mostAuthoritative([...statuses.values()]);
    const members = membersFrom(reference?.confState, ids);
    const leaderStatus = reference?.role === 'leader' ? reference : undefined;
    const now = this.cluster.clock.now();

    const nodes = ids.map((id) => {
      const status = statuses.get(id);
      const up = status !== undefined;
      if (up) this.lastKnown.set(id, { status, at: now, logTail: this.cluster.node(id)!.entries(Math.max(1, status.lastIndex - TAIL + 1), TAIL).map(entryView) });
      const known = this.lastKnown.get(id);
      return nodeView(
        {
          id,
          kind: 'embedded',
          process: up ? 'running' : 'crashed',
          reachable: up,
          lastSeen: known?.at ?? 0,
          ...(!up && { error: 'crashed' }),
          ...(known && { status: known.status }),
          logTail: known?.logTail ?? [],
        },
        members,
        leaderStatus,
        this.capabilities.nodeActions,
      );
    });
    return {
      ...clusterState({ clusterId: this.clusterId, name: this.record.name, kind: 'embedded', capabilities: this.capabilities }, this.timeline, members, nodes, this.cluster.network.partitions()),
      clock: { now, running: this.cluster.isRunning(), speed: this.cluster.currentSpeed() },
      cutLinks: this.cutLinks(ids),
      messages: this.cluster.network.inFlight().map(({ id, from, to, type, sentAt, deliverAt, summary, fields }) => ({ id, from, to, type, sentAt, deliverAt, summary, fields })),
    };
  }

  /** Every directed link the network drops outside a partition: cut links, and each isolated node's both ways. */
  private cutLinks(ids: string[]): Array<{ from: string; to: string }> {
    const { links, isolated } = this.cluster.network.cuts();
    const out = new Map(links.map((l) => [`${l.from}>${l.to}`, l]));
    for (const id of isolated) {
      for (const other of ids) {
        if (other === id) continue;
        out.set(`${id}>${other}`, { from: id, to: other });
        out.set(`${other}>${id}`, { from: other, to: id });
      }
    }
    return [...out.values()];
  }

  async refresh(): Promise<ClusterState> {
    return this.state();
  }

  /** Publishes at a bounded rate: while time runs, something changes every frame. */
  private changed(): void {
    if (this.closed || this.publishTimer) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      if (!this.closed) this.publish(this.state());
    }, PUBLISH_EVERY_MS);
    this.publishTimer.unref?.();
  }

  async start(): Promise<void> {
    for (const id of this.cluster.ids()) if (!this.cluster.isUp(id)) await this.cluster.restart(id);
    this.changed();
  }

  async stop(): Promise<void> {
    for (const id of this.cluster.ids()) await this.cluster.crash(id);
    this.timeline.add('fault', 'all nodes stopped');
    this.changed();
  }

  async node(nodeId: string, action: NodeAction): Promise<void> {
    this.assertNode(nodeId);
    switch (action) {
      case 'start':
        if (this.cluster.isUp(nodeId)) throw new ApiError('conflict', `node ${nodeId} is already running`);
        await this.cluster.restart(nodeId);
        this.timeline.add('fault', `${nodeId} started`);
        break;
      case 'stop':
      case 'kill':
        if (!this.cluster.isUp(nodeId)) throw new ApiError('conflict', `node ${nodeId} is not running`);
        await this.cluster.crash(nodeId);
        this.timeline.add('fault', `${nodeId} crashed`);
        break;
      case 'restart':
        await this.cluster.crash(nodeId);
        await this.cluster.restart(nodeId);
        this.timeline.add('fault', `${nodeId} restarted`);
        break;
      case 'pause':
      case 'resume':
        throw new ApiError('invalid-input', 'embedded nodes share one clock and cannot be paused alone: pause the clock, or partition the node');
      case 'forceNewCluster':
        throw new ApiError('invalid-input', 'force-new-cluster is for raftd nodes; an embedded cluster can simply be recreated');
    }
    this.changed();
  }

  async partition(groups: string[][]): Promise<void> {
    const all = completePartition(this.clusterId, this.cluster.ids(), groups);
    this.cluster.network.partition(all);
    this.timeline.add('fault', `partition ${describePartition(all)}`);
    this.changed();
  }

  async heal(): Promise<void> {
    this.cluster.network.heal();
    this.timeline.add('fault', 'partition healed');
    this.changed();
  }

  async clock(action: 'run' | 'pause' | 'step', speed?: number, stepMs?: number): Promise<void> {
    this.firstElection = false;
    if (action === 'run') this.cluster.run(speed);
    else if (action === 'pause') this.cluster.pause();
    else {
      this.cluster.pause();
      await this.cluster.step(stepMs ?? DEFAULT_STEP_MS);
    }
    // Publish at once: after a step the user waits for exactly this picture.
    clearTimeout(this.publishTimer);
    this.publishTimer = undefined;
    this.publish(this.state());
  }

  /** The node's election timer fires now, as if its randomized timeout had run out (Raft's Hup). */
  async campaign(nodeId: string): Promise<void> {
    this.assertNode(nodeId);
    const node = this.cluster.node(nodeId);
    if (!node) throw new ApiError('conflict', `node ${nodeId} is not running; start it first`);
    if (node.currentRole === 'leader') throw new ApiError('conflict', `node ${nodeId} already leads; its election timer does not run`);
    node.campaign();
    this.changed();
  }

  onNetworkEvent(listener: (event: TraceMessage) => void): () => void {
    return this.cluster.network.onEvent(({ kind, id, from, to, type, sentAt, deliverAt, summary, at, reason }) =>
      listener({ kind, id, from, to, type, sentAt, deliverAt, summary, at, ...(reason && { reason }) }),
    );
  }

  async dropMessage(messageId: number): Promise<void> {
    if (!this.cluster.network.dropMessage(messageId)) throw new ApiError('not-found', `message ${messageId} is no longer in flight`);
    this.changed();
  }

  /** raftd's operations on the leader: the same code the HTTP API runs. */
  private leaderService(): RaftdService {
    const leader = this.cluster.leader();
    if (!leader) throw new ApiError('unavailable', 'no leader right now; let time run until one is elected');
    return this.cluster.service(leader)!;
  }

  private timeMoves<T>(promise: Promise<T>, what: string): Promise<T> {
    return withinWallTime(promise, `${what} did not complete within ${WALL_TIMEOUT_MS / 1000} s${this.cluster.isRunning() ? '' : ': the simulated clock is paused; run or step it'}`);
  }

  async kvPut(key: string, value: string): Promise<KvResult> {
    const out = await this.timeMoves(this.cluster.propose({ op: 'put', key, value: new TextEncoder().encode(value) }), 'the write');
    return { index: out.index, term: out.term };
  }

  async kvGet(key: string, stale: boolean): Promise<KvResult> {
    const service = stale ? this.cluster.service(this.cluster.ids().find((id) => this.cluster.isUp(id)) ?? '') : this.leaderService();
    if (!service) throw new ApiError('unavailable', 'no node is running');
    const value = await this.timeMoves(service.read(key, stale), 'the read');
    return { value: value === undefined ? null : new TextDecoder().decode(value) };
  }

  async kvDelete(key: string): Promise<KvResult> {
    const out = await this.timeMoves(this.cluster.propose({ op: 'del', key }), 'the delete');
    return { index: out.index, term: out.term, succeeded: out.result.succeeded };
  }

  async kvCas(key: string, from: string | null, to: string): Promise<KvResult> {
    const encode = (s: string) => new TextEncoder().encode(s);
    const out = await this.timeMoves(this.cluster.propose({ op: 'cas', key, from: from === null ? null : encode(from), to: encode(to) }), 'the compare-and-swap');
    return { index: out.index, term: out.term, succeeded: out.result.succeeded };
  }

  private upService(nodeId: string): RaftdService {
    this.assertNode(nodeId);
    const service = this.cluster.service(nodeId);
    if (!service) throw new ApiError('unavailable', `node ${nodeId} is crashed; start it to read its log`);
    return service;
  }

  async logEntries(nodeId: string, from: number, limit: number): Promise<LogEntryView[]> {
    return this.upService(nodeId).log(from, limit).entries;
  }

  async logEntry(nodeId: string, index: number): Promise<LogEntryDetail> {
    try {
      return this.upService(nodeId).entry(index);
    } catch (error) {
      throw apiError(error);
    }
  }

  /** Removed nodes' log files stay readable. */
  private logSources(nodeId?: string): LogSource[] {
    const ids = [...new Set([...this.cluster.ids(), ...logNodeIds(this.record)])];
    if (nodeId && !ids.includes(nodeId)) this.assertNode(nodeId);
    const logs = this.logs;
    if (!logs) return [];
    return ids.filter((id) => !nodeId || id === nodeId).map((id) => ({ clusterId: this.clusterId, nodeId: id, file: logs.file(id) }));
  }

  readLogs(nodeId: string | undefined, query: NodeLogQuery): Promise<NodeLogLine[]> {
    return readNodeLogs(this.logSources(nodeId), query, this.logs?.keep ?? 0);
  }

  followLogs(nodeId: string | undefined, onLine: (line: NodeLogLine) => void): () => void {
    const keep = this.logs?.keep ?? 0;
    const stops = this.logSources(nodeId).map((source) => followLog(source, keep, onLine));
    return () => stops.forEach((stop) => stop());
  }

  newNodeId(requested?: string): string {
    return newNodeIdAmong(this.clusterId, this.cluster.ids(), requested);
  }

  async provisionNode(nodeId: string): Promise<void> {
    this.newNodeId(nodeId);
    await this.cluster.addEmptyNode(nodeId);
    await this.registry.update(this.clusterId, (r) => ({ ...r, nodes: [...r.nodes, { id: nodeId, kind: 'embedded' }] }));
    this.changed();
  }

  async retireNode(nodeId: string): Promise<void> {
    this.assertNode(nodeId);
    await this.cluster.removeNode(nodeId);
    this.lastKnown.delete(nodeId);
    await this.registry.update(this.clusterId, (r) => withoutNode(r, nodeId));
    this.changed();
  }

  /** A membership change on the leader, in simulated time; its configuration entry's index. */
  private async change(request: (leader: RaftdService) => Promise<{ index: number }>): Promise<number> {
    const out = await this.timeMoves(request(this.leaderService()), 'the membership change').catch((error: Error) => {
      throw error instanceof ApiError ? error : new ApiError('refused', error.message);
    });
    this.changed();
    return out.index;
  }

  private member(id: string) {
    return { id, ...this.cluster.address(id) };
  }

  addLearner(nodeId: string): Promise<number> {
    return this.change((leader) => leader.addMember(this.member(nodeId), true));
  }

  promote(nodeId: string): Promise<number> {
    return this.change((leader) => leader.promote(nodeId));
  }

  remove(nodeId: string): Promise<number> {
    return this.change((leader) => leader.removeMember(nodeId));
  }

  joint(addVoters: string[], removeVoters: string[]): Promise<number> {
    return this.change((leader) => leader.joint(addVoters.map((id) => this.member(id)), removeVoters));
  }

  async transferLeader(to: string): Promise<void> {
    this.assertNode(to);
    await this.timeMoves(this.leaderService().transferLeader(to), `moving leadership to ${to}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.publishTimer);
    this.unsubscribe.forEach((off) => off());
    await this.cluster.close();
    this.logs?.close();
  }

  destroy(): Promise<void> {
    return this.close();
  }
}

function withinWallTime<T>(promise: Promise<T>, message: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new ApiError('unavailable', message)), WALL_TIMEOUT_MS);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: Error) => {
        clearTimeout(timer);
        reject(apiError(error));
      },
    );
  });
}


/** A service refusal as the console API says it; any other failure of a request that needs time to move is 'unavailable'. */
function apiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ServiceError) return new ApiError(error.kind === 'invalid' ? 'invalid-input' : error.kind === 'not-found' ? 'not-found' : 'unavailable', error.message);
  return new ApiError('unavailable', (error as Error).message);
}
