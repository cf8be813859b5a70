import { beforeEach, describe, expect, it } from 'vitest';
import { tableActions, useFaultsStore } from '../../../renderer/src/stores/faults';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { apiWithCluster, flush, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

describe('faults store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster()
      .handle('node.kill', () => undefined)
      .handle('node.pause', () => undefined)
      .handle('fault.partition', () => undefined)
      .handle('fault.heal', () => undefined)
      .handle('node.forceNewCluster', () => undefined);
    setupStores(api);
    useNavigationStore().go('faults', 'demo');
    useClusterStateStore();
    await flush();
  });

  it('offers exactly the actions the backend sends for each node, forced recovery aside', async () => {
    expect(tableActions({ actions: ['kill', 'pause', 'restart', 'stop', 'forceNewCluster'] })).toEqual(['kill', 'pause', 'restart', 'stop']);
    // An embedded cluster's driver offers no pause: neither does the table.
    const state = makeState({ nodes: [makeNode({ id: 'n1', role: 'leader', actions: ['kill', 'restart', 'stop'] }), makeNode({ id: 'n2', process: 'killed', actions: ['start'] })] });
    api.emit('cluster.state', state);
    await flush();
    expect(useFaultsStore().rows.map((r) => [r.node.id, r.actions])).toEqual([['n1', ['kill', 'restart', 'stop']], ['n2', ['start']]]);
  });

  it('kills a node, and the leader on request', async () => {
    const faults = useFaultsStore();
    await faults.act('pause', 'n2');
    await faults.killLeader();
    expect(api.calls.filter((c) => c.method.startsWith('node.'))).toEqual([
      { method: 'node.pause', params: { clusterId: 'demo', nodeId: 'n2' } },
      { method: 'node.kill', params: { clusterId: 'demo', nodeId: 'n1' } },
    ]);
  });

  it('partitions by chosen sides and tells which side keeps the majority', async () => {
    const faults = useFaultsStore();
    expect(faults.plan.ok).toBe(false);
    faults.setSide('n1', 1);
    expect(faults.plan).toEqual({ ok: true, groups: [['n2', 'n3'], ['n1']] });
    expect(faults.survivingSide).toBe(0);
    await faults.applyPartition();
    expect(api.callsOf('fault.partition')).toEqual([{ clusterId: 'demo', groups: [['n2', 'n3'], ['n1']] }]);
    await faults.heal();
    expect(api.callsOf('fault.heal')).toHaveLength(1);
    expect(faults.assignment).toEqual({});
  });

  it('says which nodes the partition cuts off from the leader instead of calling them behind', () => {
    const faults = useFaultsStore();
    useClusterStateStore().apply(
      makeState({ at: 2000, partitions: [['n1', 'n2'], ['n3']], nodes: [makeNode({ id: 'n1', role: 'leader' }), makeNode({ id: 'n2' }), makeNode({ id: 'n3', lastIndex: 1 })] }),
    );
    expect(faults.rows.map((r) => r.health.text)).toEqual(['up to date', 'up to date', 'cut off from the leader by the partition']);
  });

  it('guards recovery from a lost majority behind typing the node name', async () => {
    const faults = useFaultsStore();
    expect(faults.recoveryCandidates).toEqual([]);
    useClusterStateStore().apply(
      makeState({
        at: 2000,
        leader: '',
        nodes: [makeNode({ id: 'n1', process: 'killed' }), makeNode({ id: 'n2', process: 'crashed' }), makeNode({ id: 'n3', lastIndex: 9 })],
      }),
    );
    expect(faults.quorum?.quorumLostForGood).toBe(true);
    expect(faults.recoveryCandidates.map((n) => n.id)).toEqual(['n3']);
    await faults.recoverFrom('n3');
    expect(api.callsOf('node.forceNewCluster')).toEqual([]);
    faults.recoveryConfirm = 'n3';
    await faults.recoverFrom('n3');
    expect(api.callsOf('node.forceNewCluster')).toEqual([{ clusterId: 'demo', nodeId: 'n3' }]);
  });
});
