import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogEntryView } from '../../../electron/shared/api';
import { PAGE_SIZE } from '../../../renderer/src/logic/logAlignment';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useLogInspectorStore } from '../../../renderer/src/stores/logInspector';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useTimeTravelStore } from '../../../renderer/src/stores/timeTravel';
import { readOnlyState } from '../../../electron/shared/trace-format';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

const entries = (from: number, to: number, term: (i: number) => number): LogEntryView[] =>
  Array.from({ length: to - from + 1 }, (_, k) => ({ index: from + k, term: term(from + k), type: 'normal' as const, summary: `put k${from + k}` }));

/** A 100,000-entry cluster whose follower n3 holds a divergent uncommitted tail. */
function bigState(at = 1) {
  const last = 100_000;
  return makeState({
    at,
    nodes: [
      makeNode({ id: 'n1', role: 'leader', term: 3, lastIndex: last, commitIndex: last - 2, appliedIndex: last - 2, logTail: entries(last - 9, last, () => 3) }),
      makeNode({ id: 'n2', term: 3, lastIndex: last, commitIndex: last - 2, appliedIndex: last - 3, logTail: entries(last - 9, last, () => 3) }),
      makeNode({ id: 'n3', term: 3, lastIndex: last, commitIndex: last - 5, appliedIndex: last - 5, logTail: entries(last - 9, last, (i) => (i > last - 3 ? 2 : 3)) }),
    ],
  });
}

describe('log inspector store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster(bigState()).handle('log.entries', (p) => entries(p.from, Math.min(p.from + p.limit - 1, 100_000), () => 1));
    setupStores(api);
    useNavigationStore().go('log', 'demo');
    useClusterStateStore();
    await flush();
  });

  it('has a row per index and fetches only the pages on screen, per node', async () => {
    const inspector = useLogInspectorStore();
    expect(inspector.rowCount).toBe(100_000);
    inspector.setVisibleRows(0, 40);
    await flush();
    const calls = api.callsOf('log.entries');
    expect(calls).toEqual([
      { clusterId: 'demo', nodeId: 'n1', from: 1, limit: PAGE_SIZE },
      { clusterId: 'demo', nodeId: 'n2', from: 1, limit: PAGE_SIZE },
      { clusterId: 'demo', nodeId: 'n3', from: 1, limit: PAGE_SIZE },
    ]);
    expect(inspector.row(0).map((c) => [c.kind, c.term, c.committed])).toEqual([
      ['entry', 1, true],
      ['entry', 1, true],
      ['entry', 1, true],
    ]);
    inspector.setVisibleRows(0, 40);
    await flush();
    expect(api.callsOf('log.entries')).toHaveLength(3);
  });

  it('shows the pushed tail without fetching and flags the divergent follower entries', async () => {
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(inspector.rowOfIndex(99_995), inspector.rowOfIndex(100_000));
    await flush();
    expect(api.callsOf('log.entries')).toEqual([]);
    const last = inspector.row(inspector.rowOfIndex(100_000));
    expect(last.map((c) => [c.nodeId, c.term, c.conflict, c.committed])).toEqual([
      ['n1', 3, false, false],
      ['n2', 3, false, false],
      ['n3', 2, true, false],
    ]);
    expect(inspector.divergences).toEqual([{ nodeId: 'n3', index: 99_998 }]);
    expect(inspector.row(inspector.rowOfIndex(99_998))[0].commitMarker).toBe(true);
  });

  it('refetches a page only when its uncommitted part may have changed', async () => {
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(0, 10);
    await flush();
    expect(api.callsOf('log.entries')).toHaveLength(3);
    const store = useClusterStateStore();
    // A committed page does not change when the log grows.
    store.apply({ ...bigState(2), nodes: bigState(2).nodes.map((n) => ({ ...n, lastIndex: n.lastIndex + 1 })) });
    await flush();
    expect(api.callsOf('log.entries')).toHaveLength(3);
  });

  it('refetches the uncommitted part of a page when that log moved', async () => {
    const small = (at: number, term: number) =>
      makeState({ at, nodes: [makeNode({ id: 'n1', role: 'leader', term, lastIndex: 20, commitIndex: 5 })] });
    const store = useClusterStateStore();
    store.apply(small(5, 3));
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(0, 19);
    await flush();
    const before = api.callsOf('log.entries').length;
    store.apply(small(6, 4));
    await flush();
    expect(api.callsOf('log.entries').slice(before)).toEqual([{ clusterId: 'demo', nodeId: 'n1', from: 1, limit: PAGE_SIZE }]);
  });

  it('loads the decoded entry on click', async () => {
    api.handle('log.entry', (p) => ({ index: p.index, term: 1, type: 'config', summary: 'add n4', decoded: { addLearner: 'n4' } }));
    const inspector = useLogInspectorStore();
    await inspector.select('n2', 7);
    expect(inspector.detail?.decoded).toEqual({ addLearner: 'n4' });
    expect(api.callsOf('log.entry')).toEqual([{ clusterId: 'demo', nodeId: 'n2', index: 7 }]);
  });

  it('jumps to an index by its row', () => {
    const inspector = useLogInspectorStore();
    inspector.jumpToIndex(500);
    expect(inspector.jump?.row).toBe(499);
    inspector.jumpToIndex(10_000_000);
    expect(inspector.jump?.row).toBe(99_999);
  });

  it('reads a page again after a failed read (a node restarting), without waiting for the state to change', async () => {
    let down = true;
    api.handle('log.entries', (p) => {
      if (down) throw new Error('connect ECONNREFUSED');
      return entries(p.from, Math.min(p.from + p.limit - 1, 100_000), () => 1);
    });
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(0, 40);
    await flush();
    expect(inspector.row(0)[0].kind).toBe('loading');
    expect(inspector.loadError).toMatch(/ECONNREFUSED/);
    down = false;
    await vi.waitFor(() => expect(inspector.row(0).map((c) => c.kind)).toEqual(['entry', 'entry', 'entry']), { timeout: 3000, interval: 50 });
  });
});

