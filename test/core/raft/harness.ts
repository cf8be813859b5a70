// A tiny in-test cluster: RawNodes on MemoryStorage, a driver that follows the Ready contract
// (persist, send, apply, advance) and a network that delivers, drops or partitions messages.
// Everything is deterministic: ids are iterated in order and randomness is seeded.
import { decodeConfChange } from '../../../core/raft/codec.js';
import { compareNodeIds, createConfState } from '../../../core/raft/confchange.js';
import { MemoryStorage } from '../../../core/raft/memory-storage.js';
import { RawNode } from '../../../core/raft/rawnode.js';
import {
  EntryType,
  MessageType,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftConfig,
  type ReadState,
  type Ready,
} from '../../../core/raft/types.js';
import { seededRandom } from '../../../core/random.js';

export { seededRandom };

const text = new TextEncoder();
const untext = new TextDecoder();
export const bytes = (s: string) => text.encode(s);
export const str = (b: Uint8Array) => untext.decode(b);

export type NodeOptions = Partial<Omit<RaftConfig, 'id' | 'storage' | 'random'>>;

export interface TestNode {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode;
  options: NodeOptions;
  /** Data of applied normal entries, in order (the "state machine"). */
  applied: string[];
  appliedIndex: number;
  confState: ConfState;
  readStates: ReadState[];
}

export class Network {
  readonly nodes = new Map<NodeId, TestNode>();
  /** Sent and not yet delivered, in send order. */
  inFlight: Message[] = [];
  /** Lines describing what happened (Readies, deliveries, raft's info/warn log), for traces. */
  trace: string[] = [];
  private groups: NodeId[][] | undefined;
  private readonly random: () => number;

  constructor(
    private readonly defaults: NodeOptions = {},
    seed = 1,
  ) {
    this.random = seededRandom(seed);
  }

  /** A node on fresh storage: bootstrapped with `voters`, or empty (to join via a conf change). */
  add(id: NodeId, voters?: NodeId[], options: NodeOptions = {}): TestNode {
    const storage = new MemoryStorage();
    if (voters) RawNode.bootstrap(storage, voters);
    return this.start(id, storage, options);
  }

  /** Start (or restart) a node on existing storage, as after a crash: volatile state is rebuilt. */
  start(id: NodeId, storage: MemoryStorage, options: NodeOptions = {}): TestNode {
    const merged = { ...this.defaults, ...options };
    const snapshot = storage.snapshot();
    const node: TestNode = {
      id,
      storage,
      options,
      raw: new RawNode({
        electionTick: 10,
        heartbeatTick: 1,
        ...merged,
        id,
        storage,
        applied: snapshot.metadata.index,
        random: this.random,
        logger: {
          debug: () => {},
          info: (msg) => this.trace.push(`  INFO ${msg}`),
          warn: (msg) => this.trace.push(`  WARN ${msg}`),
        },
      }),
      applied: snapshot.metadata.index > 0 ? (JSON.parse(str(snapshot.data)) as string[]) : [],
      appliedIndex: snapshot.metadata.index,
      confState: snapshot.metadata.confState,
      readStates: [],
    };
    this.nodes.set(id, node);
    return node;
  }

