// The vocabulary of the consensus module. Plain data only: everything here can be
// serialized (msgpack) and sent between nodes or written to disk unchanged.

export type NodeId = string;

/** Index 0 / term 0 mean "nothing": the log starts at index 1. */
export const NONE = '';

export enum EntryType {
  /** Application data (or the empty no-op a new leader appends, data.length === 0). */
  Normal = 0,
  /** A membership change; data is an encoded ConfChange (see confChangeCodec in core/raft). */
  ConfChange = 1,
}

export interface Entry {
  term: number;
  index: number;
  type: EntryType;
  data: Uint8Array;
}

/** What must be on disk before any message that depends on it is sent. */
export interface HardState {
  term: number;
  /** Who this node voted for in `term`, NONE if nobody. */
  vote: NodeId;
  commit: number;
}

/**
 * A membership configuration. While `votersOutgoing` is non-empty the cluster is in
 * joint consensus (C_old,new): decisions need a majority of `voters` AND of `votersOutgoing`.
 */
export interface ConfState {
  voters: NodeId[];
  /** C_old while in a joint configuration, else empty. */
  votersOutgoing: NodeId[];
  learners: NodeId[];
  /** Voters of C_old that become learners once the joint configuration is left. */
  learnersNext: NodeId[];
  /** Leave the joint configuration automatically once it is committed. */
  autoLeave: boolean;
}

export type ConfChangeType = 'addVoter' | 'addLearner' | 'remove';

export interface ConfChangeSingle {
  type: ConfChangeType;
  id: NodeId;
}

/**
 * One membership change proposal.
 * - exactly one change and transition 'auto': applied directly (one server at a time);
 * - several changes, or transition 'joint': enter joint consensus, left automatically
 *   (transition 'auto'/'joint') or by an explicit empty change (transition 'explicit');
 * - no changes: leave the current joint configuration.
 * `context` is opaque to raft (raftd carries member addresses in it).
 */
export interface ConfChange {
  changes: ConfChangeSingle[];
  transition?: 'auto' | 'joint' | 'explicit';
  context?: Uint8Array;
}

export interface SnapshotMetadata {
  index: number;
  term: number;
  confState: ConfState;
}

export interface Snapshot {
  metadata: SnapshotMetadata;
  data: Uint8Array;
}

export enum MessageType {
  // Local messages: never sent over the network.
  Hup = 'Hup',
  Beat = 'Beat',
  Propose = 'Propose',
  CheckQuorum = 'CheckQuorum',
  // Network messages.
  App = 'App',
  AppResp = 'AppResp',
  Vote = 'Vote',
  VoteResp = 'VoteResp',
  PreVote = 'PreVote',
  PreVoteResp = 'PreVoteResp',
  Snap = 'Snap',
  Heartbeat = 'Heartbeat',
  HeartbeatResp = 'HeartbeatResp',
  TransferLeader = 'TransferLeader',
  TimeoutNow = 'TimeoutNow',
  ReadIndex = 'ReadIndex',
  ReadIndexResp = 'ReadIndexResp',
  /** Local: the transport could not reach `from`. */
  Unreachable = 'Unreachable',
  /** Local: a snapshot sent to `from` finished (reject=true when it failed). */
  SnapStatus = 'SnapStatus',
}

/** One message between nodes. Field meaning depends on type, as in etcd-io/raft. */
export interface Message {
  type: MessageType;
  from: NodeId;
  to: NodeId;
  term: number;
  /** App: term of the entry at `index` (prevLogTerm). Vote: last log term. AppResp reject: hint term. */
  logTerm: number;
  /** App: prevLogIndex. AppResp: highest index known to match (or the rejected index). Vote: last index. */
  index: number;
  entries: Entry[];
  commit: number;
  reject: boolean;
  /** AppResp reject: the follower's hint for fast backtracking (an index ≤ its last index). */
  rejectHint: number;
  snapshot?: Snapshot;
  /** ReadIndex / Heartbeat: the read request context; TimeoutNow etc. leave it empty. */
  context?: Uint8Array;
}

