import { describe, expect, it } from 'vitest';
import type { LogEntryView } from '../../../electron/shared/api';
import { buildRow, firstDivergence, pagesFor, PAGE_SIZE, referenceTerm, rowBounds, type NodeLogMeta } from '../../../renderer/src/logic/logAlignment';

const e = (index: number, term: number, type: LogEntryView['type'] = 'normal'): LogEntryView => ({ index, term, type, summary: `e${index}` });

function lookupFrom(logs: Record<string, LogEntryView[]>) {
  return (nodeId: string, index: number) => logs[nodeId]?.find((x) => x.index === index);
}

const meta = (id: string, lastIndex: number, commitIndex: number, snapshotIndex = 0, appliedIndex = commitIndex, firstIndex = snapshotIndex + 1): NodeLogMeta => ({
  id,
  lastIndex,
  commitIndex,
  snapshotIndex,
  appliedIndex,
  firstIndex,
});

describe('log alignment', () => {
  it('spans from the oldest retained index to the longest log', () => {
    expect(rowBounds([meta('a', 10, 8, 4), meta('b', 12, 8, 6)])).toEqual({ first: 4, last: 12 });
    expect(rowBounds([meta('a', 0, 0)])).toBeNull();
    expect(rowBounds([meta('a', 10, 8, 6, 8, 3)])).toEqual({ first: 3, last: 10 }); // entries kept behind the snapshot
  });

  it('marks the follower entry that disagrees with the leader as a conflict', () => {
    const logs = { n1: [e(1, 1), e(2, 1), e(3, 2)], n2: [e(1, 1), e(2, 1), e(3, 1)] };
    const nodes = [meta('n1', 3, 2), meta('n2', 3, 2)];
    const row3 = buildRow(3, nodes, lookupFrom(logs), 'n1');
    expect(row3.map((c) => [c.nodeId, c.term, c.conflict, c.committed])).toEqual([
      ['n1', 2, false, false],
      ['n2', 1, true, false],
    ]);
    expect(buildRow(2, nodes, lookupFrom(logs), 'n1').every((c) => !c.conflict && c.committed)).toBe(true);
  });

  it('falls back to a committed entry when there is no leader', () => {
    const logs = { n1: [e(1, 1)], n2: [e(1, 2)] };
    expect(referenceTerm(1, [meta('n1', 1, 1), meta('n2', 1, 0)], lookupFrom(logs), '')).toBe(1);
    expect(referenceTerm(1, [meta('n1', 1, 0), meta('n2', 1, 0)], lookupFrom(logs), '')).toBeUndefined();
  });

  it('shows compacted, snapshot, missing and not-yet-loaded cells, with commit and applied markers', () => {
    const nodes = [meta('n1', 10, 9, 5, 8)];
    const at = (i: number) => buildRow(i, nodes, lookupFrom({ n1: [e(9, 3)] }), 'n1')[0];
    expect(at(4).kind).toBe('compacted');
    expect(at(5).kind).toBe('snapshot');
    expect(at(7).kind).toBe('loading');
    expect(at(11).kind).toBe('missing');
    expect(at(9)).toMatchObject({ kind: 'entry', commitMarker: true, appliedMarker: false });
    expect(at(8).appliedMarker).toBe(true);
  });

  it('shows entries still in the log behind the snapshot as entries, not as compacted', () => {
    const nodes = [meta('n1', 10, 10, 8, 10, 4)];
    const at = (i: number) => buildRow(i, nodes, lookupFrom({ n1: [e(5, 2), e(8, 2)] }), 'n1')[0];
    expect(at(3).kind).toBe('compacted');
    expect(at(5)).toMatchObject({ kind: 'entry', term: 2 });
    expect(at(8)).toMatchObject({ kind: 'entry', term: 2 });
    expect(at(6).kind).toBe('loading');
  });

  it('finds where a follower diverges', () => {
    expect(firstDivergence([e(4, 2), e(5, 3), e(6, 3)], [e(4, 2), e(5, 2), e(6, 2)])).toBe(5);
    expect(firstDivergence([e(4, 2)], [e(4, 2), e(5, 2)])).toBeUndefined();
  });

  it('covers a range with pages', () => {
    expect(pagesFor(1, PAGE_SIZE)).toEqual([0]);
    expect(pagesFor(PAGE_SIZE, PAGE_SIZE + 1)).toEqual([0, 1]);
    expect(pagesFor(5, 4)).toEqual([]);
  });
});
