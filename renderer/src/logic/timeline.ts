// Turns the cluster's timeline events into what the term timeline draws:
// the term as a step line, who led when, every election with its outcome, membership changes and faults.
import type { ClusterState, TimelineEvent } from '../../../electron/shared/api';
import { formatClock, formatElapsed } from './format';

/**
 * The clock a cluster's timeline events are stamped with: simulated milliseconds for a cluster with a
 * simulated clock (embedded), wall-clock milliseconds otherwise. Axis, "now" and labels all use it.
 */
export type TimeBase = 'simulated' | 'wall';

export function timeBaseOf(state: Pick<ClusterState, 'clock'>): TimeBase {
  return state.clock ? 'simulated' : 'wall';
}

/** "Now" on the cluster's own clock. */
export function timelineNow(state: Pick<ClusterState, 'clock' | 'at'>): number {
  return state.clock ? state.clock.now : state.at;
}

/** Simulated time as time elapsed since the cluster started (+1:20.4); wall-clock time as the local time. */
export function formatTimelineTime(at: number, base: TimeBase): string {
  return base === 'simulated' ? formatElapsed(at) : formatClock(at);
}

export interface ElectionMark {
  at: number;
  term: number;
  /** won: a leader was elected in this term; failed: a later term started first; pending: still running. */
  outcome: 'won' | 'failed' | 'pending';
  leader?: string;
  label: string;
}

export interface LeaderSpan {
  from: number;
  to: number;
  term: number;
  leader: string;
}

export interface Marker {
  at: number;
  kind: 'membership' | 'fault';
  label: string;
}

export interface BuiltTimeline {
  termSteps: Array<[number, number]>;
  elections: ElectionMark[];
  leaders: LeaderSpan[];
  markers: Marker[];
  start: number;
  end: number;
  base: TimeBase;
}

export function sortEvents(events: readonly TimelineEvent[]): TimelineEvent[] {
  return [...events].sort((a, b) => a.at - b.at);
}

/** Merges a fresh batch into the history kept so far, dropping duplicates and keeping the newest `limit`. */
export function mergeEvents(kept: readonly TimelineEvent[], fresh: readonly TimelineEvent[], limit = 2000): TimelineEvent[] {
  const key = (e: TimelineEvent) => `${e.at}|${e.kind}|${e.term}|${e.leader}|${e.detail}`;
  const seen = new Set(kept.map(key));
  const merged = [...kept];
  for (const e of fresh) {
    if (seen.has(key(e))) continue;
    seen.add(key(e));
    merged.push(e);
  }
  const sorted = sortEvents(merged);
  return sorted.length > limit ? sorted.slice(sorted.length - limit) : sorted;
}

export function buildTimeline(events: readonly TimelineEvent[], now: number, base: TimeBase = 'wall'): BuiltTimeline {
  const sorted = sortEvents(events);
  const termSteps: Array<[number, number]> = [];
  const elections: ElectionMark[] = [];
  const leaders: LeaderSpan[] = [];
  const markers: Marker[] = [];
  let openLeader: LeaderSpan | undefined;
  const closeLeader = (at: number) => {
    if (openLeader) {
      openLeader.to = at;
      leaders.push(openLeader);
      openLeader = undefined;
    }
  };

  for (const e of sorted) {
    const lastTerm = termSteps.length ? termSteps[termSteps.length - 1][1] : undefined;
    if (e.term !== lastTerm && (lastTerm === undefined || e.term > lastTerm)) termSteps.push([e.at, e.term]);
    switch (e.kind) {
      case 'election-started':
        elections.push({ at: e.at, term: e.term, outcome: 'pending', label: `election for term ${e.term}` });
        break;
      case 'leader-elected': {
        closeLeader(e.at);
        openLeader = { from: e.at, to: now, term: e.term, leader: e.leader };
        const election = [...elections].reverse().find((x) => x.term === e.term);
        if (election) {
          election.outcome = 'won';
          election.leader = e.leader;
          election.label = `term ${e.term}: ${e.leader} elected`;
        }
        break;
      }
      case 'leader-lost':
        closeLeader(e.at);
        break;
      case 'membership':
      case 'fault':
        markers.push({ at: e.at, kind: e.kind, label: e.detail });
        break;
    }
  }
  closeLeader(now);
  // An election that never produced a leader and was overtaken by a later term failed (split vote, lost quorum).
  const maxTerm = termSteps.length ? termSteps[termSteps.length - 1][1] : 0;
  for (const election of elections) {
    if (election.outcome === 'pending' && election.term < maxTerm) {
      election.outcome = 'failed';
      election.label = `term ${election.term}: no leader elected`;
    }
  }
  if (termSteps.length) termSteps.push([now, maxTerm]);
  return {
    termSteps,
    elections,
    leaders,
    markers,
    start: sorted.length ? sorted[0].at : now,
    // An event stamped after the last state's "now" (a push in between) still fits on the axis.
    end: Math.max(now, sorted.length ? sorted[sorted.length - 1].at : now),
    base,
  };
}