export type Role = 'follower' | 'candidate' | 'precandidate' | 'leader';

export interface SoftState {
  leader: NodeId;
  role: Role;
}

/** A linearizable read is safe to serve once appliedIndex >= index. */
export interface ReadState {
  index: number;
  context: Uint8Array;
}

/**
 * The hand-off from the state machine to whoever drives it. Handle in this order:
 * 1. persist hardState, entries (overwriting any conflicting suffix) and snapshot, durably;
 * 2. send messages;
 * 3. apply snapshot then committedEntries to the state machine;
 * then call advance(ready).
 */
export interface Ready {
  softState?: SoftState;
  hardState?: HardState;
  readStates: ReadState[];
  entries: Entry[];
  snapshot?: Snapshot;
  committedEntries: Entry[];
  messages: Message[];
  /**
   * False when nothing that must be fsynced changed (e.g. only commit advanced): then hardState
   * need not be written at all. True, with hardState, when committedEntries hold a configuration
   * change: the commit covering it must be durable before it is applied.
   */
  mustSync: boolean;
}

export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export interface ProgressStatus {
  match: number;
  next: number;
  state: ProgressState;
  isLearner: boolean;
  recentActive: boolean;
  inflight: number;
}

export interface Status {
  id: NodeId;
  hardState: HardState;
  softState: SoftState;
  applied: number;
  lastIndex: number;
  firstIndex: number;
  config: ConfState;
  /** Only on the leader. */
  progress?: Record<NodeId, ProgressStatus>;
  leadTransferee: NodeId;
  /** Ticks since the election timer was last reset, and this node's current randomized timeout (for the console). */
  electionElapsed?: number;
  randomizedElectionTimeout?: number;
}

/** The log as raft reads it: a synchronous view of what is already durable. */
export interface LogReader {
  initialState(): { hardState: HardState; confState: ConfState };
  /** Entries in [lo, hi), at most maxBytes of data in total but always at least one. */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** Term of the entry at i; throws CompactedError below firstIndex()-1, UnavailableError past lastIndex(). */
  term(i: number): number;
  /** Index of the first entry still in the log (snapshot.index + 1). */
  firstIndex(): number;
  lastIndex(): number;
  snapshot(): Snapshot;
}

export class CompactedError extends Error {
  constructor(index: number) {
    super(`log index ${index} is compacted`);
    this.name = 'CompactedError';
  }
}

export class UnavailableError extends Error {
  constructor(index: number) {
    super(`log index ${index} is not available yet`);
    this.name = 'UnavailableError';
  }
}

/** A request raft refused; `reason` says why in words a user can act on. */
export class ProposalRejected extends Error {
  constructor(public readonly reason: string) {
    super(reason);
    this.name = 'ProposalRejected';
  }
}

export interface RaftConfig {
  id: NodeId;
  /** Election timeout T in ticks: a follower campaigns after a random timeout in [T, 2T). */
  electionTick: number;
  heartbeatTick: number;
  storage: LogReader;
  /** Last index already applied to the state machine (on restart). */
  applied?: number;
  /** Maximum bytes of entry data in one App message. */
  maxSizePerMsg?: number;
  /** Maximum App messages in flight to one follower in replicate state. */
  maxInflightMsgs?: number;
  /** Maximum bytes of uncommitted entry data the leader accepts before refusing proposals. */
  maxUncommittedEntriesSize?: number;
  checkQuorum?: boolean;
  preVote?: boolean;
  /** 'safe': ReadIndex with a heartbeat round. 'lease': rely on the leader lease (requires checkQuorum). */
  readOnlyOption?: 'safe' | 'lease';
  /**
   * Followers learn a new commit index from their next App or heartbeat rather than from an App
   * sent just for it: under light load that App and its answer are half of all replication traffic.
   * Followers then apply up to a heartbeat interval later; nothing else changes.
   */
  lazyCommit?: boolean;
  /** Uniform in [0, 1); seeded in tests. The only source of randomness. */
  random: () => number;
  /** Log lines for humans; never required for correctness. */
  logger?: RaftLogger;
}

export interface RaftLogger {
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
}
