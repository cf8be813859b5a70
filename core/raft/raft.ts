// The Raft state machine (etcd-io/raft's raft.go): deterministic, no I/O, no clock, no Math.random.
// Time arrives as tick(), messages as step(); what must be persisted and sent is collected
// (log.unstable*, msgs, readStates) and handed out by RawNode as a Ready.
import { decodeConfChange, encodeConfChange } from './codec.js';
import { ConfChangeError, changeConfState, isVoter } from './confchange.js';
import { RaftLog, entriesSize } from './log.js';
import { ReadOnly } from './readonly.js';
import { ProgressTracker } from './tracker.js';
import {
  CompactedError,
  EntryType,
  MessageType,
  NONE,
  ProposalRejected,
  type ConfChange,
  type ConfState,
  type Entry,
  type HardState,
  type Message,
  type NodeId,
  type RaftConfig,
  type RaftLogger,
  type ReadState,
  type Role,
  type Snapshot,
  type SoftState,
  type Status,
} from './types.js';

/** Marks the Vote of a leadership transfer: voters grant it even while they trust a leader (lease). */
const CAMPAIGN_TRANSFER = new TextEncoder().encode('CampaignTransfer');

type CampaignKind = 'preElection' | 'election' | 'transfer';

const silentLogger: RaftLogger = { debug() {}, info() {}, warn() {} };

/**
 * ReadIndex requests a leader holds (waiting for its first commit) or has pending (waiting for a
 * heartbeat round): beyond this, new ones are refused (local) or dropped (forwarded; the follower retries).
 */
export const MAX_PENDING_READS = 4096;

/** A message with every field not given at its zero value. Built field by field so all share one shape (fast). */
export function message(fields: Partial<Message> & Pick<Message, 'type'>): Message {
  return {
    type: fields.type,
    from: fields.from ?? NONE,
    to: fields.to ?? NONE,
    term: fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    entries: fields.entries ?? [],
    commit: fields.commit ?? 0,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    snapshot: fields.snapshot,
    context: fields.context,
  };
}

