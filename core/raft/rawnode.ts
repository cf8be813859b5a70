// The public API of the consensus module (etcd's RawNode): a Raft plus the Ready/advance hand-off.
// Single-threaded and synchronous; the driver calls ready(), persists, sends, applies, advance(rd).
import { encodeConfChange } from './codec.js';
import { entriesSize } from './log.js';
import type { MemoryStorage } from './memory-storage.js';
import { Raft, message } from './raft.js';
import {
  EntryType,
  MessageType,
  NONE,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type Ready,
  type SoftState,
  type Status,
} from './types.js';

/** Messages a node makes for itself; the network must never deliver them. */
const LOCAL_ONLY = new Set<MessageType>([MessageType.Hup, MessageType.Beat, MessageType.Propose, MessageType.CheckQuorum]);

/** Responses are only meaningful from members the leader tracks. */
const RESPONSES = new Set<MessageType>([
  MessageType.AppResp,
  MessageType.VoteResp,
  MessageType.PreVoteResp,
  MessageType.HeartbeatResp,
  MessageType.Unreachable,
  MessageType.SnapStatus,
]);

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

function sameSoftState(a: SoftState, b: SoftState): boolean {
  return a.leader === b.leader && a.role === b.role;
}

export class RawNode {
  private readonly raft: Raft;
  private prevSoftState: SoftState;
  private prevHardState: HardState;
  /** The Ready handed out and not yet advanced. */
  private pending: Ready | undefined;

  /**
   * Reads the initial state from config.storage. On a restart, config.applied must not skip a
   * configuration change: storage.initialState().confState must hold every change up to it.
   */
  constructor(config: RaftConfig) {
    this.raft = new Raft(config);
    this.prevSoftState = this.raft.softState();
    this.prevHardState = this.raft.hardState();
  }

  /**
   * Start a brand-new cluster on empty storage: one addVoter ConfChange entry per voter at term 1
   * (indices 1..n), committed, so that members joining later learn the initial ones from the log.
   */
  static bootstrap(storage: MemoryStorage, voters: NodeId[]): void {
    if (voters.length === 0) throw new Error('bootstrap needs at least one voter');
    if (new Set(voters).size !== voters.length) throw new Error(`bootstrap voters contain duplicates: ${voters.join(', ')}`);
    if (voters.some((id) => typeof id !== 'string' || id === NONE)) throw new Error('bootstrap voters need non-empty ids');
    const { hardState } = storage.initialState();
    if (storage.lastIndex() !== 0 || hardState.term !== 0 || storage.snapshot().metadata.index !== 0) {
      throw new Error('bootstrap needs empty storage; this one already holds raft state');
    }
    const entries: Entry[] = voters.map((id, i) => ({
      term: 1,
      index: i + 1,
      type: EntryType.ConfChange,
      data: encodeConfChange({ changes: [{ type: 'addVoter', id }] }),
    }));
    storage.append(entries);
    storage.setHardState({ term: 1, vote: NONE, commit: entries.length });
  }

  tick(): void {
    this.raft.tick();
  }

  /** Start an election now (with a pre-vote first if configured). */
  campaign(): void {
    this.raft.step(message({ type: MessageType.Hup, from: this.raft.id }));
  }

  /** Throws ProposalRejected when this node cannot accept it (not leader, transfer in progress, too much uncommitted data). */
  propose(data: Uint8Array): void {
    this.raft.propose([{ term: 0, index: 0, type: EntryType.Normal, data }]);
  }

