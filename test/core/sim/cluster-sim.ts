// A whole cluster of pure RawNodes on a simulated, hostile network, driven step by step by a
// seeded PRNG and a list of actions. After every step it checks Raft's safety properties and
// throws a SafetyViolation naming the property and what broke it.
import { RawNode } from '../../../core/raft/rawnode.js';
import { MemoryStorage } from '../../../core/raft/memory-storage.js';
import { confChangeCodec } from '../../../core/raft/codec.js';
import { EntryType, ProposalRejected, type ConfChange, type ConfState, type Entry, type Message, type NodeId, type Ready } from '../../../core/raft/types.js';
import { seededRandom } from '../../../core/random.js';

export type Action =
  | { kind: 'tick'; n: number }
  | { kind: 'propose'; node: number }
  | { kind: 'read'; node: number }
  | { kind: 'partition'; mask: number }
  | { kind: 'heal' }
  | { kind: 'crash'; node: number; midReady: boolean }
  | { kind: 'restart'; node: number }
  | { kind: 'conf'; change: 'addLearner' | 'promote' | 'remove' | 'addVoter' | 'joint'; node: number; other: number }
  | { kind: 'compact'; node: number }
  | { kind: 'transfer'; node: number }
  /** The network delivers again one of the last messages of `type` it carried (the `pick`-th newest). */
  | { kind: 'replay'; type: string; pick: number };

/** Per message type, how many recently carried messages the network can redeliver. */
const REPLAYABLE = 8;

export class SafetyViolation extends Error {
  constructor(property: string, detail: string) {
    super(`${property}: ${detail}`);
    this.name = 'SafetyViolation';
  }
}

interface InFlight {
  message: Message;
  deliverAt: number;
}

interface SimNode {
  id: NodeId;
  storage: MemoryStorage;
  raw: RawNode | null;
  /** Volatile: rebuilt from the snapshot on restart. */
  applied: number;
  confState: ConfState;
}

interface PendingRead {
  node: NodeId;
  /** Index of the latest write acknowledged before this read started. */
  mustSee: number;
  readIndex: number | null;
}

