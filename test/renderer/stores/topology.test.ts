// @vitest-environment happy-dom
// Acting where one looks: a node or message picked in the topology, and what the user can do with it.
import { mount } from '@vue/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import TopologySelection from '../../../renderer/src/components/TopologySelection.vue';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useTopologyStore } from '../../../renderer/src/stores/topology';
import { apiWithCluster, flush, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

const message = { id: 9, from: 'n1', to: 'n2', type: 'MsgApp', sentAt: 80_000, deliverAt: 80_400, summary: 'entries 5..6, commit 4' };
const state = (messages = [message]) =>
  makeState({
    nodes: [
      makeNode({ id: 'n1', role: 'leader', actions: ['kill', 'restart', 'stop'] }),
      makeNode({ id: 'n2', actions: ['kill', 'restart', 'stop'] }),
      makeNode({ id: 'n3', actions: ['kill', 'restart', 'stop'] }),
    ],
    messages,
    clock: { now: 80_200, running: false, speed: 1 },
  });

describe('topology selection', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithCluster(state())
      .handle('node.kill', () => undefined)
      .handle('fault.partition', () => undefined)
      .handle('membership.transferLeader', () => undefined)
      .handle('embedded.dropMessage', () => undefined);
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
  });

  it("offers a node's published actions, isolating it and handing it the leadership", async () => {
    const topology = useTopologyStore();
    topology.selectNode('n2');
    expect(topology.nodeActions).toEqual(['kill', 'restart', 'stop']);
    expect([topology.canIsolate, topology.canLead]).toEqual([true, true]);
    await topology.act('kill');
    await topology.isolate();
    await topology.lead();
    expect(api.callsOf('node.kill')).toEqual([{ clusterId: 'demo', nodeId: 'n2' }]);
    expect(api.callsOf('fault.partition')).toEqual([{ clusterId: 'demo', groups: [['n2'], ['n1', 'n3']] }]);
    expect(api.callsOf('membership.transferLeader')).toEqual([{ clusterId: 'demo', to: 'n2' }]);
    // The leader cannot be handed leadership it has; a second click puts the node down.
    topology.selectNode('n1');
    expect(topology.canLead).toBe(false);
    topology.selectNode('n1');
    expect(topology.selected).toBeNull();
  });

  it('shows a message in flight with its fields, drops it on request, and says when it has arrived', async () => {
    const topology = useTopologyStore();
    topology.selectMessage(9);
    expect(topology.message).toEqual(message);
    const w = mount(TopologySelection, {
      props: { node: undefined, message: topology.message, messageGone: false, actions: [], canIsolate: false, partitioned: false, canLead: false, canDrop: topology.canDrop, timeBase: 'simulated' },
    });
    expect(w.find('[data-testid="topology-message-fields"]').text()).toBe('from → ton1 → n2contententries 5..6, commit 4sent+1:20.0arrives+1:20.4');
    await w.find('[data-testid="topology-drop"]').trigger('click');
    expect(w.emitted('drop')).toHaveLength(1);
    await topology.drop();
    expect(api.callsOf('embedded.dropMessage')).toEqual([{ clusterId: 'demo', messageId: 9 }]);

    topology.selectMessage(9);
    useClusterStateStore().apply({ ...state([]), at: 2000 });
    expect(topology.messageGone).toBe(true);
  });

  it('asks before killing from the topology, as everywhere else', async () => {
    const w = mount(TopologySelection, {
      props: { node: makeNode({ id: 'n2' }), message: undefined, messageGone: false, actions: ['kill', 'restart'], canIsolate: true, partitioned: false, canLead: true, canDrop: false, timeBase: 'simulated' },
      attachTo: document.body,
    });
    await w.find('[data-testid="topology-kill-n2"]').trigger('click');
    await flush();
    expect(w.emitted('act')).toBeUndefined();
    expect(document.querySelector('.n-popconfirm')?.textContent).toContain('SIGKILL');
    await w.find('[data-testid="topology-restart-n2"]').trigger('click');
    expect(w.emitted('act')).toEqual([['restart']]);
    w.unmount();
  });
});