  /** Throws ProposalRejected, with a reason to act on, for an unsafe or untimely change. */
  proposeConfChange(cc: ConfChange): void {
    this.raft.propose([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange(cc) }]);
  }

  /** TEACHING ONLY (core/scenarios): a change without the safety checks; see Raft.proposeConfChangeUnsafe. */
  proposeConfChangeUnsafe(cc: ConfChange): void {
    this.raft.proposeConfChangeUnsafe(encodeConfChange(cc));
  }

  /**
   * Call when a committed ConfChange entry is applied; returns the configuration now in effect.
   * A change invalid for the current configuration (possible only if it bypassed proposeConfChange)
   * is skipped, identically on every node, and the unchanged configuration returned.
   */
  applyConfChange(cc: ConfChange): ConfState {
    return this.raft.applyConfChange(cc);
  }

  /** A message from the network, or a local Unreachable / SnapStatus report. */
  step(m: Message): void {
    if (LOCAL_ONLY.has(m.type)) {
      throw new Error(`${m.type} is local to a node and cannot be stepped from the network`);
    }
    // A response from a node we do not track (removed, or never a member) carries nothing we can use.
    if (RESPONSES.has(m.type) && !this.raft.tracker.progress(m.from)) return;
    this.raft.step(m);
  }

  /**
   * Request a linearizable read; the answer arrives as a Ready.readStates entry with this context
   * (contexts must be unique). Throws ProposalRejected when no leader is known, or when the leader has
   * too many reads pending. A new leader holds requests until it has committed an entry of its term,
   * then answers them. A request in flight when leadership changes is dropped without an answer:
   * time out and retry.
   */
  readIndex(context: Uint8Array): void {
    this.raft.readIndex(context);
  }

  /** Hand leadership to `to`; aborted if it has not happened within an election timeout. */
  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  reportUnreachable(id: NodeId): void {
    this.step(message({ type: MessageType.Unreachable, from: id }));
  }

  /** The leader seems gone (see Raft.forgetLeader); a no-op unless this node follows one. */
  forgetLeader(): void {
    this.raft.forgetLeader();
  }

  reportSnapshot(id: NodeId, ok: boolean): void {
    this.step(message({ type: MessageType.SnapStatus, from: id, reject: !ok }));
  }

  /**
   * Highest index that is both committed and in this node's stable storage (entries a pending
   * Ready may still overwrite are not): the driver may apply up to it while a write is in flight.
   */
  durableCommittedIndex(): number {
    return Math.min(this.raft.log.committed, this.raft.log.lastStableIndex());
  }

  hasReady(): boolean {
    const r = this.raft;
    return (
      !sameSoftState(r.softState(), this.prevSoftState) ||
      !sameHardState(r.hardState(), this.prevHardState) ||
      r.log.pendingSnapshot() !== undefined ||
      r.msgs.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstableEntries().length > 0 ||
      r.log.hasNextCommittedEntries()
    );
  }

  /** What to persist, send and apply now. Call advance(rd) with it before asking for the next one. */
  ready(): Ready {
    if (this.pending) throw new Error('ready() called again before advance() of the previous Ready');
    const r = this.raft;
    const softState = r.softState();
    const hardState = r.hardState();
    const snapshot = r.log.pendingSnapshot();
    const entries = r.log.unstableEntries();
    const committedEntries = r.log.nextCommittedEntries();
    // A configuration is used from when it is applied, and a restarted node re-applies only up to
    // its stored commit: that commit must cover every change applied, or the node could come back
    // under an older configuration and win an election under it.
    const appliesConfChange = committedEntries.some((e) => e.type === EntryType.ConfChange);
    const rd: Ready = {
      readStates: r.readStates,
      entries,
      committedEntries,
      messages: r.takeMessages(),
      mustSync:
        entries.length > 0 ||
        snapshot !== undefined ||
        appliesConfChange ||
        hardState.term !== this.prevHardState.term ||
        hardState.vote !== this.prevHardState.vote,
    };
    if (!sameSoftState(softState, this.prevSoftState)) rd.softState = softState;
    if (appliesConfChange || !sameHardState(hardState, this.prevHardState)) rd.hardState = hardState;
    if (snapshot) rd.snapshot = snapshot;
    r.readStates = [];
    this.prevSoftState = softState;
    this.prevHardState = hardState;
    this.pending = rd;
    return rd;
  }

  /** The driver has persisted, sent and applied everything in `rd`. */
  advance(rd: Ready): void {
    if (rd !== this.pending) throw new Error('advance() must be given the Ready returned by the last ready()');
    this.pending = undefined;
    const r = this.raft;
    if (rd.snapshot) {
      r.log.stableSnapTo(rd.snapshot.metadata.index);
      r.log.appliedTo(rd.snapshot.metadata.index);
    }
    const lastEntry = rd.entries[rd.entries.length - 1];
    if (lastEntry) r.persistedTo(lastEntry.index, lastEntry.term);
    const lastApplied = rd.committedEntries[rd.committedEntries.length - 1];
    if (lastApplied) r.appliedTo(lastApplied.index, entriesSize(rd.committedEntries));
  }

  status(): Status {
    return this.raft.status();
  }
}
