import { beforeEach, describe, expect, it } from 'vitest';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useClusterWizardStore } from '../../../renderer/src/stores/clusterWizard';
import { useClustersStore } from '../../../renderer/src/stores/clusters';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useNoticesStore } from '../../../renderer/src/stores/notices';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

describe('clusters store', () => {
  let api: FakeApi;
  beforeEach(() => {
    api = apiWithCluster(makeState(), [makeCluster({ id: 'loc', kind: 'local' }), makeCluster({ id: 'demo', kind: 'embedded' })]);
    setupStores(api);
  });

  it('lists clusters and opens the embedded demo on its dashboard', async () => {
    const clusters = useClustersStore();
    await flush();
    expect(clusters.byKind.embedded.map((c) => c.id)).toEqual(['demo']);
    expect(clusters.byKind.local.map((c) => c.id)).toEqual(['loc']);
    const nav = useNavigationStore();
    expect([nav.view, nav.clusterId]).toEqual(['dashboard', 'demo']);
  });

  it('keeps the place the user chose', async () => {
    const nav = useNavigationStore();
    nav.go('kv', 'loc');
    useClustersStore();
    await flush();
    expect([nav.view, nav.clusterId]).toEqual(['kv', 'loc']);
  });

  it('starts a cluster the backend created stopped', async () => {
    api.handle('clusters.create', (p) => makeCluster({ id: 'c4', name: p.name, kind: p.kind, health: 'stopped' })).handle('clusters.start', () => undefined);
    await useClustersStore().create({ name: 'four', kind: 'local', size: 3 });
    expect(api.callsOf('clusters.start')).toEqual([{ clusterId: 'c4' }]);
  });

  it('follows clusters.changed pushes', async () => {
    const clusters = useClustersStore();
    await flush();
    api.emit('clusters.changed', [makeCluster({ id: 'demo', health: 'no-quorum' })]);
    expect(clusters.list).toHaveLength(1);
    expect(clusters.list[0].health).toBe('no-quorum');
  });

  it('creates a cluster and opens it; a failure becomes a readable notice', async () => {
    api.handle('clusters.create', (p) => makeCluster({ id: 'c3', name: p.name, kind: p.kind }));
    const clusters = useClustersStore();
    const created = await clusters.create({ name: 'three', kind: 'local', size: 3 });
    expect(created?.id).toBe('c3');
    expect(api.callsOf('clusters.start')).toEqual([]);
    expect(useNavigationStore().clusterId).toBe('c3');
    expect(api.callsOf('clusters.create')).toEqual([{ name: 'three', kind: 'local', size: 3 }]);

    api.handle('clusters.create', () => {
      throw Object.assign(new Error('port 7001 in use'), { code: 'conflict' });
    });
    expect(await clusters.create({ name: 'four', kind: 'local', size: 3 })).toBeUndefined();
    expect(useNoticesStore().items.at(-1)?.text).toBe('Create cluster “four” failed: port 7001 in use');
  });
});

describe('cluster wizard', () => {
  it('validates names and sizes before creating', async () => {
    const api = apiWithCluster().handle('clusters.create', (p) => makeCluster({ id: 'x', name: p.name, kind: p.kind }));
    setupStores(api);
    useClustersStore();
    await flush();
    const wizard = useClusterWizardStore();
    wizard.start();
    expect(wizard.problems).toEqual([]);
    wizard.next();
    wizard.name = 'Demo';
    expect(wizard.problems).toContain('A cluster named “Demo” exists already.');
    wizard.name = 'fresh';
    wizard.setSize(4);
    expect(wizard.nodeNames).toEqual(['n1', 'n2', 'n3', 'n4']);
    expect(wizard.sizeAdvice).toContain('majority 3 of 4: survives 1 failed node');
    wizard.setNodeName(3, 'n1');
    expect(wizard.problems).toContain('Node names must differ.');
    wizard.setNodeName(3, 'bad name');
    expect(wizard.problems[0]).toContain('“bad name”');
    wizard.setNodeName(3, 'n4');
    wizard.next();
    expect(wizard.step).toBe(2);
    await wizard.submit();
    expect(api.callsOf('clusters.create')).toEqual([{ name: 'fresh', kind: 'local', size: 4, nodeNames: ['n1', 'n2', 'n3', 'n4'] }]);
    expect(wizard.open).toBe(false);
  });
});

describe('cluster state store', () => {
  it('asks for the state once, then follows pushed events and ignores older ones', async () => {
    const api = apiWithCluster(makeState({ at: 10 }));
    setupStores(api);
    const nav = useNavigationStore();
    nav.go('dashboard', 'demo');
    const store = useClusterStateStore();
    await flush();
    expect(api.callsOf('cluster.state')).toEqual([{ clusterId: 'demo' }]);
    expect(store.current?.term).toBe(2);

    api.emit('cluster.state', makeState({ at: 20, term: 3, leader: 'n2', nodes: [makeNode({ id: 'n1' }), makeNode({ id: 'n2', role: 'leader', term: 3, lastIndex: 8 }), makeNode({ id: 'n3', lastIndex: 3 })] }));
    expect(store.current?.term).toBe(3);
    expect(store.leaderNode?.id).toBe('n2');
    api.emit('cluster.state', makeState({ at: 15, term: 9 }));
    expect(store.current?.term).toBe(3);
    expect(store.currentLag.n3).toEqual([
      { at: 10, lag: 0 },
      { at: 20, lag: 5 },
    ]);
    expect(api.callsOf('cluster.state')).toHaveLength(1);
  });

  it('reports a readable load error', async () => {
    const api = apiWithCluster().handle('cluster.state', () => {
      throw new Error('cluster demo is not running');
    });
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    const store = useClusterStateStore();
    await flush();
    expect(store.loadError).toBe('cluster demo is not running');
  });
});
