// What the console concludes from a cluster's state (quorum, leadership, lag, who could take over),
// decided here once. The backend attaches the result to every ClusterState; the renderer shows it and
// decides nothing about safety itself. Pure functions; the majority rule is the consensus core's own.
import { majoritySize } from '../../core/raft/quorum.js';
import type { ClusterFacts, ClusterState, MembershipView, NodeView } from './api.js';

export { majoritySize };

/** Voters that may fail, out of `voters`, with a majority of them still up (all `voters` up to begin with). */
export function failuresTolerated(voters: number, up = voters): number {
  return voters === 0 ? 0 : Math.max(0, up - majoritySize(voters));
}

/** A node the console can count on now: running and answering. */
export function nodeIsUp(node: Pick<NodeView, 'reachable' | 'process'>): boolean {
  return node.reachable && node.process === 'running';
}

/** Killed, crashed or stopped: down until someone starts it again. */
const goneStates = new Set<NodeView['process']>(['killed', 'crashed', 'stopped']);

/** A voter of either half of a joint configuration counts as a voter. */
export function membershipOf(members: MembershipView, id: string): NodeView['membership'] {
  if (members.voters.includes(id) || members.votersOutgoing.includes(id)) return 'voter';
  return members.learners.includes(id) ? 'learner' : 'none';
}

/**
 * Entries `node`'s log is behind the leader's: the leader's last index minus the last index the node
 * holds. The leader's match index for it is a lower bound (0 right after an election, until the node
 * answers), the node's own last index what it reports; the larger counts. Null (unknown) when the node
 * or the leader cannot be asked now: a number for a node nobody can reach would be a guess.
 */
export function lagBehindLeader(
  leader: Pick<NodeView, 'lastIndex'> | undefined,
  node: Pick<NodeView, 'reachable' | 'process' | 'lastIndex' | 'matchIndex'>,
): number | null {
  if (!leader || !nodeIsUp(node)) return null;
  const held = Math.max(node.matchIndex ?? 0, Math.min(node.lastIndex, leader.lastIndex));
  return Math.max(0, leader.lastIndex - held);
}

/** The leader node itself when it is up and says it leads; undefined otherwise. */
function leaderNode(state: Pick<ClusterState, 'leader' | 'nodes'>): NodeView | undefined {
  return state.nodes.find((n) => n.id === state.leader && n.role === 'leader' && nodeIsUp(n));
}

interface Half {
  ids: string[];
  majority: number;
  up: number;
}

export function clusterFacts(state: Pick<ClusterState, 'leader' | 'members' | 'nodes'>): ClusterFacts {
  const byId = new Map(state.nodes.map((n) => [n.id, n]));
  const isUp = (id: string) => {
    const node = byId.get(id);
    return node !== undefined && nodeIsUp(node);
  };
  const { voters, votersOutgoing } = state.members;
  const allVoters = [...new Set([...voters, ...votersOutgoing])];
  const votersUp: string[] = [];
  const votersSuspended: string[] = [];
  const votersDown: string[] = [];
  for (const id of allVoters) {
    const node = byId.get(id);
    if (node && nodeIsUp(node)) votersUp.push(id);
    // A voter the console knows nothing of counts as down.
    else if (!node || goneStates.has(node.process)) votersDown.push(id);
    else votersSuspended.push(id);
  }

  // While joint, a decision needs a majority of each half (an empty half decides nothing).
  const halves: Half[] = [voters, votersOutgoing]
    .filter((ids) => ids.length > 0)
    .map((ids) => ({ ids, majority: majoritySize(ids.length), up: ids.filter(isUp).length }));
  const hasQuorum = halves.length > 0 && halves.every((h) => h.up >= h.majority);
  const quorumLostForGood = halves.some((h) => h.ids.filter((id) => isUp(id) || votersSuspended.includes(id)).length < h.majority);
  const tolerated = halves.length ? Math.min(...halves.map((h) => Math.max(0, h.up - h.majority))) : 0;

  const leader = leaderNode(state);
  const lag: Record<string, number | null> = {};
  for (const node of state.nodes) lag[node.id] = lagBehindLeader(leader, node);

  // Who could lead next: voters up now, the most of the log first (they need no catching up).
  const reach = (n: NodeView) => Math.max(n.matchIndex ?? 0, n.lastIndex);
  const takeoverOrder = state.nodes
    .filter((n) => nodeIsUp(n) && allVoters.includes(n.id))
    .sort((a, b) => reach(b) - reach(a))
    .map((n) => n.id);

  return {
    voters: voters.length,
    majority: voters.length ? majoritySize(voters.length) : 0,
    ...(votersOutgoing.length > 0 && { votersOutgoing: votersOutgoing.length, majorityOutgoing: majoritySize(votersOutgoing.length) }),
    votersUp,
    votersSuspended,
    votersDown,
    hasQuorum,
    quorumLostForGood,
    failuresTolerated: hasQuorum ? tolerated : 0,
    leadership: leader ? 'leader' : hasQuorum ? 'electing' : 'no-quorum',
    lag,
    takeoverOrder,
  };
}

/** The voter that should take over from `leaving`: up, with the most of the log; undefined when none is up. */
export function successorTo(facts: Pick<ClusterFacts, 'takeoverOrder'>, leaving: string): string | undefined {
  return facts.takeoverOrder.find((id) => id !== leaving);
}

/** Which side of a proposed partition can still elect a leader: the one holding a majority of the voters, if any. */
export function majoritySide(groups: readonly (readonly string[])[], voters: readonly string[]): number | undefined {
  const need = majoritySize(voters.length);
  const index = groups.findIndex((g) => g.filter((id) => voters.includes(id)).length >= need);
  return index === -1 ? undefined : index;
}
