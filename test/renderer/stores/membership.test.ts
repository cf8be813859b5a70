import { beforeEach, describe, expect, it } from 'vitest';
import type { ClusterState, MembershipPlan } from '../../../electron/shared/api';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useMembershipStore } from '../../../renderer/src/stores/membership';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { apiWithCluster, flush, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

const plan = (safe: boolean, before: number, after: number, reason = safe ? 'all voters are up' : 'n2 is down'): MembershipPlan => ({
  safe,
  reason,
  before: { voters: before, majority: Math.floor(before / 2) + 1 },
  after: { voters: after, majority: Math.floor(after / 2) + 1 },
});

function withN4(membership: 'learner' | 'voter', at: number, lag = 0): ClusterState {
  const leader = makeNode({ id: 'n1', role: 'leader', lastIndex: 40, commitIndex: 40, logTail: [{ index: 40, term: 2, type: 'config', summary: 'n4 voter' }] });
  const n4 = makeNode({ id: 'n4', membership, lastIndex: 40 - lag, matchIndex: 40 - lag });
  return makeState({ at, nodes: [leader, makeNode({ id: 'n2' }), makeNode({ id: 'n3' }), n4] });
}

describe('membership wizard store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster()
      .handle('membership.plan', (p) => (p.change === 'add' ? plan(true, 3, 3) : p.change === 'promote' ? plan(true, 3, 4) : plan(true, 4, 3)))
      .handle('membership.addNode', () => ({ operationId: 'op-add', nodeId: 'n4' }))
      .handle('membership.promote', () => ({ operationId: 'op-promote' }))
      .handle('membership.removeNode', () => ({ operationId: 'op-remove' }))
      .handle('membership.transferLeader', () => undefined);
    setupStores(api);
    useNavigationStore().go('membership', 'demo');
    useClusterStateStore();
    await flush();
  });

  it('says plainly when a typed name cannot name a node, without asking the backend', async () => {
    const m = useMembershipStore();
    await flush();
    const asked = api.callsOf('membership.plan').length;
    m.newNodeId = 'n 4';
    await flush();
    expect(m.nameProblem).toBe('“n 4” cannot name a node: use letters, digits and _ . - only, at most 64 characters, and not “.” or “..”.');
    expect(m.planError).toBeNull();
    expect(m.canProceed).toBe(false);
    expect(api.callsOf('membership.plan')).toHaveLength(asked);
    m.newNodeId = 'n4';
    await flush();
    expect(m.nameProblem).toBeNull();
    expect(api.callsOf('membership.plan').at(-1)).toEqual({ clusterId: 'demo', change: 'add', nodeId: 'n4' });
  });

  it('walks add → catch up → promote → committed, following the real cluster state', async () => {
    const m = useMembershipStore();
    await flush();
    expect(m.addStage).toBe('plan');
    expect(api.callsOf('membership.plan').at(-1)).toEqual({ clusterId: 'demo', change: 'add', nodeId: undefined });
    expect(m.overlap?.text).toContain('majority stays 2 of 3');
    expect(m.overlap?.text).toContain('promoted (majority 2 of 3 → 3 of 4)');
    expect(m.canProceed).toBe(true);

    await m.addLearner();
    expect(m.target).toBe('n4');
    expect(m.addStage).toBe('catching-up');

    const state = useClusterStateStore();
    api.emit('operation.progress', { operationId: 'op-add', clusterId: 'demo', title: 'Add n4', step: 'catching up', fraction: 0.25, done: false });
    state.apply(withN4('learner', 2000, 30));
    expect(m.catchUp).toEqual({ fraction: 0.25, behind: 30 });
    expect(m.addStage).toBe('catching-up');
    // Two sentences, each ended: not "30 entries behind the leader.catching up".
    expect(m.catchUpText).toBe('30 entries behind the leader. Now: catching up.');

    api.emit('operation.progress', { operationId: 'op-add', clusterId: 'demo', title: 'Add n4', step: 'caught up', fraction: 1, done: true });
    state.apply(withN4('learner', 3000));
    expect(m.addStage).toBe('promote');
    await flush();
    expect(api.callsOf('membership.plan').at(-1)).toEqual({ clusterId: 'demo', change: 'promote', nodeId: 'n4' });
    expect(m.majorityText).toBe('majority 2 of 3 → 3 of 4');
    expect(m.overlap?.text).toContain('2 + 3 = 5 > 4');

    await m.promote();
    expect(api.callsOf('membership.promote')).toEqual([{ clusterId: 'demo', nodeId: 'n4' }]);
    expect(m.addStage).toBe('promoting');
    api.emit('operation.progress', { operationId: 'op-promote', clusterId: 'demo', title: 'Promote n4', step: 'committed', fraction: 1, done: true });
    state.apply(withN4('voter', 4000));
    expect(m.addStage).toBe('committed');
    expect(m.committedConfig?.index).toBe(40);
  });

  it('blocks an unsafe step and says why', async () => {
    api.handle('membership.plan', () => plan(false, 3, 4, 'n2 and n3 are down: the new majority 3 of 4 could not be reached'));
    const m = useMembershipStore();
    await flush();
    expect(m.canProceed).toBe(false);
    expect(m.plan?.reason).toContain('could not be reached');
    await m.addLearner();
    expect(api.callsOf('membership.addNode')).toEqual([]);
  });

  it('moves leadership away before removing the leader', async () => {
    const m = useMembershipStore();
    m.chooseRemoval('n1');
    expect(m.removeStage).toBe('transfer');
    expect(m.transferCandidates).toEqual(['n2', 'n3']);
    await m.transferLeadership();
    expect(api.callsOf('membership.transferLeader')).toEqual([{ clusterId: 'demo', to: 'n2' }]);

    const state = useClusterStateStore();
    state.apply(makeState({ at: 5000, leader: 'n2', nodes: [makeNode({ id: 'n1' }), makeNode({ id: 'n2', role: 'leader' }), makeNode({ id: 'n3' })] }));
    expect(m.removeStage).toBe('plan');
    await flush();
    expect(api.callsOf('membership.plan').at(-1)).toEqual({ clusterId: 'demo', change: 'remove', nodeId: 'n1' });
    await m.remove();
    expect(m.removeStage).toBe('removing');
    api.emit('operation.progress', { operationId: 'op-remove', clusterId: 'demo', title: 'Remove n1', step: 'done', fraction: 1, done: true });
    state.apply(makeState({ at: 6000, leader: 'n2', nodes: [makeNode({ id: 'n2', role: 'leader' }), makeNode({ id: 'n3' })] }));
    expect(m.removeStage).toBe('removed');
    await flush();
    // The configuration changes another way (a forced recovery leaves n2 alone): "n1 has left. Voters: n2"
    // would pair the old result with voters it did not produce, so the wizard starts over.
    state.apply(makeState({ at: 7000, leader: 'n2', nodes: [makeNode({ id: 'n2', role: 'leader' })] }));
    await flush();
    expect(m.target).toBeNull();
    expect(m.removeStage).toBe('choose');
  });

  it('previews joint consensus with both majorities', () => {
    const m = useMembershipStore();
    m.setMode('joint');
    expect(m.jointProblem).toBe('Choose servers to add or remove.');
    m.jointAdd = ['n4', 'n5'];
    expect(m.jointPreview.cNew).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);
    expect(m.jointPreview.direct.overlaps).toBe(false);
    expect([m.jointPreview.majorityOld, m.jointPreview.majorityNew]).toEqual([2, 3]);
    m.jointRemove = ['n1', 'n2', 'n3'];
    m.jointAdd = [];
    expect(m.jointProblem).toBe('The new configuration needs at least one voter.');
  });
});