  /** Replace a node by one restarted from its storage (losing unpersisted state, like a crash). */
  restart(id: NodeId): TestNode {
    const old = this.node(id);
    this.inFlight = this.inFlight.filter((m) => m.to !== id && m.from !== id);
    return this.start(id, old.storage, old.options);
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`no node ${id}`);
    return node;
  }

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort(compareNodeIds);
  }

  /** One Ready cycle of the driver contract; undefined when the node had nothing to do. */
  processReady(id: NodeId): Ready | undefined {
    const node = this.node(id);
    if (!node.raw.hasReady()) return undefined;
    const rd = node.raw.ready();
    this.trace.push(`> ${id} handling Ready`, ...formatReady(rd).map((l) => `  ${l}`));
    // 1. persist
    if (rd.snapshot) node.storage.applySnapshot(rd.snapshot);
    node.storage.append(rd.entries);
    if (rd.hardState) node.storage.setHardState(rd.hardState);
    // 2. send
    for (const m of rd.messages) {
      if (this.connected(m.from, m.to) && this.nodes.has(m.to)) this.inFlight.push(m);
    }
    // 3. apply
    if (rd.snapshot) {
      node.applied = JSON.parse(str(rd.snapshot.data)) as string[];
      node.appliedIndex = rd.snapshot.metadata.index;
      node.confState = rd.snapshot.metadata.confState;
    }
    for (const e of rd.committedEntries) this.apply(node, e);
    node.readStates.push(...rd.readStates);
    node.raw.advance(rd);
    return rd;
  }

  private apply(node: TestNode, e: Entry): void {
    node.appliedIndex = e.index;
    if (e.type === EntryType.ConfChange) node.confState = node.raw.applyConfChange(decodeConfChange(e.data));
    else if (e.data.length > 0) node.applied.push(str(e.data));
  }

  /** Deliver the in-flight messages addressed to `ids` (default: all); returns how many. */
  deliver(ids: NodeId[] = this.ids()): number {
    const targets = new Set(ids);
    const now = this.inFlight.filter((m) => targets.has(m.to));
    this.inFlight = this.inFlight.filter((m) => !targets.has(m.to));
    for (const id of this.ids()) {
      const batch = now.filter((m) => m.to === id);
      if (batch.length === 0) continue;
      this.trace.push(`> ${id} receiving messages`);
      for (const m of batch) {
        this.trace.push(`  ${formatMessage(m)}`);
        this.node(id).raw.step(m);
      }
    }
    return now.length;
  }

  /** Drop in-flight messages addressed to `ids`. */
  drop(ids: NodeId[]): void {
    const targets = new Set(ids);
    for (const m of this.inFlight.filter((m) => targets.has(m.to))) this.trace.push(`  dropped: ${formatMessage(m)}`);
    this.inFlight = this.inFlight.filter((m) => !targets.has(m.to));
  }

  /** Process Readies and deliver messages until nothing happens anymore. */
  stabilize(ids: NodeId[] = this.ids()): void {
    for (let round = 0; ; round++) {
      if (round > 10_000) throw new Error('stabilize did not settle');
      let busy = false;
      for (const id of ids) if (this.processReady(id)) busy = true;
      if (this.deliver(ids) > 0) busy = true;
      if (!busy) return;
    }
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.node(id).raw.tick();
  }

  /** Tick enough for any randomized election timeout in [T, 2T) to fire exactly once. */
  /** Tick until the node's election timer fires (a leader's: its CheckQuorum and transfer timeout). */
  tickElection(id: NodeId): void {
    const s = this.node(id).raw.status();
    const timeout = s.softState.role === 'leader' ? (this.node(id).options.electionTick ?? this.defaults.electionTick ?? 10) : s.randomizedElectionTimeout!;
    this.tick(id, Math.max(1, timeout - s.electionElapsed!));
  }

  /** Only nodes in the same group can talk. */
  partition(...groups: NodeId[][]): void {
    this.groups = groups;
  }

  heal(): void {
    this.groups = undefined;
  }

  connected(a: NodeId, b: NodeId): boolean {
    if (!this.groups) return true;
    return this.groups.some((g) => g.includes(a) && g.includes(b));
  }

  leader(): NodeId | undefined {
    const leaders = this.ids().filter((id) => this.node(id).raw.status().softState.role === 'leader');
    const term = Math.max(...leaders.map((id) => this.node(id).raw.status().hardState.term));
    return leaders.find((id) => this.node(id).raw.status().hardState.term === term);
  }

  /** Elect `id` (campaign and settle). */
  elect(id: NodeId): void {
    this.node(id).raw.campaign();
    this.stabilize();
  }

  takeTrace(): string[] {
    const out = this.trace;
    this.trace = [];
    return out;
  }
}

/** Build a cluster of `voters` and let every node apply its bootstrap entries. */
export function cluster(voters: NodeId[], options: NodeOptions = {}, seed = 1): Network {
  const net = new Network(options, seed);
  for (const id of voters) net.add(id, voters);
  net.stabilize();
  net.takeTrace();
  return net;
}

// ---- formatting, shared by the data-driven traces -------------------------------------------------

export function formatEntry(e: Entry): string {
  if (e.type === EntryType.ConfChange) {
    const cc = decodeConfChange(e.data);
    const changes = cc.changes.map((c) => `${{ addVoter: 'v', addLearner: 'l', remove: 'r' }[c.type]}${c.id}`);
    const transition = cc.transition && cc.transition !== 'auto' ? ` ${cc.transition}` : '';
    return `${e.term}/${e.index} conf(${changes.join(' ') || 'leave'}${transition})`;
  }
  return `${e.term}/${e.index} ${e.data.length === 0 ? '(empty)' : str(e.data)}`;
}

