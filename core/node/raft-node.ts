// Drives the pure consensus module: ticks it with a clock, feeds it messages from a transport,
// persists each Ready durably before acknowledging anything, sends, applies, and advances.
// The same driver runs embedded nodes (memory stores, MemoryNetwork, ManualClock) and raftd
// (WAL on disk, TCP, system clock).
import type { Clock, Cancel } from '../clock.js';
import { RawNode } from '../raft/rawnode.js';
import { MemoryStorage } from '../raft/memory-storage.js';
import { confChangeCodec } from '../raft/codec.js';
import {
  EntryType,
  MessageType,
  ProposalRejected,
  type ConfChange,
  type ConfState,
  type Entry,
  type Message,
  type NodeId,
  type RaftLogger,
  type Ready,
  type Role,
  type Snapshot,
  type Status,
} from '../raft/types.js';
import type { LogStore, SnapshotStore } from '../storage/types.js';
import type { Transport } from '../transport/types.js';
import { unwrap, wrap } from './envelope.js';

export interface StateMachine {
  /** Apply one committed command; the result goes back to the proposer. */
  apply(command: Uint8Array, entry: Entry): unknown;
  /** A membership change was applied; `context` is what its proposer attached (e.g. addresses). */
  applyConfChange?(change: ConfChange, context: Uint8Array, confState: ConfState, entry: Entry): void;
  snapshot(): Uint8Array;
  restore(data: Uint8Array): void;
}

/** A snapshot could not be written (e.g. a full disk); the node goes on without compacting. */
export class SnapshotNotSavedError extends Error {
  constructor(index: number, cause: Error) {
    super(`snapshot at index ${index} not saved: ${cause.message}`, { cause });
    this.name = 'SnapshotNotSavedError';
  }
}

/** How long after a failed snapshot save the next one is tried (explicit requests try at once). */
const SNAPSHOT_RETRY_MS = 10_000;

export interface RaftNodeOptions {
  id: NodeId;
  logStore: LogStore;
  snapshotStore: SnapshotStore;
  transport: Transport;
  clock: Clock;
  stateMachine: StateMachine;
  /** Uniform in [0, 1); seed it for reproducible runs. */
  random?: () => number;
  tickMs?: number;
  electionTicks?: number;
  heartbeatTicks?: number;
  /** Voters of a brand-new cluster; ignored when the stores already hold state. Omit to join an existing cluster. */
  initialMembers?: NodeId[];
  /** Take a snapshot and compact the log after this many applied entries. */
  snapshotThreshold?: number;
  /** Entries kept behind a snapshot so slightly lagging followers catch up without one. */
  snapshotCatchUpEntries?: number;
  maxSizePerMsg?: number;
  maxInflightMsgs?: number;
  preVote?: boolean;
  checkQuorum?: boolean;
  /** Default time a proposal or read may wait before it fails. */
  requestTimeoutMs?: number;
  logger?: RaftLogger;
  /**
   * When the ready loop runs after something changed. 'turn' (the default, raftd): after the I/O
   * callbacks of this turn of the event loop, so every request and message that arrived together
   * goes into one Ready (one write, one send per peer). 'now': in a microtask, so a simulated
   * cluster has reacted fully before its clock moves on or its state is read.
   */
  readyLoop?: 'turn' | 'now';
}

export interface NodeStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  leader: NodeId;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  firstIndex: number;
  snapshotIndex: number;
  confState: ConfState;
  progress?: Status['progress'];
  leadTransferee: NodeId;
  electionElapsed?: number;
  randomizedElectionTimeout?: number;
}

export type RaftNodeEvent =
  | { type: 'role'; role: Role; term: number; leader: NodeId }
  | { type: 'commit'; commitIndex: number; appliedIndex: number }
  | { type: 'membership'; index: number; confState: ConfState }
  | { type: 'snapshot'; index: number }
  | { type: 'error'; error: Error };

export interface ProposeResult {
  index: number;
  term: number;
  result: unknown;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  cancelTimer: Cancel;
}

