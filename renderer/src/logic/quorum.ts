// Majority arithmetic in words, for configurations the user is about to choose (a new cluster's size, a
// membership change, a joint change). The cluster's own quorum facts come from the backend (state.facts);
// both use the one majority rule in electron/shared/cluster-facts.ts.
import { failuresTolerated, majoritySize } from '../../../electron/shared/cluster-facts';
import { plural } from './format';

export { failuresTolerated, majoritySize };

export function describeMajority(voters: number): string {
  return `majority ${majoritySize(voters)} of ${voters}`;
}

/** "majority 3 of 5 → 4 of 6"; "majority stays 2 of 3" for a step that leaves the voters as they are (adding a learner). */
export function describeMajorityChange(before: number, after: number): string {
  if (before === after) return `majority stays ${majoritySize(before)} of ${before}`;
  return `majority ${majoritySize(before)} of ${before} → ${majoritySize(after)} of ${after}`;
}

/** What a cluster of `n` voters survives, for someone choosing its size. */
export function describeClusterSize(n: number): string {
  const tolerated = failuresTolerated(n);
  const base = `${describeMajority(n)}: survives ${plural(tolerated, 'failed node')}.`;
  // An even size needs one more vote than the odd size below it and survives no more failures.
  return n % 2 === 0 ? `${base} An even size survives no more failures than ${plural(n - 1, 'node')} ${n - 1 === 1 ? 'does' : 'do'}.` : base;
}

export interface OverlapExplanation {
  /** True when every majority of the old set shares a server with every majority of the new set. */
  overlaps: boolean;
  text: string;
}

/**
 * Why a direct switch from `oldVoters` to `newVoters` is (un)safe: two majorities must share a server,
 * which holds when their sizes add up to more than the servers involved.
 */
export function explainOverlap(oldVoters: readonly string[], newVoters: readonly string[]): OverlapExplanation {
  const union = new Set([...oldVoters, ...newVoters]).size;
  const a = majoritySize(oldVoters.length);
  const b = majoritySize(newVoters.length);
  const overlaps = a + b > union;
  const sum = `${a} + ${b} = ${a + b}`;
  const text = overlaps
    ? `${sum} > ${union} servers in total, so any old majority and any new majority share at least one server: ` +
      `two leaders can never win the same term while the change takes effect.`
    : `${sum} ≤ ${union} servers in total, so an old majority and a new majority could be disjoint and elect two ` +
      `leaders in the same term. Change one server at a time, or use joint consensus.`;
  return { overlaps, text };
}
