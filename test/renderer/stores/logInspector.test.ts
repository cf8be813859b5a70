import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { LogEntryView } from '../../../electron/shared/api';
import { PAGE_SIZE } from '../../../renderer/src/logic/logAlignment';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useLogInspectorStore } from '../../../renderer/src/stores/logInspector';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { apiWithCluster, flush, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

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
