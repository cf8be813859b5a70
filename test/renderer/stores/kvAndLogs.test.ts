import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { NodeLogLine } from '../../../electron/shared/api';
import { useActivityStore } from '../../../renderer/src/stores/activity';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useKvStore } from '../../../renderer/src/stores/kv';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useNodeLogsStore } from '../../../renderer/src/stores/nodeLogs';
import { MAX_VALUE_BYTES } from '../../../core/kv/limits';
import { useClustersStore } from '../../../renderer/src/stores/clusters';
import { apiWithCluster, flush, makeCluster, makeState, setupStores, type FakeApi } from '../fakeApi';

vi.mock('../../../renderer/src/api/download', () => ({ saveText: vi.fn() }));
const { saveText } = await import('../../../renderer/src/api/download');

const line = (nodeId: string, time: number, msg: string, clusterId = 'demo'): NodeLogLine => ({
  clusterId,
  nodeId,
  time,
  level: 'info',
  msg,
  raw: `{"msg":"${msg}"}`,
});

describe('kv store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster()
      .handle('kv.put', () => ({ index: 12, term: 3 }))
      .handle('kv.get', (p) => ({ value: p.key === 'a' ? '1' : null }))
      .handle('kv.cas', () => ({ succeeded: false, value: 'other' }))
      .handle('kv.delete', () => {
        throw new Error('no leader: the cluster has lost its majority');
      });
    setupStores(api);
    useNavigationStore().go('kv', 'demo');
    useClusterStateStore();
    await flush();
  });

  it('records where each write committed, reads, CAS outcomes and readable errors', async () => {
    const kv = useKvStore();
    kv.key = 'a';
    kv.value = '1';
    await kv.submit();
    kv.op = 'get';
    kv.stale = true;
    await kv.submit();
    kv.op = 'cas';
    kv.casFromAbsent = true;
    kv.value = '2';
    await kv.submit();
    kv.op = 'delete';
    await kv.submit();
    expect(api.calls.filter((c) => c.method.startsWith('kv.'))).toEqual([
      { method: 'kv.put', params: { clusterId: 'demo', key: 'a', value: '1' } },
      { method: 'kv.get', params: { clusterId: 'demo', key: 'a', stale: true } },
      { method: 'kv.cas', params: { clusterId: 'demo', key: 'a', from: null, to: '2' } },
      { method: 'kv.delete', params: { clusterId: 'demo', key: 'a' } },
    ]);
    const [del, cas, get, put] = kv.history;
    expect(put.result).toEqual({ index: 12, term: 3 });
    expect(get.result?.value).toBe('1');
    expect(cas).toMatchObject({ argument: '(absent) → 2', result: { succeeded: false } });
    expect(del.error).toBe('no leader: the cluster has lost its majority');
  });

  it('refuses to send without a key', async () => {
    const kv = useKvStore();
    expect(kv.problem).toBe('Enter a key.');
    await kv.submit();
    expect(kv.history).toEqual([]);
  });

  it('refuses a value over the API limit before sending, in plain words', async () => {
    const kv = useKvStore();
    kv.key = 'big';
    kv.value = 'x'.repeat(MAX_VALUE_BYTES);
    expect(kv.problem).toBeNull();
    // One byte over the limit; "é" is two bytes of UTF-8, so half as many characters fill it.
    kv.value = 'x'.repeat(MAX_VALUE_BYTES + 1);
    expect(kv.problem).toBe('The value is 1.00 MiB; a value can be at most 1 MiB.');
    kv.value = 'é'.repeat(MAX_VALUE_BYTES / 2 + 1);
    expect(kv.problem).toMatch(/^The value is .* MiB; a value can be at most 1 MiB\.$/);
    await kv.submit();
    expect(api.callsOf('kv.put')).toEqual([]);
  });

  it('keeps results per cluster', async () => {
    api.handle('cluster.state', (p) => makeState({ clusterId: p.clusterId, name: p.clusterId }));
    const kv = useKvStore();
    kv.key = 'a';
    kv.value = '1';
    await kv.submit();
    expect(kv.history).toHaveLength(1);
    useNavigationStore().go('kv', 'other');
    await flush();
    expect(useClusterStateStore().current?.clusterId).toBe('other');
    expect(kv.history).toEqual([]);
    kv.clearHistory();
    useNavigationStore().go('kv', 'demo');
    await flush();
    expect(kv.history.map((h) => h.key)).toEqual(['a']);
  });
});

