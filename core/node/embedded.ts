// A whole cluster in one process: RaftNodes with in-memory stores on a MemoryNetwork, all driven
// by one ManualClock. Time moves only when asked (step) or while running at a chosen speed, so the
// console can pause, single-step and slow down a live election. Same seed, same calls: same run.
import { ManualClock, type Cancel } from '../clock.js';
import { seededRandom } from '../random.js';
import type { NodeId, RaftLogger } from '../raft/types.js';
import { MemoryLogStore, MemorySnapshotStore } from '../storage/memory.js';
import { MemoryNetwork, type Latency } from '../transport/memory.js';
import { RaftNode, type RaftNodeEvent } from './raft-node.js';
import { RaftdStateMachine, type MemberAddress, type MemberContext } from '../service/state-machine.js';
import { RaftdService } from '../service/raftd-service.js';
import type { KvCommand, KvResult } from '../kv/kv-store.js';

export interface EmbeddedClusterOptions {
  ids: NodeId[];
  seed?: number;
  /** Simulated milliseconds per raft tick. */
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  latency?: Latency;
  snapshotThreshold?: number;
  /** Where each node's log lines go (the console writes them to the node's log file). */
  logger?: (id: NodeId) => RaftLogger;
  /** PreVote and CheckQuorum (default on, as raftd runs); the guided scenarios turn them off to show Raft as the paper tells it. */
  preVote?: boolean;
  checkQuorum?: boolean;
}

interface Member {
  id: NodeId;
  node: RaftNode | null;
  /** raftd's operations on this node, while it is up. */
  service: RaftdService | null;
  logStore: MemoryLogStore;
  snapshotStore: MemorySnapshotStore;
  stateMachine: RaftdStateMachine;
  unsubscribe: () => void;
}

export type EmbeddedEvent = RaftNodeEvent & { node: NodeId; at: number };

/** Addresses are symbolic in-process; they name the node in the member directory. */
const addressOf = (id: NodeId) => ({ peer: `embedded:${id}`, client: `embedded:${id}` });

export class EmbeddedCluster {
  readonly clock = new ManualClock();
  readonly network: MemoryNetwork;
  private readonly random: () => number;
  private readonly members = new Map<NodeId, Member>();
  private readonly listeners = new Set<(event: EmbeddedEvent) => void>();
  private readonly options: Required<Omit<EmbeddedClusterOptions, 'latency' | 'seed' | 'logger'>> & Pick<EmbeddedClusterOptions, 'latency' | 'logger'>;
  private running: Cancel | null = null;
  private speed = 1;
  private stepping: Promise<void> = Promise.resolve();

  private constructor(options: EmbeddedClusterOptions) {
    this.random = seededRandom(options.seed ?? 1);
    this.options = {
      ids: options.ids,
      tickMs: options.tickMs ?? 100,
      electionTicks: options.electionTicks ?? 10,
      heartbeatTicks: options.heartbeatTicks ?? 1,
      snapshotThreshold: options.snapshotThreshold ?? 1000,
      latency: options.latency,
      logger: options.logger,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
    };
    this.network = new MemoryNetwork({ clock: this.clock, random: this.random, latency: options.latency ?? { min: 5, max: 25 } });
  }

  static async create(options: EmbeddedClusterOptions): Promise<EmbeddedCluster> {
    if (options.ids.length === 0) throw new Error('an embedded cluster needs at least one node');
    const cluster = new EmbeddedCluster(options);
    const directory: MemberContext = Object.fromEntries(options.ids.map((id) => [id, addressOf(id)]));
    for (const id of options.ids) cluster.members.set(id, cluster.newMember(id, directory));
    for (const id of options.ids) await cluster.startNode(id, options.ids);
    return cluster;
  }

  ids(): NodeId[] {
    return [...this.members.keys()];
  }

  node(id: NodeId): RaftNode | null {
    return this.member(id).node;
  }

  /** raftd's operations on the node (the same the HTTP API runs), or null while it is down. */
  service(id: NodeId): RaftdService | null {
    return this.member(id).service;
  }

  stateMachine(id: NodeId): RaftdStateMachine {
    return this.member(id).stateMachine;
  }

  isUp(id: NodeId): boolean {
    return this.member(id).node !== null;
  }

  /** The node that believes it leads with the highest term, or '' if none. */
  leader(): NodeId {
    let best: { id: NodeId; term: number } | null = null;
    for (const m of this.members.values()) {
      if (!m.node) continue;
      const s = m.node.status();
      if (s.role === 'leader' && (!best || s.term > best.term)) best = { id: m.id, term: s.term };
    }
    return best?.id ?? '';
  }

