// @vitest-environment happy-dom
// Adding a node to a remote cluster: the Membership view offers the host profiles to run it on (a real
// HostsService behind the API) and sends the one chosen with membership.addNode; none chosen leaves the
// choice to the backend (the cluster's least used host). Other clusters are not asked for a host.
import { mount } from '@vue/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MembershipPlan } from '../../../electron/shared/api';
import { useMembershipStore } from '../../../renderer/src/stores/membership';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import MembershipView from '../../../renderer/src/views/MembershipView.vue';
import { apiWithCluster, flush, giveElementsASize, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';
import { withRealHosts } from '../hostsApi';

let undoSize: () => void;
beforeAll(() => (undoSize = giveElementsASize()));
afterAll(() => undoSize());
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  document.body.innerHTML = '';
});

const safe: MembershipPlan = { safe: true, reason: 'all voters are up', before: { voters: 3, majority: 2 }, after: { voters: 3, majority: 2 } };
const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

async function mountFor(kind: 'remote' | 'local') {
  const nodes = ['n1', 'n2', 'n3'].map((id, i) => makeNode({ id, kind, role: i === 0 ? 'leader' : 'follower' }));
  const state = makeState({ kind, nodes });
  const api: FakeApi = apiWithCluster(state, [makeCluster({ id: state.clusterId, name: state.name, kind })])
    .handle('membership.plan', () => safe)
    .handle('membership.addNode', (p) => ({ operationId: 'op-add', nodeId: p.nodeId ?? 'n4' }));
  const hosts = await withRealHosts(api);
  cleanups.push(hosts.close);
  const far = await hosts.service.create({ name: 'far', address: '198.51.100.14', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
  const pinia = setupStores(api);
  useNavigationStore().go('membership', state.clusterId);
  const w = mount(MembershipView, { global: { plugins: [pinia] }, attachTo: document.body });
  cleanups.push(() => w.unmount());
  await flush(10);
  return { api, far };
}

describe('adding a node to a remote cluster', () => {
  it('offers the host profiles and sends the chosen one with membership.addNode', async () => {
    const { api, far } = await mountFor('remote');
    expect(byTestId('membership-new-node-host')).not.toBeNull();
    expect(byTestId('membership-new-node-where')?.textContent).toContain('fewest of its nodes');
    // The select's choice, as naive-ui's NSelect emits it.
    useMembershipStore().newNodeHost = far.id;
    await flush();
    expect(byTestId('membership-new-node-where')?.textContent).toContain('starts the new node there (peer port on 198.51.100.14');
    byTestId('membership-add-learner')!.click();
    await flush(10);
    expect(api.callsOf('membership.addNode')).toEqual([{ clusterId: 'demo', host: far.id, uploadRuntime: false }]);
  });

  it("with a host chosen, offers to send the console's Node runtime there, and sends that opt-in only when ticked", async () => {
    const { api, far } = await mountFor('remote');
    expect(byTestId('membership-upload-runtime')).toBeNull();
    useMembershipStore().newNodeHost = far.id;
    await flush();
    const box = byTestId('membership-upload-runtime')!;
    expect(box.textContent).toContain('If far has no Node 20 or newer');
    box.click();
    await flush();
    byTestId('membership-add-learner')!.click();
    await flush(10);
    expect(api.callsOf('membership.addNode')).toEqual([{ clusterId: 'demo', host: far.id, uploadRuntime: true }]);
  });

  it('leaves the host to the backend when none is chosen', async () => {
    const { api } = await mountFor('remote');
    byTestId('membership-add-learner')!.click();
    await flush(10);
    expect(api.callsOf('membership.addNode')).toEqual([{ clusterId: 'demo' }]);
  });

  it('asks no host for a local cluster', async () => {
    const { api } = await mountFor('local');
    expect(byTestId('membership-new-node-host')).toBeNull();
    useMembershipStore().newNodeHost = 'anything';
    byTestId('membership-add-learner')!.click();
    await flush(10);
    expect(api.callsOf('membership.addNode')).toEqual([{ clusterId: 'demo' }]);
  });
});