export interface SimOptions {
  seed: number;
  voters?: number;
  spares?: number;
  dropRate?: number;
  duplicateRate?: number;
  /**
   * Of duplicated messages, the share whose copy is redelivered late: one to four election timeouts
   * after the original, like a retransmission stuck in a queue (a stale ReadIndex or heartbeat answer).
   */
  lateRate?: number;
  maxDelay?: number;
  electionTick?: number;
  heartbeatTick?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** As RaftNode runs it: no App only to carry a new commit index. */
  lazyCommit?: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class ClusterSim {
  readonly nodes: SimNode[] = [];
  readonly random: () => number;
  time = 0;
  private network: InFlight[] = [];
  /** Recently carried messages by type, newest last, for 'replay'. */
  private readonly carried = new Map<string, Message[]>();
  private partitionOf: Map<NodeId, number> | null = null;
  private dropRate: number;
  private readonly duplicateRate: number;
  private readonly lateRate: number;
  private readonly maxDelay: number;
  private readonly options: Required<SimOptions>;
  /** term → the one node that led it. */
  readonly leaders = new Map<number, NodeId>();
  /** index → the entry every node must apply there, and the lowest term in which it was known committed. */
  readonly committed = new Map<number, { term: number; data: string; knownInTerm: number }>();
  /** write id → index where its proposer applied (acknowledged) it. */
  readonly acknowledged = new Map<string, number>();
  private readonly proposedBy = new Map<string, NodeId>();
  private readonly reads = new Map<string, PendingRead>();
  private writeSeq = 0;
  private readSeq = 0;
  readonly trace: string[] = [];
  stats = { proposals: 0, acknowledged: 0, reads: 0, readsServed: 0, confChanges: 0, elections: 0, snapshotsSent: 0, lateCopies: 0, replays: 0 };

  constructor(options: SimOptions) {
    this.options = {
      voters: 3,
      spares: 2,
      dropRate: 0.05,
      duplicateRate: 0.02,
      lateRate: 0,
      maxDelay: 3,
      electionTick: 10,
      heartbeatTick: 1,
      preVote: true,
      checkQuorum: true,
      lazyCommit: false,
      ...options,
    };
    this.random = seededRandom(options.seed);
    this.dropRate = this.options.dropRate;
    this.duplicateRate = this.options.duplicateRate;
    this.lateRate = this.options.lateRate;
    this.maxDelay = this.options.maxDelay;
    const voterIds = Array.from({ length: this.options.voters }, (_, i) => `n${i + 1}`);
    const total = this.options.voters + this.options.spares;
    for (let i = 0; i < total; i++) {
      const id = `n${i + 1}`;
      const storage = new MemoryStorage();
      if (i < this.options.voters) RawNode.bootstrap(storage, voterIds);
      const node: SimNode = { id, storage, raw: null, applied: 0, confState: storage.initialState().confState };
      this.nodes.push(node);
      this.boot(node);
    }
  }

  private boot(node: SimNode): void {
    const snap = node.storage.snapshot();
    node.applied = snap.metadata.index;
    node.confState = node.storage.initialState().confState;
    node.raw = new RawNode({
      id: node.id,
      electionTick: this.options.electionTick,
      heartbeatTick: this.options.heartbeatTick,
      storage: node.storage,
      applied: node.applied,
      preVote: this.options.preVote,
      checkQuorum: this.options.checkQuorum,
      lazyCommit: this.options.lazyCommit,
      maxSizePerMsg: 4096,
      maxInflightMsgs: 8,
      random: this.random,
    });
  }

  /** Indices past the node count mean "whoever leads now" (most client traffic goes to the leader). */
  node(i: number): SimNode {
    if (i >= this.nodes.length) return this.leader() ?? this.nodes[i % this.nodes.length];
    return this.nodes[i];
  }

  leader(): SimNode | null {
    let best: SimNode | null = null;
    let bestTerm = -1;
    for (const n of this.nodes) {
      if (!n.raw) continue;
      const s = n.raw.status();
      if (s.softState.role === 'leader' && s.hardState.term > bestTerm) {
        best = n;
        bestTerm = s.hardState.term;
      }
    }
    return best;
  }

  setDropRate(p: number): void {
    this.dropRate = p;
  }

  run(action: Action): void {
    this.trace.push(JSON.stringify(action));
    switch (action.kind) {
      case 'tick':
        for (let i = 0; i < action.n; i++) this.tickOnce();
        break;
      case 'propose':
        this.propose(this.node(action.node));
        break;
      case 'read':
        this.read(this.node(action.node));
        break;
      case 'partition': {
        const groups = new Map<NodeId, number>();
        this.nodes.forEach((n, i) => groups.set(n.id, (action.mask >> i) & 1));
        this.partitionOf = groups;
        break;
      }
      case 'heal':
        this.partitionOf = null;
        break;
      case 'crash':
        this.crash(this.node(action.node), action.midReady);
        break;
      case 'restart': {
        const n = this.node(action.node);
        if (!n.raw) this.boot(n);
        break;
      }
      case 'conf':
        this.proposeConf(action);
        break;
      case 'compact':
        this.compact(this.node(action.node));
        break;
      case 'replay': {
        const recent = this.carried.get(action.type) ?? [];
        const m = recent[recent.length - 1 - action.pick];
        const to = m && this.nodes.find((n) => n.id === m.to);
        if (m && to?.raw) {
          this.stats.replays++;
          to.raw.step(structuredClone(m));
        }
        break;
      }
      case 'transfer': {
        const leader = this.leader();
        try {
          leader?.raw!.transferLeadership(this.node(action.node).id);
        } catch (error) {
          if (!(error instanceof ProposalRejected)) throw error;
        }
        break;
      }
    }
    this.processAll();
    this.checkSafety();
  }

  tickOnce(): void {
    this.time++;
    for (const n of this.nodes) n.raw?.tick();
    this.deliverDue();
    this.processAll();
    this.checkSafety();
  }

  private deliverDue(): void {
    const due = this.network.filter((f) => f.deliverAt <= this.time);
    this.network = this.network.filter((f) => f.deliverAt > this.time);
    for (const { message } of due) {
      const to = this.nodes.find((n) => n.id === message.to);
      if (!to?.raw) continue;
      const recent = this.carried.get(message.type) ?? [];
      recent.push(message);
      if (recent.length > REPLAYABLE) recent.shift();
      this.carried.set(message.type, recent);
      to.raw.step(message);
    }
  }

  private send(messages: Message[]): void {
    for (const message of messages) {
      if (message.type === 'Snap') this.stats.snapshotsSent++;
      if (this.partitionOf && this.partitionOf.get(message.from) !== this.partitionOf.get(message.to)) continue;
      if (this.random() < this.dropRate) continue;
      const copies = this.random() < this.duplicateRate ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        let delay = 1 + Math.floor(this.random() * this.maxDelay);
        // (No draw when lateRate is 0: recorded schedules replay as they did before it existed.)
        if (c === 1 && this.lateRate > 0 && this.random() < this.lateRate) {
          const election = this.options.electionTick;
          delay = election + Math.floor(this.random() * 3 * election);
          this.stats.lateCopies++;
        }
        // A copy of its own, as a real network delivers: nothing is shared with the original.
        this.network.push({ message: c === 0 ? message : structuredClone(message), deliverAt: this.time + delay });
      }
    }
  }