  on(listener: (event: EmbeddedEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Advance simulated time by `ms`, one millisecond at a time, letting every node react in between. */
  step(ms: number): Promise<void> {
    this.stepping = this.stepping.then(async () => {
      for (let i = 0; i < ms; i++) {
        this.clock.advance(1);
        await settle();
      }
    });
    return this.stepping;
  }

  /** Let simulated time follow the wall clock at `speed` (2 = twice as fast). */
  run(speed = this.speed): void {
    this.speed = speed;
    this.pause();
    const frameMs = 50;
    let busy = false; // a slow frame is skipped rather than queued, so a paused cluster stops at once
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.step(Math.max(1, Math.round(frameMs * this.speed))).finally(() => {
        busy = false;
      });
    }, frameMs);
    timer.unref?.();
    this.running = () => clearInterval(timer);
  }

  pause(): void {
    this.running?.();
    this.running = null;
  }

  isRunning(): boolean {
    return this.running !== null;
  }

  currentSpeed(): number {
    return this.speed;
  }

  /** Crash: the node vanishes; only what its stores hold survives. */
  async crash(id: NodeId): Promise<void> {
    const m = this.member(id);
    if (!m.node) return;
    const node = m.node;
    m.node = null;
    m.service = null;
    m.unsubscribe();
    this.options.logger?.(id).warn(`${id} crashed: it loses everything it had not written to its log store`);
    await node.stop();
    await this.transportClose(id);
  }

  async restart(id: NodeId): Promise<void> {
    const m = this.member(id);
    if (m.node) return;
    m.stateMachine = new RaftdStateMachine(m.stateMachine.members());
    this.options.logger?.(id).info(`${id} restarting from its log store`);
    await this.startNode(id, undefined);
  }

  /** Add a new, empty node that waits to be added through a membership change. */
  async addEmptyNode(id: NodeId): Promise<void> {
    if (this.members.has(id)) throw new Error(`node ${id} already exists`);
    const directory: MemberContext = { ...this.anyDirectory(), [id]: addressOf(id) };
    this.members.set(id, this.newMember(id, directory));
    await this.startNode(id, undefined);
  }

  /** Forget a node entirely (after it was removed from the configuration). */
  async removeNode(id: NodeId): Promise<void> {
    await this.crash(id);
    this.members.delete(id);
  }

  /** The node's addresses as membership changes carry them (symbolic in-process). */
  address(id: NodeId): MemberAddress {
    return addressOf(id);
  }

  /** Propose a KV command on the current leader. */
  async propose(command: KvCommand): Promise<{ index: number; term: number; result: KvResult }> {
    const leader = this.leader();
    if (!leader) throw new Error('no leader right now; let time run until one is elected');
    return this.member(leader).service!.propose(command);
  }

  async close(): Promise<void> {
    this.pause();
    await this.stepping;
    for (const id of this.ids()) await this.crash(id);
  }

  private transportClose(id: NodeId): Promise<void> {
    return this.transports.get(id)?.close() ?? Promise.resolve();
  }

  private readonly transports = new Map<NodeId, ReturnType<MemoryNetwork['connect']>>();

  private newMember(id: NodeId, directory: MemberContext): Member {
    return {
      id,
      node: null,
      service: null,
      logStore: new MemoryLogStore(),
      snapshotStore: new MemorySnapshotStore(),
      stateMachine: new RaftdStateMachine(directory),
      unsubscribe: () => {},
    };
  }

  private anyDirectory(): MemberContext {
    for (const m of this.members.values()) if (m.node) return m.stateMachine.members();
    return {};
  }

  private async startNode(id: NodeId, initialMembers: NodeId[] | undefined): Promise<void> {
    const m = this.member(id);
    const transport = this.network.connect(id);
    this.transports.set(id, transport);
    const node = await RaftNode.start({
      id,
      logStore: m.logStore,
      snapshotStore: m.snapshotStore,
      transport,
      clock: this.clock,
      stateMachine: m.stateMachine,
      random: this.random,
      tickMs: this.options.tickMs,
      electionTicks: this.options.electionTicks,
      heartbeatTicks: this.options.heartbeatTicks,
      initialMembers,
      snapshotThreshold: this.options.snapshotThreshold,
      snapshotCatchUpEntries: Math.floor(this.options.snapshotThreshold / 2),
      requestTimeoutMs: 10 * this.options.electionTicks * this.options.tickMs,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      logger: this.options.logger?.(id),
      readyLoop: 'now',
    });
    m.node = node;
    m.service = new RaftdService(node, m.stateMachine, this.clock);
    m.unsubscribe = node.on((event) => {
      const tagged = { ...event, node: id, at: this.clock.now() } as EmbeddedEvent;
      for (const listener of this.listeners) listener(tagged);
    });
  }

  private member(id: NodeId): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no node ${id} in this cluster`);
    return m;
  }
}

/** Let every pending promise continuation run (memory stores resolve in microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