describe('log inspector at a recorded moment', () => {
  // At 4000, n1 led term 2 with entries 1..30, 10 committed, and recorded its tail 21..30.
  // Since then n2 leads term 3: n1's entries 11..30 were replaced by term-3 ones, and n1 compacted 1..5.
  const termNow = (i: number) => (i <= 10 ? 1 : 3);
  const then = makeState({
    at: 4000,
    leader: 'n1',
    term: 2,
    nodes: [
      makeNode({ id: 'n1', role: 'leader', term: 2, lastIndex: 30, commitIndex: 10, appliedIndex: 10, logTail: entries(21, 30, () => 2) }),
      makeNode({ id: 'n2', term: 2, lastIndex: 10, commitIndex: 10, appliedIndex: 10, logTail: entries(1, 10, () => 1) }),
    ],
  });
  const now = makeState({
    at: 9000,
    leader: 'n2',
    term: 3,
    nodes: [
      makeNode({ id: 'n1', term: 3, lastIndex: 40, commitIndex: 40, appliedIndex: 40, firstIndex: 6, snapshotIndex: 5, logTail: entries(31, 40, termNow) }),
      makeNode({ id: 'n2', role: 'leader', term: 3, lastIndex: 40, commitIndex: 40, appliedIndex: 40, logTail: entries(31, 40, termNow) }),
    ],
  });
  let api: FakeApi;
  beforeEach(async () => {
    // The backend reads logs as they are now: n1 from its first index on.
    api = apiWithCluster(now, [makeCluster({ id: 'demo' })])
      .handle('trace.range', () => ({ first: 1000, last: 9000, frames: 10, bytes: 1, replay: false }))
      .handle('trace.at', ({ at }) => ({ at, state: readOnlyState(at < 6000 ? then : now), health: 'healthy' as const, messages: [] }))
      .handle('log.entries', (p) => entries(Math.max(p.from, p.nodeId === 'n1' ? 6 : 1), Math.min(p.from + p.limit - 1, 40), termNow))
      .handle('log.entry', (p) => ({ ...entries(p.index, p.index, termNow)[0], decoded: null }));
    setupStores(api);
    useNavigationStore().go('log', 'demo');
    useClusterStateStore();
    await flush();
    await useTimeTravelStore().seek(4000);
    await flush();
  });

  const cells = (index: number) => {
    const inspector = useLogInspectorStore();
    return inspector.row(inspector.rowOfIndex(index)).map((c) => [c.nodeId, c.kind, c.term]);
  };

  it('takes from the log read now only what was committed then; an uncommitted entry outside the recorded tail is "not recorded"', async () => {
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(inspector.rowOfIndex(1), inspector.rowOfIndex(30));
    await flush();
    // Committed then: the same now (committed entries never change).
    expect(cells(7)).toEqual([['n1', 'entry', 1], ['n2', 'entry', 1]]);
    // n1 held a term-2 entry at 15 then; the log now has a term-3 one there, which n1 never held at 4000.
    expect(cells(15)).toEqual([['n1', 'unrecorded', undefined], ['n2', 'missing', undefined]]);
    // The recorded tail is what n1 held then.
    expect(cells(25)).toEqual([['n1', 'entry', 2], ['n2', 'missing', undefined]]);
    // Nothing above what was committed then was asked for.
    for (const call of api.callsOf('log.entries')) expect(call.from).toBeLessThanOrEqual(10);
  });

  it('says "compacted since" for a committed entry the node no longer holds', async () => {
    const inspector = useLogInspectorStore();
    inspector.setVisibleRows(inspector.rowOfIndex(1), inspector.rowOfIndex(10));
    await flush();
    expect(cells(3)).toEqual([['n1', 'gone', undefined], ['n2', 'entry', 1]]);
    expect(cells(6)).toEqual([['n1', 'entry', 1], ['n2', 'entry', 1]]);
  });

  it('does not show the content of an entry replaced since as if it were the one of that moment', async () => {
    const inspector = useLogInspectorStore();
    await inspector.select('n1', 25);
    expect(inspector.detail).toBeNull();
    expect(inspector.detailError).toBe("n1's entry 25 has been replaced since this moment (term 2 then, 3 now); its content was not recorded");
    // A committed entry reads the same now: its content is shown.
    await inspector.select('n1', 7);
    expect(inspector.detail).toMatchObject({ index: 7, term: 1 });
  });
});
