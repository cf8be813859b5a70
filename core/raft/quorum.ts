// Quorum arithmetic. A configuration is a set of voters; a joint configuration (C_old,new)
// needs a majority of each of its two halves. Pure functions, no state.
import type { ConfState, NodeId } from './types.js';

export type VoteResult = 'pending' | 'lost' | 'won';

/** Votes needed for a majority of n voters. */
export function majoritySize(n: number): number {
  return Math.floor(n / 2) + 1;
}

/**
 * The largest index that a majority of voters has acknowledged.
 * An empty configuration returns Infinity so that it never limits the other half of a joint one.
 */
export function majorityCommittedIndex(
  voters: Iterable<NodeId>,
  acked: (id: NodeId) => number | undefined,
): number {
  const matches: number[] = [];
  for (const id of voters) matches.push(acked(id) ?? 0);
  if (matches.length === 0) return Infinity;
  // Insertion sort, highest first: a handful of voters, on every acknowledgement. Array.prototype.sort
  // with a comparator allocated about 1.4 KB per call, a tenth of the leader's garbage per put.
  for (let i = 1; i < matches.length; i++) {
    const m = matches[i];
    let j = i - 1;
    for (; j >= 0 && matches[j] < m; j--) matches[j + 1] = matches[j];
    matches[j + 1] = m;
  }
  return matches[majoritySize(matches.length) - 1];
}

/** Missing votes count as pending: the result is 'lost' only once a majority can no longer be reached. */
export function majorityVoteResult(voters: Iterable<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let total = 0;
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    total++;
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  // An empty configuration agrees to everything, again so that it never decides a joint vote.
  if (total === 0) return 'won';
  const needed = majoritySize(total);
  if (granted >= needed) return 'won';
  if (granted + missing >= needed) return 'pending';
  return 'lost';
}

type Halves = Pick<ConfState, 'voters' | 'votersOutgoing'>;

export function jointCommittedIndex(config: Halves, acked: (id: NodeId) => number | undefined): number {
  return Math.min(
    majorityCommittedIndex(config.voters, acked),
    majorityCommittedIndex(config.votersOutgoing, acked),
  );
}

export function jointVoteResult(config: Halves, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  const incoming = majorityVoteResult(config.voters, votes);
  const outgoing = majorityVoteResult(config.votersOutgoing, votes);
  if (incoming === outgoing) return incoming;
  if (incoming === 'lost' || outgoing === 'lost') return 'lost';
  return 'pending';
}
