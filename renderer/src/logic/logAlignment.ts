// Lines up every node's log by index and decides, per cell, what the inspector shows:
// an entry (committed or not, conflicting or not), a compacted slot, or nothing.
import type { LogEntryView } from '../../../electron/shared/api';

export interface NodeLogMeta {
  id: string;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** Entries below it are compacted into the snapshot; from it on they are still in the log. */
  firstIndex: number;
  snapshotIndex: number;
}

/**
 * 'unrecorded': at a recorded moment, an entry the node held then but not yet committed, outside the
 * recorded tail: the log read now may hold another entry there. 'gone': committed then, and no longer
 * in the node's log now (compacted since), so it cannot be read.
 */
export type CellKind = 'entry' | 'snapshot' | 'compacted' | 'missing' | 'loading' | 'unrecorded' | 'gone';
export type AbsentKind = Extract<CellKind, 'unrecorded' | 'gone'>;

export interface LogCell {
  nodeId: string;
  index: number;
  kind: CellKind;
  term?: number;
  type?: LogEntryView['type'];
  summary?: string;
  committed: boolean;
  commitMarker: boolean;
  appliedMarker: boolean;
  /** The entry's term differs from the authoritative one at this index: this log diverges here. */
  conflict: boolean;
}

export type EntryLookup = (nodeId: string, index: number) => LogEntryView | undefined;
/** Why an entry the lookup has not got will not come (undefined: it is being read). */
export type AbsenceReason = (nodeId: string, index: number) => AbsentKind | undefined;

/** Rows from the oldest index any node still describes to the longest log. */
export function rowBounds(nodes: readonly NodeLogMeta[]): { first: number; last: number } | null {
  const last = Math.max(0, ...nodes.map((n) => n.lastIndex));
  if (nodes.length === 0 || last === 0) return null;
  const first = Math.max(1, Math.min(...nodes.map((n) => Math.min(n.snapshotIndex, n.firstIndex))));
  return { first, last };
}

/**
 * The term this index must have in any correct log: the leader's entry, else an entry some node has
 * committed (committed entries never change). Undefined when nobody can vouch for the index yet.
 */
export function referenceTerm(
  index: number,
  nodes: readonly NodeLogMeta[],
  lookup: EntryLookup,
  leaderId: string,
): number | undefined {
  const leader = nodes.find((n) => n.id === leaderId);
  if (leader && index > leader.snapshotIndex) {
    const entry = lookup(leader.id, index);
    if (entry) return entry.term;
  }
  for (const node of nodes) {
    if (index > node.commitIndex || index <= node.snapshotIndex) continue;
    const entry = lookup(node.id, index);
    if (entry) return entry.term;
  }
  return undefined;
}

export function buildRow(
  index: number,
  nodes: readonly NodeLogMeta[],
  lookup: EntryLookup,
  leaderId: string,
  absent: AbsenceReason = () => undefined,
): LogCell[] {
  const reference = referenceTerm(index, nodes, lookup, leaderId);
  return nodes.map((node) => {
    const base = {
      nodeId: node.id,
      index,
      committed: index <= node.commitIndex,
      commitMarker: index === node.commitIndex,
      appliedMarker: index === node.appliedIndex,
      conflict: false,
    };
    if (index > node.lastIndex) return { ...base, kind: 'missing' as const, committed: false };
    if (index < node.firstIndex) return { ...base, kind: index === node.snapshotIndex ? ('snapshot' as const) : ('compacted' as const) };
    const entry = lookup(node.id, index);
    if (!entry) return { ...base, kind: absent(node.id, index) ?? ('loading' as const) };
    return {
      ...base,
      kind: 'entry' as const,
      term: entry.term,
      type: entry.type,
      summary: entry.summary,
      conflict: reference !== undefined && entry.term !== reference,
    };
  });
}

/** First index where `follower` disagrees with `leader` on the entries both hold, if any. */
export function firstDivergence(leader: readonly LogEntryView[], follower: readonly LogEntryView[]): number | undefined {
  const leaderTerms = new Map(leader.map((e) => [e.index, e.term]));
  let first: number | undefined;
  for (const entry of follower) {
    const term = leaderTerms.get(entry.index);
    if (term !== undefined && term !== entry.term && (first === undefined || entry.index < first)) first = entry.index;
  }
  return first;
}

export const PAGE_SIZE = 500;

export function pageOf(index: number): number {
  return Math.floor((index - 1) / PAGE_SIZE);
}

export function pageStart(page: number): number {
  return page * PAGE_SIZE + 1;
}

/** Pages covering [from, to] (inclusive). */
export function pagesFor(from: number, to: number): number[] {
  if (to < from) return [];
  const pages: number[] = [];
  for (let p = pageOf(Math.max(1, from)); p <= pageOf(to); p++) pages.push(p);
  return pages;
}