  processAll(): void {
    for (let round = 0; round < 100; round++) {
      let any = false;
      for (const n of this.nodes) {
        if (n.raw?.hasReady()) {
          any = true;
          this.handleReady(n, n.raw.ready(), false);
        }
      }
      if (!any) return;
    }
  }

  private handleReady(n: SimNode, rd: Ready, crashBeforeSend: boolean): void {
    if (rd.softState?.role === 'leader') this.stats.elections++;
    if (rd.snapshot) n.storage.applySnapshot(rd.snapshot);
    if (rd.entries.length > 0) n.storage.append(rd.entries);
    // As RaftNode does: a commit-only change is not written, so a restart may find a stale commit.
    if (rd.hardState && (rd.entries.length > 0 || rd.mustSync)) n.storage.setHardState(rd.hardState);
    if (crashBeforeSend) return;
    this.send(rd.messages);
    if (rd.snapshot) {
      n.applied = rd.snapshot.metadata.index;
      n.confState = rd.snapshot.metadata.confState;
    }
    for (const entry of rd.committedEntries) this.apply(n, entry);
    for (const rs of rd.readStates) {
      const read = this.reads.get(decoder.decode(rs.context));
      if (read && read.node === n.id && read.readIndex === null) read.readIndex = rs.index;
    }
    n.raw!.advance(rd);
    // As a driver must (etcd's ReportSnapshot): once a snapshot is handed to the network, say so,
    // or the leader waits in snapshot state forever when the snapshot or its answer is lost.
    for (const m of rd.messages) if (m.type === 'Snap') n.raw!.reportSnapshot(m.to, true);
    this.serveReads(n);
  }

  private apply(n: SimNode, entry: Entry): void {
    if (entry.index <= n.applied) return;
    if (entry.index !== n.applied + 1) throw new SafetyViolation('apply order', `${n.id} applied ${entry.index} after ${n.applied}`);
    n.applied = entry.index;
    const data = entry.type === EntryType.ConfChange ? `conf:${Buffer.from(entry.data).toString('hex')}` : decoder.decode(entry.data);
    const term = n.raw!.status().hardState.term;
    const known = this.committed.get(entry.index);
    if (known) {
      if (known.term !== entry.term || known.data !== data) {
        throw new SafetyViolation('state machine safety', `${n.id} applied (${entry.index}, t${entry.term}, ${data}) but (${entry.index}, t${known.term}, ${known.data}) was applied elsewhere`);
      }
      known.knownInTerm = Math.min(known.knownInTerm, term);
    } else {
      this.committed.set(entry.index, { term: entry.term, data, knownInTerm: term });
    }
    if (entry.type === EntryType.ConfChange) {
      n.confState = n.raw!.applyConfChange(confChangeCodec.decode(entry.data));
      return;
    }
    if (data && this.proposedBy.get(data) === n.id && !this.acknowledged.has(data)) {
      this.acknowledged.set(data, entry.index);
      this.stats.acknowledged++;
    }
  }

  private serveReads(n: SimNode): void {
    for (const [ctx, read] of this.reads) {
      if (read.node !== n.id || read.readIndex === null || n.applied < read.readIndex) continue;
      this.reads.delete(ctx);
      this.stats.readsServed++;
      if (n.applied < read.mustSee) {
        throw new SafetyViolation('linearizable read', `read ${ctx} on ${n.id} served at applied ${n.applied} (read index ${read.readIndex}) but a write acknowledged before it started is at ${read.mustSee}`);
      }
    }
  }

  private propose(n: SimNode): void {
    if (!n.raw) return;
    const id = `w${++this.writeSeq}`;
    try {
      n.raw.propose(encoder.encode(id));
      this.proposedBy.set(id, n.id);
      this.stats.proposals++;
    } catch (error) {
      if (!(error instanceof ProposalRejected)) throw error;
    }
  }

  private read(n: SimNode): void {
    if (!n.raw) return;
    const ctx = `r${++this.readSeq}`;
    const mustSee = Math.max(0, ...this.acknowledged.values());
    try {
      n.raw.readIndex(encoder.encode(ctx));
      this.reads.set(ctx, { node: n.id, mustSee, readIndex: null });
      this.stats.reads++;
    } catch (error) {
      if (!(error instanceof ProposalRejected)) throw error;
    }
  }

