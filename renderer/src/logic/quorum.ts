// Majority arithmetic shown to the user before every membership step and fault.
import type { ClusterState, NodeView } from '../../../electron/shared/api';

export function majorityOf(voters: number): number {
  return Math.floor(voters / 2) + 1;
}

/** How many voters may fail while the rest still form a majority. */
export function faultTolerance(voters: number): number {
  return voters === 0 ? 0 : voters - majorityOf(voters);
}

export function describeMajority(voters: number): string {
  return `majority ${majorityOf(voters)} of ${voters}`;
}

/** "majority 3 of 5 → 4 of 6" */
export function describeMajorityChange(before: number, after: number): string {
  return `majority ${majorityOf(before)} of ${before} → ${majorityOf(after)} of ${after}`;
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
  const a = majorityOf(oldVoters.length);
  const b = majorityOf(newVoters.length);
  const overlaps = a + b > union;
  const sum = `${a} + ${b} = ${a + b}`;
  const text = overlaps
    ? `${sum} > ${union} servers in total, so any old majority and any new majority share at least one server: ` +
      `two leaders can never win the same term while the change takes effect.`
    : `${sum} ≤ ${union} servers in total, so an old majority and a new majority could be disjoint and elect two ` +
      `leaders in the same term. Change one server at a time, or use joint consensus.`;
  return { overlaps, text };
}

/** Voters the console can count on now versus those gone until someone restarts them. */
export interface QuorumStatus {
  voters: number;
  majority: number;
  up: string[];
  /** Paused or unreachable voters: they may come back by themselves (resume, heal). */
  suspended: string[];
  /** Killed, crashed or stopped voters: they stay down until restarted. */
  down: string[];
  hasQuorum: boolean;
  /** Even if every suspended voter came back, no majority could form. */
  lostForGood: boolean;
}

const goneStates = new Set(['killed', 'crashed', 'stopped']);

export function nodeIsUp(node: NodeView): boolean {
  return node.reachable && node.process === 'running';
}

export function quorumStatus(state: ClusterState): QuorumStatus {
  const voterIds = new Set(state.members.voters);
  const voters = state.nodes.filter((n) => voterIds.has(n.id));
  const up: string[] = [];
  const suspended: string[] = [];
  const down: string[] = [];
  for (const node of voters) {
    if (nodeIsUp(node)) up.push(node.id);
    else if (goneStates.has(node.process)) down.push(node.id);
    else suspended.push(node.id);
  }
  // Voters listed in the configuration but unknown to the console count as down.
  for (const id of voterIds) if (!voters.some((n) => n.id === id)) down.push(id);
  const majority = majorityOf(voterIds.size);
  return {
    voters: voterIds.size,
    majority,
    up,
    suspended,
    down,
    hasQuorum: up.length >= majority,
    lostForGood: voterIds.size > 0 && up.length + suspended.length < majority,
  };
}
