// A node as the console shows it (NodeView), built one way for every kind of cluster from what is
// known of its process and the status it last reported.
import type { StatusView } from '../../core/service/wire.js';
import type { LogEntryView, MembershipView, NodeAction, NodeKind, NodeView, ProcessState } from '../shared/api.js';
import { actionsNow } from './cluster-driver.js';
import { membershipOf } from './cluster-view.js';

/** What a node reports of itself: raftd's /v1/status (StatusView), or an embedded RaftNode's status(), which also has its election timer. */
export type ReportedStatus = Pick<StatusView, 'role' | 'term' | 'vote' | 'leader' | 'commitIndex' | 'appliedIndex' | 'lastIndex' | 'snapshotIndex'> & {
  firstIndex?: number;
  electionElapsed?: number;
  randomizedElectionTimeout?: number;
};

/** The leader's own report, against which every node's replication is measured. */
export interface LeaderReport {
  lastIndex: number;
  progress?: Record<string, { match: number }>;
}

export interface NodeObservation {
  id: string;
  kind: NodeKind;
  process: ProcessState;
  /** The node answers now; when false, `status` is its last known report (or none). */
  reachable: boolean;
  lastSeen: number;
  error?: string;
  status?: ReportedStatus;
  logTail: LogEntryView[];
  /** The host profile whose link is down: the process is unknown then, whatever it was last. */
  hostUnreachable?: string;
}

/** `supported`: the node actions the cluster's driver can carry out (its capabilities). */
export function nodeView(o: NodeObservation, members: MembershipView, leader: LeaderReport | undefined, supported: readonly NodeAction[]): NodeView {
  const { id, status: s } = o;
  const match = leader?.progress?.[id]?.match;
  return {
    id,
    kind: o.kind,
    // A host the console cannot reach says nothing of its processes: unknown, never crashed or stopped.
    process: o.hostUnreachable ? 'unknown' : o.process,
    ...(o.hostUnreachable && { hostUnreachable: o.hostUnreachable }),
    reachable: o.reachable,
    lastSeen: o.lastSeen,
    ...(o.error && { error: o.error }),
    // Only a node that answers now can be said to lead: a dead leader is never shown leading.
    role: o.reachable && s ? s.role : 'unknown',
    membership: membershipOf(members, id),
    term: s?.term ?? 0,
    vote: s?.vote ?? '',
    leader: s?.leader ?? '',
    commitIndex: s?.commitIndex ?? 0,
    appliedIndex: s?.appliedIndex ?? 0,
    lastIndex: s?.lastIndex ?? 0,
    firstIndex: s?.firstIndex ?? (s?.snapshotIndex ?? 0) + 1,
    snapshotIndex: s?.snapshotIndex ?? 0,
    ...(match !== undefined && { matchIndex: match }),
    logTail: o.logTail,
    // Nothing reaches a node whose host is cut off: no action is offered until the link is back.
    actions: o.hostUnreachable ? [] : actionsNow(o.process, supported),
    ...(s?.electionElapsed !== undefined && { electionElapsed: s.electionElapsed }),
    ...(s?.randomizedElectionTimeout !== undefined && { electionTimeout: s.randomizedElectionTimeout }),
  };
}