describe('node logs of removed nodes', () => {
  it('lists them after the members, marked as removed, so their logs stay browsable', async () => {
    const api = apiWithCluster(makeState(), [makeCluster({ id: 'demo', retiredNodes: ['n0'] })]).handle('nodeLogs.read', () => [line('n0', 1, 'became follower')]);
    setupStores(api);
    useNavigationStore().go('nodeLogs', 'demo');
    const logs = useNodeLogsStore();
    useClustersStore();
    await flush();
    expect(logs.nodeIds).toEqual(['n1', 'n2', 'n3', 'n0']);
    expect(logs.retiredIds).toEqual(['n0']);
    logs.nodes = ['n0'];
    await logs.load();
    expect(api.callsOf('nodeLogs.read').at(-1)).toMatchObject({ clusterId: 'demo', nodeId: 'n0' });
    expect(logs.shown.map((l) => l.nodeId)).toEqual(['n0']);
  });
});

describe('node logs store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster()
      .handle('nodeLogs.read', () => [line('n2', 5, 'became follower'), line('n1', 3, 'became leader')])
      .handle('nodeLogs.subscribe', () => undefined)
      .handle('nodeLogs.unsubscribe', () => undefined);
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
  });

  it('reads when the view opens, merging all members by time', async () => {
    const logs = useNodeLogsStore();
    expect(api.callsOf('nodeLogs.read')).toEqual([]);
    useNavigationStore().go('nodeLogs');
    await flush();
    expect(api.callsOf('nodeLogs.read')).toEqual([{ clusterId: 'demo', nodeId: undefined, search: undefined, levels: undefined, limit: 2000 }]);
    expect(logs.shown.map((l) => l.nodeId)).toEqual(['n1', 'n2']);
    logs.nodes = ['n2'];
    logs.search = 'Leader';
    await logs.load();
    expect(api.callsOf('nodeLogs.read').at(-1)).toMatchObject({ nodeId: 'n2', search: 'Leader' });
  });

  it('tails live lines of this cluster only, and stops when the cluster changes', async () => {
    const logs = useNodeLogsStore();
    await logs.setLive(true);
    api.emit('nodeLogs.line', line('n3', 9, 'tick'));
    api.emit('nodeLogs.line', line('x1', 9, 'other cluster', 'other'));
    expect(logs.lines.map((l) => l.msg)).toEqual(['tick']);
    useNavigationStore().selectCluster('other');
    await flush();
    expect(api.callsOf('nodeLogs.unsubscribe')).toEqual([{ clusterId: 'demo' }]);
    expect(logs.live).toBe(false);
  });

  it('downloads one node’s file as raw lines', async () => {
    const logs = useNodeLogsStore();
    logs.nodes = ['n1'];
    await logs.download();
    expect(api.callsOf('nodeLogs.read').at(-1)).toEqual({ clusterId: 'demo', nodeId: 'n1', limit: 10_000 });
    expect(saveText).toHaveBeenCalledWith('demo-n1.log', '{"msg":"became leader"}\n{"msg":"became follower"}\n');
  });
});

describe('activity store', () => {
  it('loads the list and keeps the latest outcome of each pushed item', async () => {
    const api = apiWithCluster().handle('activity.list', () => [{ id: 1, at: 10, clusterId: 'demo', action: 'kill n1', outcome: 'ok', detail: '' }]);
    setupStores(api);
    const activity = useActivityStore();
    await flush();
    api.emit('activity', { id: 2, at: 20, clusterId: 'demo', action: 'partition', outcome: 'started', detail: '' });
    api.emit('activity', { id: 2, at: 21, clusterId: 'demo', action: 'partition', outcome: 'ok', detail: '{n1} | {n2, n3}' });
    expect(activity.items.map((i) => [i.id, i.outcome])).toEqual([
      [2, 'ok'],
      [1, 'ok'],
    ]);
  });
});
