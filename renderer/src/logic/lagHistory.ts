// Replication lag over time per node, sampled from each pushed cluster state.
import type { ClusterState } from '../../../electron/shared/api';

export interface LagSample {
  at: number;
  /** null while unknown (the node or the leader is down): a gap in the chart, not a number. */
  lag: number | null;
}

export type LagHistory = Record<string, LagSample[]>;

export const LAG_HISTORY_LIMIT = 120;

export function recordLag(history: LagHistory, state: ClusterState, limit = LAG_HISTORY_LIMIT): LagHistory {
  const next: LagHistory = {};
  for (const node of state.nodes) {
    const samples = history[node.id] ?? [];
    const last = samples[samples.length - 1];
    // A repeated push of the same moment adds nothing.
    if (last && last.at >= state.at) {
      next[node.id] = samples;
      continue;
    }
    const appended = [...samples, { at: state.at, lag: state.facts.lag[node.id] ?? null }];
    next[node.id] = appended.length > limit ? appended.slice(appended.length - limit) : appended;
  }
  return next;
}

export function maxLag(samples: readonly LagSample[]): number {
  return samples.reduce((m, s) => Math.max(m, s.lag ?? 0), 0);
}
