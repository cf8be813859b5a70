// How the nodes' own statuses fold into the cluster picture, the same for every kind of cluster
// (raftd-backed through the feed, embedded in-process): whose view of the membership counts,
// what each node is in it, and how far behind the leader it is.
import type { ClusterState, MembershipView, NodeView, Role } from '../shared/api.js';
import { clusterFacts } from '../shared/cluster-facts.js';
import type { Timeline } from './timeline.js';

interface RankedStatus {
  role: Role;
  term: number;
  commitIndex: number;
}

/** The status to trust for membership: the leader's, else the highest term, then the most committed. */
export function mostAuthoritative<S extends RankedStatus>(statuses: readonly S[]): S | undefined {
  return [...statuses].sort((a, b) => Number(b.role === 'leader') - Number(a.role === 'leader') || b.term - a.term || b.commitIndex - a.commitIndex)[0];
}

/** The configuration a node reports; with no node to ask, every defined node is taken as a voter. */
export function membersFrom(conf: MembershipView | undefined, definedIds: string[]): MembershipView {
  return conf ? { voters: conf.voters, votersOutgoing: conf.votersOutgoing, learners: conf.learners } : { voters: definedIds, votersOutgoing: [], learners: [] };
}

export { membershipOf } from '../shared/cluster-facts.js';


/** The state every kind of cluster reports: its nodes and configuration, with the leader and term the timeline settles on. */
export function clusterState(
  identity: Pick<ClusterState, 'clusterId' | 'name' | 'kind' | 'capabilities'>,
  timeline: Timeline,
  members: MembershipView,
  nodes: NodeView[],
  partitions: string[][],
): ClusterState {
  const { leader, term } = timeline.observe(nodes, members);
  return {
    ...identity,
    at: Date.now(),
    leader,
    term,
    members,
    nodes,
    timeline: timeline.list(),
    ...(partitions.length && { partitions }),
    facts: clusterFacts({ leader, members, nodes }),
  };
}