  private proposeConf(action: Extract<Action, { kind: 'conf' }>): void {
    const leader = this.leader();
    if (!leader) return;
    const target = this.node(action.node).id;
    let cc: ConfChange;
    switch (action.change) {
      case 'addLearner':
        cc = { changes: [{ type: 'addLearner', id: target }] };
        break;
      case 'promote':
      case 'addVoter':
        cc = { changes: [{ type: 'addVoter', id: target }] };
        break;
      case 'remove':
        cc = { changes: [{ type: 'remove', id: target }] };
        break;
      case 'joint': {
        const other = this.node(action.other).id;
        cc = { changes: [{ type: 'addVoter', id: target }, ...(other !== target ? [{ type: 'remove' as const, id: other }] : [])], transition: 'auto' };
        break;
      }
    }
    try {
      leader.raw!.proposeConfChange(cc);
      this.stats.confChanges++;
    } catch (error) {
      if (!(error instanceof ProposalRejected)) throw error;
    }
  }

  private compact(n: SimNode): void {
    if (!n.raw || n.applied <= n.storage.firstIndex()) return;
    n.storage.createSnapshot(n.applied, n.confState, encoder.encode(String(n.applied)));
    n.storage.compact(n.applied);
  }

  private crash(n: SimNode, midReady: boolean): void {
    if (!n.raw) return;
    if (midReady && n.raw.hasReady()) this.handleReady(n, n.raw.ready(), true);
    n.raw = null;
    this.reads.forEach((r, ctx) => r.node === n.id && this.reads.delete(ctx));
  }

  /** Election safety, log matching and leader completeness; state machine safety is checked on apply. */
  checkSafety(): void {
    for (const n of this.nodes) {
      if (!n.raw) continue;
      const s = n.raw.status();
      if (s.softState.role !== 'leader') continue;
      const term = s.hardState.term;
      const known = this.leaders.get(term);
      if (known && known !== n.id) throw new SafetyViolation('election safety', `both ${known} and ${n.id} led term ${term}`);
      this.leaders.set(term, n.id);
      for (const [index, c] of this.committed) {
        if (c.knownInTerm >= term || index < n.storage.firstIndex()) continue;
        if (index > n.storage.lastIndex() || n.storage.term(index) !== c.term) {
          throw new SafetyViolation('leader completeness', `${n.id} leads term ${term} without committed entry (${index}, t${c.term})`);
        }
      }
    }
    for (let a = 0; a < this.nodes.length; a++) {
      for (let b = a + 1; b < this.nodes.length; b++) this.checkLogMatching(this.nodes[a], this.nodes[b]);
    }
  }

  private checkLogMatching(x: SimNode, y: SimNode): void {
    const lo = Math.max(x.storage.firstIndex(), y.storage.firstIndex());
    const hi = Math.min(x.storage.lastIndex(), y.storage.lastIndex());
    let matched = false;
    for (let i = hi; i >= lo; i--) {
      const tx = x.storage.term(i);
      const ty = y.storage.term(i);
      if (!matched && tx !== ty) continue;
      if (!matched) {
        matched = true;
        continue;
      }
      const [ex] = x.storage.entries(i, i + 1);
      const [ey] = y.storage.entries(i, i + 1);
      if (tx !== ty || ex.type !== ey.type || Buffer.compare(ex.data, ey.data) !== 0) {
        throw new SafetyViolation('log matching', `${x.id} and ${y.id} agree on a later entry but differ at index ${i}`);
      }
    }
  }

  /** Heal everything, restart every node, and report whether the cluster commits a new write within `ticks`. */
  settleAndCommit(ticks: number): { leader: NodeId; ticksToCommit: number } | null {
    this.partitionOf = null;
    this.dropRate = 0;
    for (const n of this.nodes) if (!n.raw) this.boot(n);
    this.processAll();
    // A proposal to a leader that is then deposed may be lost: propose again to each new leader.
    const finals: string[] = [];
    let proposedTo = '';
    for (let t = 0; t < ticks; t++) {
      this.tickOnce();
      const leader = this.leader();
      if (!leader) continue;
      const term = leader.raw!.status().hardState.term;
      if (proposedTo !== `${leader.id}@${term}`) {
        const id = `final-${++this.writeSeq}`;
        try {
          leader.raw!.propose(encoder.encode(id));
          this.proposedBy.set(id, leader.id);
          finals.push(id);
          proposedTo = `${leader.id}@${term}`;
        } catch (error) {
          if (!(error instanceof ProposalRejected)) throw error;
        }
      }
      const index = [...this.committed].find(([, c]) => finals.includes(c.data))?.[0];
      if (index === undefined) continue;
      const voters = leader.confState.voters;
      const allApplied = this.nodes.filter((n) => voters.includes(n.id)).every((n) => n.applied >= index);
      if (allApplied) return { leader: leader.id, ticksToCommit: t };
    }
    return null;
  }
}