export class NodeStoppedError extends Error {
  constructor(id: NodeId) {
    super(`node ${id} is stopped`);
    this.name = 'NodeStoppedError';
  }
}

export class RequestTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms (no quorum reachable?)`);
    this.name = 'RequestTimeoutError';
  }
}

export class RaftNode {
  readonly id: NodeId;
  private readonly raw: RawNode;
  private readonly storage: MemoryStorage;
  private readonly options: RaftNodeOptions;
  private readonly listeners = new Set<(event: RaftNodeEvent) => void>();
  private readonly proposals = new Map<string, Pending<ProposeResult>>();
  private readonly confChanges = new Map<string, Pending<{ index: number; confState: ConfState }>>();
  private readonly readBatches = new Map<string, Pending<number>[]>();
  private readonly readsAwaitingApply: { index: number; waiters: Pending<number>[] }[] = [];
  private queuedReads: Pending<number>[] = [];
  /** When the newest ReadIndex round went out. */
  private readRoundAt = 0;
  private readonly snapshotWaiters: Pending<number>[] = [];
  private readonly requestPrefix: string;
  private requestSeq = 0;
  private applied: number;
  private snapshotIndex: number;
  private confState: ConfState;
  private role: Role = 'follower';
  private leader: NodeId = '';
  private term = 0;
  private commitIndex = 0;
  /** Term and vote last made durable: sending early is only safe while they are unchanged. */
  private persisted: { term: number; vote: NodeId };
  private processing = false;
  /** While a Ready's entries are being written: commits learned meanwhile are applied at once (applyDurableCommits). */
  private writing = false;
  private scheduled = false;
  private stopped = false;
  private failed: Error | null = null;
  private readonly cancelTicker: Cancel;
  private loopDone: Promise<void> = Promise.resolve();
  /** A snapshot of ours being written and the log compacted behind it, off the ready loop. */
  private snapshotSaving: Promise<void> | null = null;
  /** Clock time before which a snapshot that failed to save (a full disk) is not tried again. */
  private snapshotRetryAt = 0;

  private constructor(options: RaftNodeOptions, storage: MemoryStorage, applied: number, confState: ConfState) {
    this.id = options.id;
    this.options = options;
    this.storage = storage;
    this.applied = applied;
    this.snapshotIndex = storage.snapshot().metadata.index;
    this.confState = confState;
    const random = options.random ?? Math.random;
    this.requestPrefix = `${options.id}.${Math.floor(random() * 0xffffffff).toString(36)}.`;
    this.raw = new RawNode({
      id: options.id,
      electionTick: options.electionTicks ?? 10,
      heartbeatTick: options.heartbeatTicks ?? 1,
      storage,
      applied,
      maxSizePerMsg: options.maxSizePerMsg ?? 1024 * 1024,
      maxInflightMsgs: options.maxInflightMsgs ?? 256,
      preVote: options.preVote ?? true,
      checkQuorum: options.checkQuorum ?? true,
      lazyCommit: true,
      random,
      logger: options.logger,
    });
    const hs = storage.initialState().hardState;
    this.term = hs.term;
    this.commitIndex = this.raw.status().hardState.commit; // at least our snapshot's index (Raft.loadHardState)
    this.persisted = { term: hs.term, vote: hs.vote };
    options.transport.onMessage((m) => this.receive(m));
    options.transport.onUnreachable?.((peer) => {
      if (this.stopped) return;
      this.raw.reportUnreachable(peer);
      // A lost connection to our leader (it crashed or stopped): elect a successor sooner.
      if (peer === this.leader && this.role === 'follower') this.raw.forgetLeader();
      this.schedule();
    });
    this.cancelTicker = options.clock.every(options.tickMs ?? 100, () => this.tick());
  }

  /** Recover from the stores (or bootstrap a new cluster) and start ticking. */
  static async start(options: RaftNodeOptions): Promise<RaftNode> {
    const snapshot = await options.snapshotStore.load();
    const { hardState, entries } = await options.logStore.load();
    const storage = new MemoryStorage();
    let applied = 0;
    if (snapshot) {
      storage.applySnapshot(snapshot);
      options.stateMachine.restore(snapshot.data);
      applied = snapshot.metadata.index;
    }
    const snapshotIndex = snapshot?.metadata.index ?? 0;
    const kept = entries.filter((e) => e.index > snapshotIndex);
    if (kept.length > 0) storage.append(kept);
    storage.setHardState(hardState);
    const fresh = !snapshot && entries.length === 0 && hardState.term === 0;
    if (fresh && options.initialMembers && options.initialMembers.length > 0) {
      RawNode.bootstrap(storage, options.initialMembers);
      const boot = storage.entries(storage.firstIndex(), storage.lastIndex() + 1);
      await options.logStore.save(storage.initialState().hardState, boot);
    }
    const confState = snapshot?.metadata.confState ?? { voters: [], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
    return new RaftNode(options, storage, applied, confState);
  }

  on(listener: (event: RaftNodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replicate a command; resolves once it is committed and applied here, with where it landed. */
  propose(command: Uint8Array, timeoutMs = this.requestTimeout()): Promise<ProposeResult> {
    return this.request(this.proposals, 'proposal', timeoutMs, (requestId) => this.raw.propose(wrap(requestId, command)));
  }

  /** Propose a membership change; resolves once it is applied here. */
  changeMembership(change: ConfChange, timeoutMs = this.requestTimeout()): Promise<{ index: number; confState: ConfState }> {
    return this.request(this.confChanges, 'membership change', timeoutMs, (requestId) =>
      this.raw.proposeConfChange({ ...change, context: wrap(requestId, change.context ?? new Uint8Array()) }),
    );
  }

  /**
   * TEACHING ONLY (core/scenarios): a membership change without raft's safety checks, to show why
   * they exist. Never called by raftd or the console's cluster drivers.
   */
  changeMembershipUnsafe(change: ConfChange, timeoutMs = this.requestTimeout()): Promise<{ index: number; confState: ConfState }> {
    return this.request(this.confChanges, 'membership change', timeoutMs, (requestId) =>
      this.raw.proposeConfChangeUnsafe({ ...change, context: wrap(requestId, change.context ?? new Uint8Array()) }),
    );
  }

  /**
   * Linearizable read barrier (ReadIndex): resolves with an applied index at which local state
   * reflects every write acknowledged before the call. One round is in flight at a time, and the
   * reads that arrive meanwhile share the next: under load a round costs a heartbeat per
   * follower for many reads, not for each event-loop turn's few.
   */
  readBarrier(timeoutMs = this.requestTimeout()): Promise<number> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    return new Promise<number>((resolve, reject) => {
      const waiter: Pending<number> = {
        resolve,
        reject,
        cancelTimer: this.options.clock.after(timeoutMs, () => {
          this.dropWaiter(waiter);
          reject(new RequestTimeoutError('read', timeoutMs));
        }),
      };
      this.queuedReads.push(waiter);
      this.schedule();
    });
  }

  transferLeadership(to: NodeId): void {
    this.raw.transferLeadership(to);
    this.schedule();
  }

  campaign(): void {
    this.raw.campaign();
    this.schedule();
  }

  /** This node's role, cheaply (status() builds the whole picture). */
  get currentRole(): Role {
    return this.role;
  }

  /** The leader this node knows of, '' if none. */
  get currentLeader(): NodeId {
    return this.leader;
  }

  /** The storage failure that stopped this node, or null. */
  get failure(): Error | null {
    return this.failed;
  }

  status(): NodeStatus {
    const s = this.raw.status();
    return {
      id: this.id,
      role: s.softState.role,
      term: s.hardState.term,
      vote: s.hardState.vote,
      leader: s.softState.leader,
      commitIndex: s.hardState.commit,
      appliedIndex: this.applied,
      lastIndex: s.lastIndex,
      firstIndex: s.firstIndex,
      snapshotIndex: this.snapshotIndex,
      confState: this.confState,
      progress: s.progress,
      leadTransferee: s.leadTransferee,
      electionElapsed: s.electionElapsed,
      randomizedElectionTimeout: s.randomizedElectionTimeout,
    };
  }

  /** Durable entries in [from, from + limit), clamped to what the log still holds. */
  entries(from: number, limit: number): Entry[] {
    const lo = Math.max(from, this.storage.firstIndex());
    const hi = Math.min(from + limit, this.storage.lastIndex() + 1);
    return lo < hi ? this.storage.entries(lo, hi) : [];
  }

  /** Stop ticking and receiving; pending requests fail. Stores are closed by their owner. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTicker();
    await this.loopDone;
    await this.snapshotSaving;
    this.failAll(new NodeStoppedError(this.id));
  }

  private tick(): void {
    if (this.stopped) return;
    this.raw.tick();
    // Not heard from our leader for an election timeout (a paused process keeps its connections,
    // and a learner never campaigns): it is gone as far as clients are told, until it is heard again.
    if (this.role === 'follower' && this.leader && (this.raw.status().electionElapsed ?? 0) >= (this.options.electionTicks ?? 10)) this.raw.forgetLeader();
    this.schedule();
  }

  private receive(message: Message): void {
    if (this.stopped) return;
    try {
      this.raw.step(message);
    } catch (error) {
      this.options.logger?.warn(`dropped ${message.type} from ${message.from}: ${(error as Error).message}`);
      return;
    }
    if (this.writing) this.applyDurableCommits();
    this.schedule();
  }

  /**
   * A leader learns that batch k is committed (its followers' acks) while it is writing batch k+1.
   * Waiting for that write before applying would add a whole fsync to every request under load, so
   * entries that are committed and already on our own disk are applied (and their callers answered)
   * now. Configuration changes wait for their Ready (see handleReady); the Ready that later carries
   * these entries finds them applied (applyEntry skips them).
   */
  private applyDurableCommits(): void {
    const last = Math.min(this.raw.durableCommittedIndex(), this.storage.lastIndex());
    if (last <= this.applied) return;
    try {
      for (const entry of this.storage.entries(this.applied + 1, last + 1)) {
        if (entry.type === EntryType.ConfChange) break;
        this.applyEntry(entry);
      }
    } catch (error) {
      this.fail(error as Error); // as a failure to apply in handleReady would
      return;
    }
    this.releaseReads();
  }

  private request<T>(table: Map<string, Pending<T>>, what: string, timeoutMs: number, submit: (requestId: string) => void): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.stopped) return Promise.reject(new NodeStoppedError(this.id));
    const requestId = this.requestPrefix + (this.requestSeq++).toString(36);
    return new Promise<T>((resolve, reject) => {
      try {
        submit(requestId);
      } catch (error) {
        reject(error);
        return;
      }
      table.set(requestId, {
        resolve,
        reject,
        cancelTimer: this.options.clock.after(timeoutMs, () => {
          table.delete(requestId);
          reject(new RequestTimeoutError(what, timeoutMs));
        }),
      });
      this.schedule();
    });
  }

  private requestTimeout(): number {
    return this.options.requestTimeoutMs ?? 5000;
  }

  private schedule(): void {
    if (this.scheduled || this.processing || this.stopped) return;
    this.scheduled = true;
    (this.options.readyLoop === 'now' ? queueMicrotask : setImmediate)(() => {
      this.scheduled = false;
      if (!this.processing && !this.stopped) this.loopDone = this.runReadyLoop();
    });
  }

  private async runReadyLoop(): Promise<void> {
    this.processing = true;
    try {
      for (;;) {
        if (this.canIssueReads()) this.issueQueuedReads();
        if (!this.raw.hasReady()) break;
        await this.handleReady(this.raw.ready());
      }
      if (this.snapshotWaiters.length > 0) this.maybeSnapshot();
    } catch (error) {
      this.fail(error as Error);
    } finally {
      this.processing = false;
    }
    // Work that arrived while the last Ready was in flight.
    if (!this.stopped && !this.failed && (this.raw.hasReady() || this.canIssueReads())) this.schedule();
  }

  private async handleReady(rd: Ready): Promise<void> {
    const { logStore, snapshotStore, transport } = this.options;
    if ((rd.hardState && rd.hardState.term !== this.term) || (rd.softState && rd.softState.leader !== this.leader)) this.reissueReads();
    // A leader may send while it writes (Raft §10.2.1): its own copy counts towards commit only after
    // advance(), i.e. once durable. Anything else (votes, append responses) waits for the disk.
    const sendEarly = (rd.softState?.role ?? this.role) === 'leader' && !rd.snapshot && (!rd.hardState || (rd.hardState.term === this.persisted.term && rd.hardState.vote === this.persisted.vote));
    if (sendEarly && rd.messages.length > 0) transport.send(rd.messages);
    // Committed entries already on our disk are applied before this Ready's write, not after it:
    // otherwise every batch would wait for the next batch's fsync before its clients hear back.
    // Not configuration changes: the commit covering one is durable first (Ready.mustSync), and
    // raft counts it applied only at advance(), so its proposer hears back only then.
    let appliedEarly = 0;
    if (!rd.snapshot) {
      const durableLast = Math.min(this.storage.lastIndex(), (rd.entries[0]?.index ?? Infinity) - 1);
      const early = (e: Entry) => e.index <= durableLast && e.type !== EntryType.ConfChange;
      while (appliedEarly < rd.committedEntries.length && early(rd.committedEntries[appliedEarly])) {
        this.applyEntry(rd.committedEntries[appliedEarly++]);
      }
    }
    // 1. Durable before anything that depends on it leaves this node.
    if (rd.snapshot) {
      await this.snapshotSaving; // ours, older: it must not land after the leader's
      await snapshotStore.save(rd.snapshot);
      this.storage.applySnapshot(rd.snapshot);
    }
    // A commit-only change need not be written: the commit index is re-learned from the leader.
    if (rd.entries.length > 0 || (rd.hardState && rd.mustSync)) {
      this.writing = !rd.snapshot;
      try {
        await logStore.save(rd.hardState, rd.entries);
      } finally {
        this.writing = false;
      }
      if (rd.hardState) this.persisted = { term: rd.hardState.term, vote: rd.hardState.vote };
    }
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    if (rd.hardState) this.storage.setHardState(rd.hardState);
    if (rd.hardState) {
      if (rd.hardState.term !== this.term) {
        this.term = rd.hardState.term;
        if (!rd.softState) this.emit({ type: 'role', role: this.role, term: this.term, leader: this.leader });
      }
      this.commitIndex = rd.hardState.commit;
    }
    // 2. Send.
    if (!sendEarly && rd.messages.length > 0) transport.send(rd.messages);
    // 3. Apply.
    if (rd.snapshot) this.restoreSnapshot(rd.snapshot);
    for (let i = appliedEarly; i < rd.committedEntries.length; i++) this.applyEntry(rd.committedEntries[i]);
    // After applying: a leader that removed itself first settles that change, then steps down.
    if (rd.softState) this.noteSoftState(rd.softState.role, rd.softState.leader, rd.hardState?.term ?? this.term);
    for (const rs of rd.readStates) this.readIndexReady(new TextDecoder().decode(rs.context), rs.index);
    this.raw.advance(rd);
    // The transport took the snapshot; if it is lost, the leader probes again and resends it.
    for (const m of rd.messages) if (m.type === MessageType.Snap) this.raw.reportSnapshot(m.to, true);
    if (rd.committedEntries.length > 0 || rd.hardState) {
      this.emit({ type: 'commit', commitIndex: this.commitIndex, appliedIndex: this.applied });
    }
    this.releaseReads();
    this.maybeSnapshot();
  }

  private noteSoftState(role: Role, leader: NodeId, term: number): void {
    const wasLeader = this.role === 'leader';
    this.role = role;
    this.leader = leader;
    this.term = term;
    this.emit({ type: 'role', role, term, leader });
    if (wasLeader && role !== 'leader') {
      // Our uncommitted proposals may be overwritten by the new leader: fail them now
      // (the outcome is unknown to the caller, which is the honest answer).
      const lost = new ProposalRejected(`leadership lost in term ${term}; the write may or may not have been applied`);
      this.failTable(this.proposals, lost);
      this.failTable(this.confChanges, lost);
    }
  }

  private applyEntry(entry: Entry): void {
    if (entry.index <= this.applied) return;
    this.applied = entry.index;
    if (entry.type === EntryType.ConfChange) {
      const change = confChangeCodec.decode(entry.data);
      const { requestId, payload } = unwrap(change.context ?? new Uint8Array());
      this.confState = this.raw.applyConfChange(change);
      this.options.stateMachine.applyConfChange?.(change, payload, this.confState, entry);
      this.emit({ type: 'membership', index: entry.index, confState: this.confState });
      this.settle(this.confChanges, requestId, { index: entry.index, confState: this.confState });
      return;
    }
    if (entry.data.length === 0) return; // a new leader's no-op
    const { requestId, payload } = unwrap(entry.data);
    const result = this.options.stateMachine.apply(payload, entry);
    this.settle(this.proposals, requestId, { index: entry.index, term: entry.term, result });
  }

  private restoreSnapshot(snapshot: Snapshot): void {
    this.options.stateMachine.restore(snapshot.data);
    this.applied = snapshot.metadata.index;
    this.snapshotIndex = snapshot.metadata.index;
    this.confState = snapshot.metadata.confState;
    this.emit({ type: 'snapshot', index: snapshot.metadata.index });
    this.emit({ type: 'membership', index: snapshot.metadata.index, confState: this.confState });
  }

  /** Snapshot the state machine at the applied index now and compact the log behind it. */
  snapshotNow(): Promise<number> {
    if (this.stopped) return Promise.reject(this.failed ?? new NodeStoppedError(this.id));
    return new Promise((resolve, reject) => {
      this.snapshotWaiters.push({ resolve, reject, cancelTimer: () => {} });
      this.schedule();
    });
  }

  /**
   * The state machine is serialized here, at the applied index; writing it and compacting the log
   * happen in the background, so clients do not wait for a multi-megabyte write and its fsyncs.
   * One at a time: requests arriving meanwhile are served by the next one.
   */
  private maybeSnapshot(): void {
    if (this.snapshotSaving || this.stopped) return;
    const threshold = this.options.snapshotThreshold ?? 10_000;
    const due = this.applied - this.snapshotIndex >= threshold && this.options.clock.now() >= this.snapshotRetryAt;
    if (this.snapshotWaiters.length === 0 && !due) return;
    const waiters = this.snapshotWaiters.splice(0);
    if (this.applied <= this.snapshotIndex) {
      for (const waiter of waiters) waiter.resolve(this.snapshotIndex);
      return;
    }
    const index = this.applied;
    // After a failed save, raft's storage already holds a snapshot at this index: save that one again.
    const snapshot =
      this.storage.snapshot().metadata.index === index
        ? this.storage.snapshot()
        : this.storage.createSnapshot(index, this.confState, this.options.stateMachine.snapshot());
    this.snapshotSaving = this.persistSnapshot(snapshot).then(
      () => {
        this.snapshotSaving = null;
        this.snapshotRetryAt = 0;
        for (const waiter of waiters) waiter.resolve(index);
        if (this.snapshotWaiters.length > 0) this.schedule();
      },
      (error: Error) => {
        this.snapshotSaving = null;
        for (const waiter of waiters) waiter.reject(error);
        if (error instanceof SnapshotNotSavedError) {
          // Nothing is lost (the log keeps every entry) and writes go on; compaction waits.
          this.snapshotRetryAt = this.options.clock.now() + SNAPSHOT_RETRY_MS;
          this.options.logger?.warn(`${error.message}; the log is kept whole, retrying in ${SNAPSHOT_RETRY_MS / 1000} s`);
        } else if (!this.stopped) {
          this.fail(error);
        }
      },
    );
  }

  private async persistSnapshot(snapshot: Snapshot): Promise<void> {
    const { index } = snapshot.metadata;
    try {
      await this.options.snapshotStore.save(snapshot);
    } catch (error) {
      throw new SnapshotNotSavedError(index, error as Error);
    }
    // A leader's snapshot received meanwhile waits for this one (handleReady), so ours is newer.
    this.snapshotIndex = index;
    const compactTo = index - (this.options.snapshotCatchUpEntries ?? 5_000);
    if (compactTo > this.storage.firstIndex()) {
      this.storage.compact(compactTo);
      await this.options.logStore.compact(compactTo); // a failure here is the log's own: fatal
    }
    this.emit({ type: 'snapshot', index });
  }

  /** A round unanswered for an election timeout (lost, or dropped by a busy new leader) holds no one back. */
  private canIssueReads(): boolean {
    if (this.queuedReads.length === 0) return false;
    const electionMs = (this.options.electionTicks ?? 10) * (this.options.tickMs ?? 100);
    return this.readBatches.size === 0 || this.options.clock.now() - this.readRoundAt >= electionMs;
  }

  private issueQueuedReads(): void {
    const batch = this.queuedReads;
    this.queuedReads = [];
    const context = this.requestPrefix + 'r' + (this.requestSeq++).toString(36);
    try {
      this.raw.readIndex(new TextEncoder().encode(context));
    } catch (error) {
      for (const waiter of batch) {
        waiter.cancelTimer();
        waiter.reject(error as Error);
      }
      return;
    }
    this.readBatches.set(context, batch);
    this.readRoundAt = this.options.clock.now();
  }

  /** A new term or leader drops the rounds in flight (raft forgets them): they go out again. */
  private reissueReads(): void {
    for (const waiters of this.readBatches.values()) this.queuedReads.push(...waiters);
    this.readBatches.clear();
  }

  private readIndexReady(context: string, index: number): void {
    const waiters = this.readBatches.get(context);
    if (!waiters) return;
    this.readBatches.delete(context);
    this.readsAwaitingApply.push({ index, waiters });
  }

  private releaseReads(): void {
    for (let i = 0; i < this.readsAwaitingApply.length; ) {
      const batch = this.readsAwaitingApply[i];
      if (batch.index > this.applied) {
        i++;
        continue;
      }
      this.readsAwaitingApply.splice(i, 1);
      for (const waiter of batch.waiters) {
        waiter.cancelTimer();
        waiter.resolve(this.applied);
      }
    }
  }

  private dropWaiter(waiter: Pending<number>): void {
    this.queuedReads = this.queuedReads.filter((w) => w !== waiter);
    for (const [context, waiters] of this.readBatches) {
      const left = waiters.filter((w) => w !== waiter);
      if (left.length === 0) this.readBatches.delete(context);
      else this.readBatches.set(context, left);
    }
    for (const batch of this.readsAwaitingApply) batch.waiters = batch.waiters.filter((w) => w !== waiter);
  }

  private settle<T>(table: Map<string, Pending<T>>, requestId: string, value: T): void {
    const pending = table.get(requestId);
    if (!pending) return;
    table.delete(requestId);
    pending.cancelTimer();
    pending.resolve(value);
  }

  private failTable<T>(table: Map<string, Pending<T>>, error: Error): void {
    for (const pending of table.values()) {
      pending.cancelTimer();
      pending.reject(error);
    }
    table.clear();
  }

  private failAll(error: Error): void {
    this.failTable(this.proposals, error);
    this.failTable(this.confChanges, error);
    for (const waiter of this.snapshotWaiters.splice(0)) waiter.reject(error);
    const reads = [...this.queuedReads, ...[...this.readBatches.values()].flat(), ...this.readsAwaitingApply.flatMap((b) => b.waiters)];
    this.queuedReads = [];
    this.readBatches.clear();
    this.readsAwaitingApply.length = 0;
    for (const waiter of reads) {
      waiter.cancelTimer();
      waiter.reject(error);
    }
  }

  /** A storage failure (full disk, I/O error) stops the node: acknowledging anything after it would be a lie. */
  private fail(error: Error): void {
    this.failed = error;
    this.stopped = true;
    this.cancelTicker();
    this.options.logger?.warn(`node ${this.id} stopped after a storage failure: ${error.message}`);
    this.failAll(error);
    this.emit({ type: 'error', error });
  }

  private emit(event: RaftNodeEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}
