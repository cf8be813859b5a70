// @vitest-environment happy-dom
// Acting where one looks, the rest of it: restart and pause from the topology, forcing a node's
// election timeout (embedded clusters; disabled with the reason elsewhere), and a message's raft fields.
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import type { ClusterState, MessageInFlight } from '../../../electron/shared/api';
import TopologySelection from '../../../renderer/src/components/TopologySelection.vue';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useTopologyStore } from '../../../renderer/src/stores/topology';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores } from '../fakeApi';

async function topologyOf(state: ClusterState) {
  const api = apiWithCluster(state, [makeCluster({ id: state.clusterId, kind: state.kind })])
    .handle('node.restart', () => undefined)
    .handle('node.pause', () => undefined)
    .handle('node.campaign', () => undefined);
  setupStores(api);
  useNavigationStore().go('dashboard', state.clusterId);
  useClusterStateStore();
  await flush();
  return { api, topology: useTopologyStore() };
}

const nodes = () => [makeNode({ id: 'n1', role: 'leader' }), makeNode({ id: 'n2' }), makeNode({ id: 'n3', process: 'crashed', reachable: false })];

describe('topology actions', () => {
  it('restarts and pauses the picked node through node.*', async () => {
    const { api, topology } = await topologyOf(makeState({ kind: 'local', nodes: nodes() }));
    topology.selectNode('n2');
    expect(topology.nodeActions).toEqual(expect.arrayContaining(['pause', 'restart']));
    await topology.act('restart');
    await topology.act('pause');
    expect(api.callsOf('node.restart')).toEqual([{ clusterId: 'demo', nodeId: 'n2' }]);
    expect(api.callsOf('node.pause')).toEqual([{ clusterId: 'demo', nodeId: 'n2' }]);
  });

  it("forces a follower's election timeout on an embedded cluster, and says why not for the leader or a crashed node", async () => {
    const state = makeState({ nodes: nodes() });
    const { api, topology } = await topologyOf({ ...state, capabilities: { ...state.capabilities, forceElection: true } });
    topology.selectNode('n2');
    expect(topology.campaignBlocked).toBeNull();
    await topology.campaign();
    expect(api.callsOf('node.campaign')).toEqual([{ clusterId: 'demo', nodeId: 'n2' }]);
    topology.selectNode('n1');
    expect(topology.campaignBlocked).toBe('n1 leads: its election timer does not run.');
    topology.selectNode('n3');
    expect(topology.campaignBlocked).toBe('n3 is not running.');
    await topology.campaign();
    expect(api.callsOf('node.campaign')).toHaveLength(1);
  });

  it('offers it disabled, with the reason, where the driver cannot (raftd)', async () => {
    const { topology } = await topologyOf(makeState({ kind: 'local', nodes: nodes() }));
    topology.selectNode('n2');
    expect(topology.campaignBlocked).toMatch(/^Embedded clusters only/);
    const w = mount(TopologySelection, {
      props: { node: topology.node, message: undefined, messageGone: false, actions: [], canIsolate: false, partitioned: false, canLead: false, canDrop: false, timeBase: 'wall', campaignBlocked: topology.campaignBlocked },
    });
    expect(w.find('[data-testid="topology-campaign-n2"]').attributes('disabled')).toBeDefined();
    expect(w.find('[data-testid="topology-campaign-reason"]').text()).toContain('raftd has no request');
    const enabled = mount(TopologySelection, {
      props: { node: topology.node, message: undefined, messageGone: false, actions: [], canIsolate: false, partitioned: false, canLead: false, canDrop: false, timeBase: 'wall', campaignBlocked: null },
    });
    await enabled.find('[data-testid="topology-campaign-n2"]').trigger('click');
    expect(enabled.emitted('campaign')).toHaveLength(1);
  });

  it("shows a message's raft fields: term, index, log term, commit, reject and its entries", () => {
    const message: MessageInFlight = {
      id: 4,
      from: 'n1',
      to: 'n2',
      type: 'App',
      sentAt: 100,
      deliverAt: 110,
      summary: 'App t2 prev 5/1 +2 commit 5',
      fields: { term: 2, logTerm: 1, index: 5, commit: 5, reject: false, rejectHint: 0, entryCount: 2, entries: [{ index: 6, term: 2, type: 'normal', bytes: 0 }, { index: 7, term: 2, type: 'config', bytes: 31 }] },
    };
    const w = mount(TopologySelection, {
      props: { node: undefined, message, messageGone: false, actions: [], canIsolate: false, partitioned: false, canLead: false, canDrop: true, timeBase: 'simulated' },
    });
    const text = w.find('[data-testid="topology-message-fields"]').text();
    expect(text).toContain('term2index5log term1commit5rejectno');
    expect(w.find('[data-testid="message-entries"]').text()).toBe('6/t2 normal 0 B, 7/t2 config 31 B');
  });
});
