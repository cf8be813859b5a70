// Turns "which side is each node on" into the groups the fault API takes, or says why it cannot.
export type Assignment = Record<string, number>;

export type PartitionPlan = { ok: true; groups: string[][] } | { ok: false; reason: string };

export function partitionGroups(assignment: Assignment, nodeIds: readonly string[]): PartitionPlan {
  const sides = new Map<number, string[]>();
  for (const id of nodeIds) {
    const side = assignment[id] ?? 0;
    sides.set(side, [...(sides.get(side) ?? []), id]);
  }
  const groups = [...sides.entries()].sort((a, b) => a[0] - b[0]).map(([, ids]) => ids);
  if (groups.length < 2) return { ok: false, reason: 'Put at least one node on another side to cut the network.' };
  return { ok: true, groups };
}

/** Nodes a partition keeps from the leader: they hear nothing, so their last values only look like lag. */
export function cutOffFromLeader(partitions: readonly string[][] | undefined, leader: string): Set<string> {
  const leaderSide = partitions && partitions.length > 1 ? partitions.find((g) => g.includes(leader)) : undefined;
  return new Set(leaderSide ? partitions!.flat().filter((id) => !leaderSide.includes(id)) : []);
}

/** Which side of a proposed partition keeps a majority of voters: the shared rule. */
export { majoritySide } from '../../../electron/shared/cluster-facts';