/** `next` is an App that starts right where the App `last` ends, in the same term. */
function canExtend(last: Message, next: Message): boolean {
  if (last.type !== MessageType.App || last.term !== next.term) return false;
  const end = last.entries[last.entries.length - 1];
  return end ? next.index === end.index && next.logTerm === end.term : next.index === last.index && next.logTerm === last.logTerm;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (!a || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function voteResponseType(type: MessageType): MessageType {
  return type === MessageType.PreVote ? MessageType.PreVoteResp : MessageType.VoteResp;
}

/** Checks a config and fills in defaults. Throws an Error naming the bad field. */
function resolveConfig(config: RaftConfig) {
  const positiveInt = (name: string, value: number) => {
    if (!Number.isInteger(value) || value < 1) throw new Error(`raft config: ${name} must be a positive integer, got ${value}`);
  };
  if (typeof config.id !== 'string' || config.id === NONE) throw new Error('raft config: id must be a non-empty string');
  positiveInt('heartbeatTick', config.heartbeatTick);
  positiveInt('electionTick', config.electionTick);
  if (config.electionTick <= config.heartbeatTick) {
    throw new Error(
      `raft config: electionTick (${config.electionTick}) must be greater than heartbeatTick (${config.heartbeatTick})`,
    );
  }
  if (typeof config.random !== 'function') throw new Error('raft config: random must be a function returning [0, 1)');
  const maxInflightMsgs = config.maxInflightMsgs ?? 256;
  positiveInt('maxInflightMsgs', maxInflightMsgs);
  const maxSizePerMsg = config.maxSizePerMsg ?? 1024 * 1024;
  const maxUncommittedEntriesSize = config.maxUncommittedEntriesSize ?? Infinity;
  if (!(maxSizePerMsg >= 0)) throw new Error(`raft config: maxSizePerMsg must be >= 0, got ${maxSizePerMsg}`);
  if (!(maxUncommittedEntriesSize > 0)) {
    throw new Error(`raft config: maxUncommittedEntriesSize must be > 0, got ${maxUncommittedEntriesSize}`);
  }
  const readOnlyOption = config.readOnlyOption ?? 'safe';
  if (readOnlyOption === 'lease' && !config.checkQuorum) {
    // Without CheckQuorum a deposed leader would keep serving lease reads: stale data.
    throw new Error("raft config: readOnlyOption 'lease' requires checkQuorum");
  }
  return {
    maxInflightMsgs,
    maxSizePerMsg,
    maxUncommittedEntriesSize,
    readOnlyOption,
    checkQuorum: config.checkQuorum ?? false,
    preVote: config.preVote ?? false,
    lazyCommit: config.lazyCommit ?? false,
    logger: config.logger ?? silentLogger,
  };
}

export class Raft {
  readonly id: NodeId;
  private term = 0;
  private vote: NodeId = NONE;
  private lead: NodeId = NONE;
  private role: Role = 'follower';
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;
  /** Outgoing messages, handed out (and cleared) by the next Ready. */
  msgs: Message[] = [];
  readStates: ReadState[] = [];
  /** Whom leadership is being handed to (leader only). */
  private leadTransferee: NodeId = NONE;
  /** The newest entry that may hold a configuration change; a new one waits until it is applied. */
  private pendingConfIndex = 0;
  /**
   * This leader has proposed a configuration without itself as a voter. It accepts no more writes:
   * if it appended entries behind that change and then stepped down, its log would be longer than
   * every remaining voter's, and they could not get its vote (nor it campaign) — a deadlock.
   */
  private leaving = false;
  /** Bytes of entry data appended by this leader and not yet applied. */
  private uncommittedSize = 0;
  private readOnly = new ReadOnly();
  /** ReadIndex requests that arrived before this leader committed an entry of its term (etcd's pendingReadIndexMessages). */
  private heldReads: Message[] = [];
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  private randomizedElectionTimeout = 0;

  private readonly electionTimeout: number;
  private readonly heartbeatTimeout: number;
  private readonly checkQuorum: boolean;
  private readonly preVote: boolean;
  private readonly readOnlyOption: 'safe' | 'lease';
  private readonly lazyCommit: boolean;
  private readonly maxMsgSize: number;
  private readonly maxUncommittedSize: number;
  private readonly random: () => number;
  private readonly logger: RaftLogger;

  constructor(config: RaftConfig) {
    const resolved = resolveConfig(config);
    this.id = config.id;
    this.electionTimeout = config.electionTick;
    this.heartbeatTimeout = config.heartbeatTick;
    this.random = config.random;
    this.checkQuorum = resolved.checkQuorum;
    this.preVote = resolved.preVote;
    this.readOnlyOption = resolved.readOnlyOption;
    this.lazyCommit = resolved.lazyCommit;
    this.maxMsgSize = resolved.maxSizePerMsg;
    this.maxUncommittedSize = resolved.maxUncommittedEntriesSize;
    this.logger = resolved.logger;

    this.log = new RaftLog(config.storage, this.maxMsgSize);
    this.tracker = new ProgressTracker(resolved.maxInflightMsgs);
    const { hardState, confState } = config.storage.initialState();
    this.tracker.setConfig(confState, this.log.lastIndex());
    this.loadHardState(hardState);
    if (config.applied) this.log.appliedTo(config.applied);
    this.becomeFollower(this.term, NONE);
  }

  private loadHardState(hs: HardState): void {
    if (hs.commit > this.log.lastIndex()) {
      throw new Error(`hard state commit ${hs.commit} is past the stored log, which ends at ${this.log.lastIndex()}`);
    }
    // Commit-only changes need not be written (Ready.mustSync is false for them), so the stored
    // commit may trail our snapshot; a snapshot holds only committed entries, so its index is committed.
    this.log.committed = Math.max(hs.commit, this.log.committed);
    this.term = hs.term;
    this.vote = hs.vote;
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  // ---- requests from the API (refused with a reason) ------------------------------------------

  propose(entries: Entry[]): void {
    this.step(message({ type: MessageType.Propose, from: this.id, entries }));
  }

  readIndex(context: Uint8Array): void {
    if (this.role === 'leader') {
      if (this.heldReads.length + this.readOnly.size >= MAX_PENDING_READS) {
        throw new ProposalRejected(`leader ${this.id} has ${MAX_PENDING_READS} reads pending; retry shortly`);
      }
    } else if (this.lead === NONE) {
      throw new ProposalRejected(`node ${this.id} knows no leader (term ${this.term}); retry after an election`);
    }
    this.step(message({ type: MessageType.ReadIndex, context }));
  }

  /**
   * A follower with good reason to think its leader is gone (its transport lost the connection)
   * forgets it: like any leaderless follower it grants pre-votes at once instead of protecting the
   * leader's lease, and it campaigns once its randomized timeout runs out counted from almost one
   * election timeout ago, i.e. within [1, T] ticks, still spread out by the randomization. Hearing
   * from the leader undoes it. Elections are safe at any time; this only shortens failover (after
   * etcd's ForgetLeader).
   */
  forgetLeader(): void {
    if (this.role !== 'follower' || this.lead === NONE) return;
    this.logger.info(`${this.id} forgot leader ${this.lead} at term ${this.term}`);
    this.lead = NONE;
    this.electionElapsed = Math.max(this.electionElapsed, this.electionTimeout - 1);
  }

  transferLeadership(to: NodeId): void {
    if (!isVoter(this.tracker.config, to)) {
      throw new ProposalRejected(`node ${to} is not a voter of the configuration and cannot become leader`);
    }
    if (this.role !== 'leader' && this.lead === NONE) {
      throw new ProposalRejected(`node ${this.id} knows no leader (term ${this.term}) to transfer leadership from`);
    }
    // A follower forwards the request under the transferee's name; peers may speak only for
    // themselves (the transport checks `from`), so a follower can only ask for leadership itself.
    if (this.role !== 'leader' && to !== this.id) {
      throw new ProposalRejected(`node ${this.id} is not the leader; ask the leader (${this.lead}) to transfer leadership to ${to}`);
    }
    // As in etcd, the request names the transferee as its sender.
    this.step(message({ type: MessageType.TransferLeader, from: to }));
  }

  // ---- time ----------------------------------------------------------------------------------

  tick(): void {
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.step(message({ type: MessageType.Hup, from: this.id }));
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.maybeLeaveJoint();
    if (this.electionElapsed >= this.electionTimeout) {
      this.electionElapsed = 0;
      if (this.checkQuorum) this.step(message({ type: MessageType.CheckQuorum, from: this.id }));
      // The transferee did not take over within an election timeout: resume normal service.
      if (this.role === 'leader' && this.leadTransferee !== NONE) {
        this.logger.info(`${this.id} aborted leadership transfer to ${this.leadTransferee}: it did not take over in time`);
        this.abortLeaderTransfer();
      }
    }
    if (this.role !== 'leader') return;
    if (this.heartbeatElapsed >= this.heartbeatTimeout) {
      this.heartbeatElapsed = 0;
      this.step(message({ type: MessageType.Beat, from: this.id }));
    }
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.electionTimeout + Math.floor(this.random() * this.electionTimeout);
  }

  // ---- roles ---------------------------------------------------------------------------------

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NONE;
    }
    this.lead = NONE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.tracker.resetVotes();
    // Our own entries count towards commit only once durable.
    this.tracker.resetProgress(this.log.lastIndex() + 1, this.id, this.log.lastStableIndex());
    this.pendingConfIndex = 0;
    this.leaving = false;
    this.uncommittedSize = 0;
    this.readOnly = new ReadOnly();
    // Held requests are not answered by a later leader: their senders time out and retry.
    this.heldReads = [];
  }

  private becomeFollower(term: number, lead: NodeId): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
    this.logger.info(`${this.id} became follower at term ${this.term}`);
  }

  private becomeCandidate(): void {
    if (this.role === 'leader') throw new Error('invalid transition: leader -> candidate');
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
    this.logger.info(`${this.id} became candidate at term ${this.term}`);
  }

  private becomePreCandidate(): void {
    if (this.role === 'leader') throw new Error('invalid transition: leader -> precandidate');
    // A pre-election changes neither term nor vote: that is the point of it.
    this.tracker.resetVotes();
    this.lead = NONE;
    this.role = 'precandidate';
    this.logger.info(`${this.id} became pre-candidate at term ${this.term}`);
  }

  private becomeLeader(): void {
    if (this.role === 'follower') throw new Error('invalid transition: follower -> leader');
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.tracker.progress(this.id)?.becomeReplicate();
    // Entries from earlier terms may hold a configuration change: no new one until they are applied.
    this.pendingConfIndex = this.log.lastIndex();
    // If one of them leaves us out, take no writes (as when we propose our own removal): once it
    // commits we step down, and entries only we hold would keep the remaining voters from winning
    // our vote, while as a learner we cannot campaign ourselves.
    this.leaving = this.leftOutByUnappliedChanges();
    // The no-op of the new term: committing it commits everything before it (Raft §5.4.2).
    this.appendEntries([{ term: 0, index: 0, type: EntryType.Normal, data: new Uint8Array() }]);
    this.logger.info(`${this.id} became leader at term ${this.term}`);
  }

  /** Can campaign: a voter of its own configuration, not waiting for a snapshot to be applied. */
  private promotable(): boolean {
    const pr = this.tracker.progress(this.id);
    return pr !== undefined && !pr.isLearner && this.log.pendingSnapshot() === undefined;
  }

  /** Whether the configuration changes in our log past the applied index leave us out of the voters. */
  private leftOutByUnappliedChanges(): boolean {
    let config = this.tracker.config;
    let changed = false;
    let lo = this.log.applied + 1;
    const hi = this.log.lastIndex() + 1;
    while (lo < hi) {
      const page = this.log.slice(lo, hi, this.maxMsgSize);
      for (const e of page) {
        if (e.type !== EntryType.ConfChange) continue;
        try {
          config = changeConfState(config, decodeConfChange(e.data));
          changed = true;
        } catch (err) {
          if (!(err instanceof ConfChangeError)) throw err; // refused when applied, too
        }
      }
      lo += page.length;
    }
    return changed && !config.voters.includes(this.id);
  }

  /** Whether committed but unapplied entries hold a configuration change (the config is about to change). */
  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    let lo = this.log.applied + 1;
    const hi = this.log.committed + 1;
    while (lo < hi) {
      const page = this.log.slice(lo, hi, this.maxMsgSize);
      if (page.some((e) => e.type === EntryType.ConfChange)) return true;
      lo += page.length;
    }
    return false;
  }

  // ---- elections -----------------------------------------------------------------------------

  private hup(kind: CampaignKind): void {
    if (this.role === 'leader') {
      this.logger.debug(`${this.id} ignoring Hup: already leader`);
      return;
    }
    if (!this.promotable()) {
      this.logger.warn(`${this.id} is not a voter of its configuration (or awaits a snapshot) and cannot campaign`);
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      this.logger.warn(`${this.id} cannot campaign: committed configuration changes are not applied yet`);
      return;
    }
    this.campaign(kind);
  }

  private campaign(kind: CampaignKind): void {
    let voteType: MessageType;
    let term: number;
    if (kind === 'preElection') {
      this.becomePreCandidate();
      voteType = MessageType.PreVote;
      // Ask for the term we would campaign in, without moving to it.
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = MessageType.Vote;
      term = this.term;
    }
    if (this.poll(this.id, voteType, true) === 'won') {
      // The only voter.
      if (kind === 'preElection') this.campaign('election');
      else this.winElection();
      return;
    }
    const context = kind === 'transfer' ? CAMPAIGN_TRANSFER : undefined;
    for (const id of this.tracker.voterIds()) {
      if (id === this.id) continue;
      this.send(
        message({ type: voteType, to: id, term, index: this.log.lastIndex(), logTerm: this.log.lastTerm(), context }),
      );
    }
  }

  private poll(from: NodeId, type: MessageType, granted: boolean) {
    this.tracker.recordVote(from, granted);
    const tally = this.tracker.tallyVotes();
    this.logger.debug(
      `${this.id} has ${tally.granted} ${type} votes and ${tally.rejected} rejections at term ${this.term}`,
    );
    return tally.result;
  }

  private winElection(): void {
    this.becomeLeader();
    this.bcastAppend();
  }

  private handleVoteRequest(m: Message): void {
    const canVote =
      // A repeat of the vote already cast,
      this.vote === m.from ||
      // or no vote yet and no leader known in this term,
      (this.vote === NONE && this.lead === NONE) ||
      // or a pre-vote for a future term (which changes nothing here).
      (m.type === MessageType.PreVote && m.term > this.term);
    const responseType = voteResponseType(m.type);
    if (canVote && this.log.isUpToDate(m.index, m.logTerm)) {
      // A granted pre-vote answers with the candidate's future term so it is not mistaken for stale.
      this.send(message({ type: responseType, to: m.from, term: m.term }));
      if (m.type === MessageType.Vote) {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(message({ type: responseType, to: m.from, term: this.term, reject: true }));
    }
  }

  // ---- messages ------------------------------------------------------------------------------

  step(m: Message): void {
    if (m.term === 0) {
      // A local message (or a forwarded ReadIndex): no term to compare.
    } else if (m.term > this.term) {
      if (m.type === MessageType.Vote || m.type === MessageType.PreVote) {
        const force = bytesEqual(m.context, CAMPAIGN_TRANSFER);
        const inLease = this.checkQuorum && this.lead !== NONE && this.electionElapsed < this.electionTimeout;
        if (!force && inLease) {
          // We heard from a live leader within the election timeout: this candidate is the one cut off.
          this.logger.info(`${this.id} ignoring ${m.type} from ${m.from} at term ${m.term}: leader ${this.lead} is in lease`);
          return;
        }
      }
      if (m.type === MessageType.PreVote || (m.type === MessageType.PreVoteResp && !m.reject)) {
        // Pre-votes never change terms; a granted pre-vote carries the candidate's future term.
      } else {
        const fromLeader = m.type === MessageType.App || m.type === MessageType.Heartbeat || m.type === MessageType.Snap;
        this.becomeFollower(m.term, fromLeader ? m.from : NONE);
      }
    } else if (m.term < this.term) {
      if ((this.checkQuorum || this.preVote) && (m.type === MessageType.Heartbeat || m.type === MessageType.App)) {
        // A stale leader (e.g. back from a partition) would otherwise never learn the newer term,
        // since with checkQuorum/preVote we will not disrupt it by campaigning.
        this.send(message({ type: MessageType.AppResp, to: m.from }));
      } else if (m.type === MessageType.PreVote) {
        this.send(message({ type: MessageType.PreVoteResp, to: m.from, term: this.term, reject: true }));
      }
      return;
    }

    switch (m.type) {
      case MessageType.Hup:
        this.hup(this.preVote ? 'preElection' : 'election');
        return;
      case MessageType.Vote:
      case MessageType.PreVote:
        this.handleVoteRequest(m);
        return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        return;
      case 'candidate':
      case 'precandidate':
        this.stepCandidate(m);
        return;
      case 'follower':
        this.stepFollower(m);
        return;
    }
  }

  private stepLeader(m: Message): void {
    switch (m.type) {
      case MessageType.Beat:
        this.bcastHeartbeat();
        return;
      case MessageType.CheckQuorum:
        if (!this.tracker.quorumActive(this.id)) {
          this.logger.warn(`${this.id} stepped down at term ${this.term}: no quorum heard within an election timeout`);
          this.becomeFollower(this.term, NONE);
          return;
        }
        for (const id of this.tracker.ids()) {
          if (id !== this.id) this.tracker.progress(id)!.recentActive = false;
        }
        return;
      case MessageType.Propose:
        this.appendProposal(m.entries);
        return;
      case MessageType.ReadIndex:
        this.handleReadIndex(m);
        return;
    }

    const pr = this.tracker.progress(m.from);
    if (!pr) {
      this.logger.debug(`${this.id} ignoring ${m.type} from ${m.from}: not a member`);
      return;
    }
    switch (m.type) {
      case MessageType.AppResp: {
        pr.recentActive = true;
        if (m.reject) {
          // The follower's hint is (index, term) of its log; skip everything that cannot match it.
          const probeFrom = m.logTerm > 0 ? this.log.findConflictByTerm(m.rejectHint, m.logTerm).index : m.rejectHint;
          if (pr.maybeDecrTo(m.index, probeFrom)) {
            if (pr.state === 'replicate') pr.becomeProbe();
            this.sendAppend(m.from);
          }
          return;
        }
        const wasPaused = pr.isPaused();
        // In probe state an ack of an already-known match still confirms where the follower is.
        if (!pr.maybeUpdate(m.index) && !(pr.match === m.index && pr.state === 'probe')) return;
        if (pr.state === 'probe') {
          pr.becomeReplicate();
        } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
          // The follower caught up past the snapshot (or got it): replicate from its match.
          pr.becomeProbe();
          pr.becomeReplicate();
        } else if (pr.state === 'replicate') {
          pr.inflights.freeLE(m.index);
        }
        if (this.maybeCommit()) {
          this.commitMoved();
        } else if (wasPaused) {
          // It may have missed the commit index while paused.
          this.sendAppend(m.from);
        }
        // The window may have room for several messages now.
        while (this.maybeSendAppend(m.from, false));
        if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) {
          this.logger.info(`${this.id} sent TimeoutNow to ${m.from}: its log caught up`);
          this.sendTimeoutNow(m.from);
        }
        return;
      }
      case MessageType.HeartbeatResp: {
        pr.recentActive = true;
        pr.msgAppFlowPaused = false;
        // Even with a full window this sends an (empty) App: it recovers from all inflight Apps being lost.
        if (pr.match < this.log.lastIndex() || pr.state === 'probe') this.sendAppend(m.from);
        if (this.readOnlyOption !== 'safe' || !m.context || m.context.length === 0) return;
        this.readOnly.recvAck(m.from, m.context);
        this.releaseConfirmedReads();
        return;
      }
      case MessageType.SnapStatus:
        if (pr.state !== 'snapshot') return;
        if (m.reject) {
          // The snapshot never arrived: the follower does not have it.
          pr.pendingSnapshot = 0;
          this.logger.info(`${this.id} snapshot to ${m.from} failed; probing again`);
        }
        pr.becomeProbe();
        // Wait for a heartbeat response before probing: the follower may still be unreachable.
        pr.msgAppFlowPaused = true;
        return;
      case MessageType.Unreachable:
        // Optimistic pipelining probably lost messages: fall back to one probe at a time.
        if (pr.state === 'replicate') pr.becomeProbe();
        return;
      case MessageType.TransferLeader: {
        const transferee = m.from;
        if (pr.isLearner) {
          this.logger.info(`${this.id} ignoring leadership transfer to learner ${transferee}`);
          return;
        }
        if (this.leadTransferee !== NONE) {
          if (this.leadTransferee === transferee) return;
          this.abortLeaderTransfer();
        }
        if (transferee === this.id) return;
        // The transfer must finish within an election timeout.
        this.electionElapsed = 0;
        this.leadTransferee = transferee;
        this.logger.info(`${this.id} transferring leadership to ${transferee} at term ${this.term}`);
        if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(transferee);
        else this.sendAppend(transferee);
        return;
      }
    }
  }

  private stepCandidate(m: Message): void {
    const responseType = this.role === 'precandidate' ? MessageType.PreVoteResp : MessageType.VoteResp;
    switch (m.type) {
      case MessageType.Propose:
        throw new ProposalRejected(`node ${this.id} is campaigning (term ${this.term}); no leader is known yet, retry shortly`);
      case MessageType.App:
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case responseType: {
        const result = this.poll(m.from, m.type, !m.reject);
        if (result === 'won') {
          if (this.role === 'precandidate') this.campaign('election');
          else this.winElection();
        } else if (result === 'lost') {
          // Lost in our own term (a rejection carrying a higher term already made us its follower).
          this.becomeFollower(this.term, NONE);
        }
        return;
      }
    }
  }

  private stepFollower(m: Message): void {
    switch (m.type) {
      case MessageType.Propose:
        throw new ProposalRejected(
          this.lead === NONE
            ? `node ${this.id} is not the leader and knows no leader (term ${this.term}); retry after an election`
            : `node ${this.id} is not the leader; send proposals to the leader, node ${this.lead}`,
        );
      case MessageType.App:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case MessageType.Heartbeat:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case MessageType.Snap:
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case MessageType.TransferLeader:
      case MessageType.ReadIndex:
        if (m.type === MessageType.TransferLeader && m.from !== this.id) {
          this.logger.info(`${this.id} dropping a transfer to ${m.from}: only the transferee itself forwards one`);
          return;
        }
        if (this.lead === NONE) {
          this.logger.info(`${this.id} dropping ${m.type}: no leader at term ${this.term}`);
          return;
        }
        this.send({ ...m, to: this.lead, term: 0 });
        return;
      case MessageType.TimeoutNow:
        this.logger.info(`${this.id} received TimeoutNow from ${m.from}: campaigning to take over leadership`);
        // Bypasses pre-vote, and voters honour it despite their lease: the leader asked for it.
        this.hup('transfer');
        return;
      case MessageType.ReadIndexResp:
        this.readStates.push({ index: m.index, context: m.context ?? new Uint8Array() });
        return;
    }
  }

  // ---- replication: follower side ---------------------------------------------------------

  private handleAppendEntries(m: Message): void {
    if (m.index < this.log.committed) {
      // Everything up to our commit index matches the leader's log (Log Matching), so say so.
      this.send(message({ type: MessageType.AppResp, to: m.from, index: this.log.committed }));
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(message({ type: MessageType.AppResp, to: m.from, index: lastNew }));
      return;
    }
    // Mismatch at m.index: hint the last entry that could match, one term at a time (etcd's findConflictByTerm).
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.logger.debug(`${this.id} rejected App at ${m.logTerm}/${m.index} from ${m.from}; hint ${hint.term}/${hint.index}`);
    this.send(
      message({
        type: MessageType.AppResp,
        to: m.from,
        index: m.index,
        reject: true,
        rejectHint: hint.index,
        logTerm: hint.term,
      }),
    );
  }

  private handleHeartbeat(m: Message): void {
    this.log.commitTo(m.commit);
    this.send(message({ type: MessageType.HeartbeatResp, to: m.from, context: m.context }));
  }

  private handleSnapshot(m: Message): void {
    const snapshot = m.snapshot;
    if (!snapshot) {
      this.logger.warn(`${this.id} ignoring Snap without a snapshot from ${m.from}`);
      return;
    }
    const restored = this.restore(snapshot);
    this.send(
      message({ type: MessageType.AppResp, to: m.from, index: restored ? this.log.lastIndex() : this.log.committed }),
    );
  }

  /** Install a snapshot from the leader; false when it brings nothing new. */
  private restore(s: Snapshot): boolean {
    const { index, term, confState } = s.metadata;
    if (index <= this.log.committed) return false;
    // A snapshot whose configuration lacks us is still accepted: a node being added receives the
    // leader's latest snapshot, which may predate its own addition; the entries after it add us.
    // Refusing it would leave the new node (and a quorum that counts it) stuck forever.
    if (this.log.matchTerm(index, term)) {
      // We already have the entry: only the commit index moves.
      this.log.commitTo(index);
      return false;
    }
    this.logger.info(`${this.id} restoring snapshot at ${term}/${index}`);
    this.log.restore(s);
    this.tracker.setConfig(confState, this.log.lastIndex());
    return true;
  }

  // ---- replication: leader side -----------------------------------------------------------

  private appendEntries(entries: Entry[]): boolean {
    const size = entriesSize(entries);
    // Always accept something when nothing is pending, so one huge proposal cannot block forever.
    if (this.uncommittedSize > 0 && size > 0 && this.uncommittedSize + size > this.maxUncommittedSize) return false;
    this.uncommittedSize += size;
    const last = this.log.lastIndex();
    this.log.append(entries.map((e, i) => ({ ...e, term: this.term, index: last + 1 + i })));
    return true;
  }

  /**
   * TEACHING ONLY: never called by raftd, the console's cluster drivers or any production path.
   * Appends a configuration change on this leader WITHOUT the checks that keep membership changes
   * safe (one change at a time, the previous one applied; the leader has committed in its term).
   * The guided scenarios (core/scenarios) use it to show the split brain those checks prevent.
   */
  proposeConfChangeUnsafe(data: Uint8Array): void {
    if (this.role !== 'leader') throw new ProposalRejected(`node ${this.id} is not the leader (term ${this.term})`);
    this.appendProposal([{ term: 0, index: 0, type: EntryType.ConfChange, data }], false);
  }

  private appendProposal(entries: Entry[], checked = true): void {
    if (entries.length === 0) throw new ProposalRejected('a proposal needs at least one entry');
    if (this.leadTransferee !== NONE) {
      throw new ProposalRejected(
        `leadership is being transferred from ${this.id} to ${this.leadTransferee}; retry with the new leader`,
      );
    }
    if (this.leaving && entries.some((e) => e.type !== EntryType.ConfChange)) {
      throw new ProposalRejected(`${this.id} is leaving the configuration and accepts no more writes; retry with the next leader`);
    }
    const firstIndex = this.log.lastIndex() + 1;
    let confIndex = 0;
    let leaving = this.leaving;
    entries.forEach((e, i) => {
      if (e.type !== EntryType.ConfChange) return;
      const reason = !checked ? undefined : confIndex > 0 ? 'only one configuration change can be proposed at a time' : this.confChangeRefusal(e.data);
      if (reason) throw new ProposalRejected(reason);
      confIndex = firstIndex + i;
      leaving = !changeConfState(this.tracker.config, decodeConfChange(e.data)).voters.includes(this.id);
    });
    if (!this.appendEntries(entries)) {
      throw new ProposalRejected(
        `too much uncommitted data (${this.uncommittedSize} bytes, limit ${this.maxUncommittedSize}); retry once it commits`,
      );
    }
    if (confIndex > 0) {
      this.pendingConfIndex = confIndex;
      this.leaving = leaving;
    }
    this.bcastAppend();
  }

  /** Why the configuration change encoded in `data` cannot be proposed now, if it cannot. */
  private confChangeRefusal(data: Uint8Array): string | undefined {
    let cc: ConfChange;
    try {
      cc = decodeConfChange(data);
    } catch (err) {
      return (err as Error).message;
    }
    if (this.pendingConfIndex > this.log.applied) {
      return `a configuration change may still be pending (entries up to ${this.pendingConfIndex} are not applied yet); retry once it is applied`;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Ongaro's 2015 fix of single-server changes: an older leader's uncommitted change could otherwise survive.
      return `leader ${this.id} has not yet committed an entry of its term ${this.term}; retry shortly`;
    }
    try {
      changeConfState(this.tracker.config, cc);
    } catch (err) {
      if (err instanceof ConfChangeError) return err.message;
      throw err;
    }
    return undefined;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termIfKnown(this.log.committed) === this.term;
  }

  private maybeCommit(): boolean {
    // Only an entry of the current term is committed by counting replicas (Raft §5.4.2, Figure 8).
    return this.log.maybeCommit(this.tracker.committed(), this.term);
  }

  private sendAppend(to: NodeId): void {
    this.maybeSendAppend(to, true);
  }

  /** Send `to` the entries from its next index (or a snapshot). False when nothing was sent. */
  private maybeSendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress(to);
    if (!pr || pr.isPaused()) return false;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let entries: Entry[] = [];
    try {
      prevTerm = this.log.term(prevIndex);
      // With a full window only an empty App goes out, to learn where the follower is.
      if (pr.state !== 'replicate' || !pr.inflights.full()) entries = this.log.entriesFrom(pr.next, this.maxMsgSize);
    } catch (err) {
      if (!(err instanceof CompactedError)) throw err;
      // What the follower needs next was compacted.
      return this.maybeSendSnapshot(to);
    }
    if (entries.length === 0 && !sendIfEmpty) return false;
    this.send(
      message({
        type: MessageType.App,
        to,
        index: prevIndex,
        logTerm: prevTerm,
        entries,
        commit: this.log.committed,
      }),
    );
    pr.sentEntries(entries.length);
    return true;
  }

  private maybeSendSnapshot(to: NodeId): boolean {
    const pr = this.tracker.progress(to)!;
    if (!pr.recentActive) {
      this.logger.debug(`${this.id} not sending a snapshot to ${to}: not recently active`);
      return false;
    }
    const snapshot = this.log.snapshot();
    if (snapshot.metadata.index === 0) throw new Error(`${this.id} needs a snapshot for ${to} but storage has none`);
    this.logger.info(`${this.id} sending snapshot ${snapshot.metadata.term}/${snapshot.metadata.index} to ${to}`);
    pr.becomeSnapshot(snapshot.metadata.index);
    this.send(message({ type: MessageType.Snap, to, snapshot }));
    return true;
  }

  /** The commit index moved: tell the followers now, or (lazyCommit) with entries or the next heartbeat. */
  private commitMoved(): void {
    this.releaseHeldReads();
    if (!this.lazyCommit) return this.bcastAppend();
    for (const id of this.tracker.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
  }

  private bcastAppend(): void {
    for (const id of this.tracker.ids()) if (id !== this.id) this.sendAppend(id);
  }

  private bcastHeartbeat(context = this.readOnly.heartbeatContext()): void {
    for (const id of this.tracker.ids()) {
      if (id === this.id) continue;
      // Never tell a follower to commit past what it is known to have.
      const commit = Math.min(this.tracker.progress(id)!.match, this.log.committed);
      this.send(message({ type: MessageType.Heartbeat, to: id, commit, context }));
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.send(message({ type: MessageType.TimeoutNow, to }));
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NONE;
  }

  // ---- reads ---------------------------------------------------------------------------------

  private handleReadIndex(m: Message): void {
    if (this.queueReadIndex(m)) this.bcastHeartbeat();
  }

  /** Answer, hold or queue a request; true when it waits for a heartbeat round. */
  private queueReadIndex(m: Message): boolean {
    if (this.heldReads.length + this.readOnly.size >= MAX_PENDING_READS) {
      this.logger.debug(`${this.id} dropping ReadIndex from ${m.from}: ${MAX_PENDING_READS} reads pending`);
      return false;
    }
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the last leader's until our no-op commits: answered right after that.
      this.heldReads.push(m);
      return false;
    }
    if (this.tracker.isSingleton(this.id) || this.readOnlyOption === 'lease') {
      this.answerReadIndex(m, this.log.committed);
      return false;
    }
    this.readOnly.addRequest(this.log.committed, m);
    this.readOnly.ackAll(this.id);
    return true;
  }

  /** Our first commit of the term: the held requests are served now, in arrival order. */
  private releaseHeldReads(): void {
    if (this.heldReads.length === 0 || !this.committedEntryInCurrentTerm()) return;
    const held = this.heldReads;
    this.heldReads = [];
    let queued = false;
    for (const m of held) queued = this.queueReadIndex(m) || queued;
    if (queued) this.bcastHeartbeat();
  }

  private releaseConfirmedReads(): void {
    for (const read of this.readOnly.maybeAdvance(this.tracker.config)) this.answerReadIndex(read.request, read.index);
  }

  private answerReadIndex(request: Message, index: number): void {
    const context = request.context ?? new Uint8Array();
    if (request.from === NONE || request.from === this.id) {
      this.readStates.push({ index, context });
    } else {
      this.send(message({ type: MessageType.ReadIndexResp, to: request.from, index, context }));
    }
  }

  // ---- driver feedback ------------------------------------------------------------------------

  /** The driver made entries up to (index, term) durable. */
  persistedTo(index: number, term: number): void {
    this.log.stableTo(index, term);
    if (this.role !== 'leader') return;
    const pr = this.tracker.progress(this.id);
    // A term mismatch means the entries were replaced before they became durable.
    if (pr && this.log.matchTerm(index, term) && pr.maybeUpdate(index) && this.maybeCommit()) this.commitMoved();
  }

  /** The driver applied committed entries up to `index` (of `size` data bytes). */
  appliedTo(index: number, size: number): void {
    this.log.appliedTo(index);
    if (this.role !== 'leader') return;
    this.uncommittedSize = Math.max(0, this.uncommittedSize - size);
    this.maybeLeaveJoint();
  }

  /**
   * In a joint configuration marked auto-leave, once it is applied, propose leaving it. Refused (a
   * transfer in progress, nothing committed in this term yet) means trying again on the next apply
   * or heartbeat tick: not on applies alone, as none may come.
   */
  private maybeLeaveJoint(): void {
    if (this.tracker.config.autoLeave && this.log.applied >= this.pendingConfIndex) {
      try {
        this.appendProposal([{ term: 0, index: 0, type: EntryType.ConfChange, data: encodeConfChange({ changes: [] }) }]);
        const { voters, votersOutgoing } = this.tracker.config;
        this.logger.info(`${this.id} proposed leaving the joint configuration (${voters.join(',')})&&(${votersOutgoing.join(',')})`);
      } catch (err) {
        if (!(err instanceof ProposalRejected)) throw err;
        this.logger.debug(`${this.id} not leaving the joint configuration yet: ${err.reason}`);
      }
    }
  }

  /** The driver applied a committed ConfChange entry. */
  applyConfChange(cc: ConfChange): ConfState {
    let next: ConfState;
    try {
      next = changeConfState(this.tracker.config, cc);
    } catch (err) {
      if (!(err instanceof ConfChangeError)) throw err;
      // Every node applies the same entries and so skips the same ones: configurations stay in agreement.
      this.logger.warn(`${this.id} skipped a committed configuration change: ${err.message}`);
      return this.tracker.config;
    }
    this.tracker.setConfig(next, this.log.lastIndex());
    const self = this.tracker.progress(this.id);
    if (this.role === 'leader' && (!self || self.isLearner)) {
      // Removed (or demoted): tell the others what is committed, then stop leading; they elect a successor.
      this.bcastHeartbeat();
      this.logger.info(`${this.id} stepped down: no longer a voter of the configuration`);
      this.becomeFollower(this.term, NONE);
      return next;
    }
    if (this.role !== 'leader') return next;
    // Fewer voters may confirm pending reads already (or, down to us alone, no heartbeat would).
    this.releaseConfirmedReads();
    // The new configuration may commit more (e.g. fewer voters), and newcomers should not wait for a heartbeat.
    if (this.maybeCommit()) this.commitMoved();
    else for (const id of this.tracker.ids()) if (id !== this.id) this.maybeSendAppend(id, false);
    if (this.leadTransferee !== NONE && !this.tracker.isVoter(this.leadTransferee)) this.abortLeaderTransfer();
    return next;
  }

  // ---- output ---------------------------------------------------------------------------------

  /** Queue `m`, a fresh object that is ours to complete. */
  private send(m: Message): void {
    if (m.from === NONE) m.from = this.id;
    const isVoteTraffic =
      m.type === MessageType.Vote ||
      m.type === MessageType.VoteResp ||
      m.type === MessageType.PreVote ||
      m.type === MessageType.PreVoteResp;
    if (isVoteTraffic) {
      if (m.term === 0) throw new Error(`${m.type} must carry a term`);
    } else if (m.type !== MessageType.ReadIndex && m.type !== MessageType.TransferLeader) {
      // Forwarded ReadIndex/TransferLeader requests are term-less, like local ones.
      m.term = this.term;
    }
    this.msgs.push(m);
  }

  /**
   * Hands out the queued messages. Each proposal queues its own App to every follower; consecutive
   * Apps to one follower that continue each other are sent as one, which the follower handles
   * exactly as the sequence (same checks, same resulting log and commit) with one response.
   */
  takeMessages(): Message[] {
    const queued = this.msgs;
    this.msgs = [];
    if (queued.length < 2) return queued;
    const out: Message[] = [];
    const lastTo = new Map<NodeId, { message: Message; bytes: number }>();
    for (const m of queued) {
      const last = lastTo.get(m.to);
      if (m.type === MessageType.App && last && canExtend(last.message, m)) {
        const bytes = last.bytes + entriesSize(m.entries);
        if (bytes <= this.maxMsgSize) {
          last.message.entries = last.message.entries.concat(m.entries);
          last.message.commit = m.commit;
          last.bytes = bytes;
          continue;
        }
      }
      out.push(m);
      lastTo.set(m.to, { message: m, bytes: m.type === MessageType.App ? entriesSize(m.entries) : 0 });
    }
    return out;
  }

  status(): Status {
    const status: Status = {
      id: this.id,
      hardState: this.hardState(),
      softState: this.softState(),
      applied: this.log.applied,
      lastIndex: this.log.lastIndex(),
      firstIndex: this.log.firstIndex(),
      config: this.tracker.config,
      leadTransferee: this.leadTransferee,
      electionElapsed: this.electionElapsed,
      randomizedElectionTimeout: this.randomizedElectionTimeout,
    };
    if (this.role === 'leader') status.progress = this.tracker.progressStatus();
    return status;
  }
}