const entryList = (entries: Entry[]) => `[${entries.map(formatEntry).join(', ')}]`;

export function formatConfState(cs: ConfState): string {
  const parts = [`voters=(${cs.voters.join(',')})`];
  if (cs.votersOutgoing.length > 0) parts[0] = `voters=(${cs.voters.join(',')})&&(${cs.votersOutgoing.join(',')})`;
  if (cs.learners.length > 0) parts.push(`learners=(${cs.learners.join(',')})`);
  if (cs.learnersNext.length > 0) parts.push(`learners_next=(${cs.learnersNext.join(',')})`);
  if (cs.autoLeave) parts.push('autoleave');
  return parts.join(' ');
}

export function formatMessage(m: Message): string {
  const head = `${m.from}->${m.to} ${m.type} term=${m.term}`;
  const ctx = m.context && m.context.length > 0 ? ` ctx=${str(m.context)}` : '';
  switch (m.type) {
    case MessageType.App:
      return `${head} prev=${m.logTerm}/${m.index} commit=${m.commit}${m.entries.length ? ` entries=${entryList(m.entries)}` : ''}`;
    case MessageType.AppResp:
      return m.reject
        ? `${head} reject index=${m.index} hint=${m.logTerm}/${m.rejectHint}`
        : `${head} index=${m.index}`;
    case MessageType.Vote:
    case MessageType.PreVote:
      return `${head} last=${m.logTerm}/${m.index}${ctx ? ' (transfer)' : ''}`;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      return `${head}${m.reject ? ' rejected' : ' granted'}`;
    case MessageType.Heartbeat:
      return `${head} commit=${m.commit}${ctx}`;
    case MessageType.Snap:
      return `${head} snapshot=${m.snapshot!.metadata.term}/${m.snapshot!.metadata.index} ${formatConfState(m.snapshot!.metadata.confState)}`;
    case MessageType.ReadIndexResp:
      return `${head} index=${m.index}${ctx}`;
    default:
      return `${head}${ctx}`;
  }
}

export function formatReady(rd: Ready): string[] {
  const lines: string[] = [];
  if (rd.softState) lines.push(`role=${rd.softState.role} leader=${rd.softState.leader || '-'}`);
  if (rd.hardState) {
    lines.push(`hardState term=${rd.hardState.term} vote=${rd.hardState.vote || '-'} commit=${rd.hardState.commit}`);
  }
  if (rd.snapshot) {
    const { index, term, confState } = rd.snapshot.metadata;
    lines.push(`snapshot ${term}/${index} ${formatConfState(confState)}`);
  }
  if (rd.entries.length > 0) lines.push(`entries ${entryList(rd.entries)}`);
  if (rd.committedEntries.length > 0) lines.push(`apply ${entryList(rd.committedEntries)}`);
  for (const rs of rd.readStates) lines.push(`read index=${rs.index} ctx=${str(rs.context)}`);
  for (const m of rd.messages) lines.push(`send ${formatMessage(m)}`);
  return lines;
}

export function formatStatus(node: TestNode): string[] {
  const s = node.raw.status();
  const lines = [
    `${s.id}: ${s.softState.role} term=${s.hardState.term} leader=${s.softState.leader || '-'} ` +
      `commit=${s.hardState.commit} applied=${s.applied} last=${s.lastIndex} ${formatConfState(s.config)}`,
  ];
  for (const [id, pr] of Object.entries(s.progress ?? {})) {
    if (id === s.id) continue;
    lines.push(`  ${id}: ${pr.state} match=${pr.match} next=${pr.next}${pr.isLearner ? ' learner' : ''}${pr.inflight ? ` inflight=${pr.inflight}` : ''}`);
  }
  return lines;
}

/** Storage holding a log with the given terms from index 1, a known configuration and a hard state. */
export function storageWith(
  config: { voters: NodeId[]; learners?: NodeId[] },
  terms: number[] = [],
  hardState: Partial<{ term: number; vote: NodeId; commit: number }> = {},
): MemoryStorage {
  const storage = new MemoryStorage(createConfState(config.voters, config.learners));
  storage.append(terms.map((term, i) => ({ term, index: i + 1, type: EntryType.Normal, data: bytes(`e${i + 1}`) })));
  storage.setHardState({ term: terms[terms.length - 1] ?? 0, vote: '', commit: 0, ...hardState });
  return storage;
}
