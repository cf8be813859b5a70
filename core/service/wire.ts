// What raftd serves, typed once: the bodies of GET /v1/status, /v1/members, /v1/log and
// /v1/log/entry. raftd builds them in core/service; the console imports these types, never copies them.
import type { NodeId, Role } from '../raft/types.js';

export interface MemberAddress {
  peer: string;
  client: string;
}

export interface MembersView {
  voters: NodeId[];
  /** C_old while joint; empty otherwise. */
  votersOutgoing: NodeId[];
  learners: NodeId[];
  addresses: Record<NodeId, MemberAddress>;
}

/** The leader's view of one follower's replication. */
export interface ProgressView {
  match: number;
  next: number;
  state: string;
}

export interface StatusView {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  leader: NodeId;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** First index still in the log; those below it are only in the snapshot. */
  firstIndex: number;
  snapshotIndex: number;
  members: MembersView;
  /** Leaders only. */
  progress?: Record<NodeId, ProgressView>;
  leadTransferee: NodeId;
  /** Peers whose traffic this node drops (fault injection). */
  droppedPeers: NodeId[];
  /** The key-value store's revision. */
  revision: number;
  /** Set when a storage failure stopped the node. */
  failure?: string;
}

/** One log entry as lists show it. */
export interface EntryView {
  index: number;
  term: number;
  type: 'normal' | 'noop' | 'config';
  summary: string;
}

export interface EntryDetail extends EntryView {
  /** Decoded content: a KV operation, a no-op, or a configuration change. */
  decoded: unknown;
}

export interface LogPage {
  firstIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  commitIndex: number;
  entries: EntryView[];
}
