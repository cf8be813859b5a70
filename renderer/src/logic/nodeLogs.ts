// Node log lines: merging live lines into what is shown, filtering, and the download text.
import type { NodeLogLine } from '../../../electron/shared/api';

export type Level = NodeLogLine['level'];
export const levels: readonly Level[] = ['debug', 'info', 'warn', 'error'];

export interface LineFilter {
  nodes: readonly string[];
  levels: readonly Level[];
  search: string;
}

/** Adds lines in time order (stable for equal times), keeping the newest `limit`. */
export function appendLines(lines: readonly NodeLogLine[], incoming: readonly NodeLogLine[], limit = 20_000): NodeLogLine[] {
  const merged = [...lines, ...incoming];
  const inOrder = incoming.every((l, i) => (i === 0 ? !lines.length || lines[lines.length - 1].time <= l.time : incoming[i - 1].time <= l.time));
  const sorted = inOrder ? merged : merged.map((l, i) => ({ l, i })).sort((a, b) => a.l.time - b.l.time || a.i - b.i).map((x) => x.l);
  return sorted.length > limit ? sorted.slice(sorted.length - limit) : sorted;
}

export function filterLines(lines: readonly NodeLogLine[], filter: LineFilter): NodeLogLine[] {
  const search = filter.search.trim().toLowerCase();
  return lines.filter(
    (l) =>
      (filter.nodes.length === 0 || filter.nodes.includes(l.nodeId)) &&
      (filter.levels.length === 0 || filter.levels.includes(l.level)) &&
      (!search || l.msg.toLowerCase().includes(search) || l.raw.toLowerCase().includes(search)),
  );
}

/** The downloaded file holds the raw persisted lines (JSON lines as the node wrote them). */
export function downloadText(lines: readonly NodeLogLine[]): string {
  return lines.map((l) => l.raw).join('\n') + (lines.length ? '\n' : '');
}
