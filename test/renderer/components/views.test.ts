// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import type { Component } from 'vue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import ClustersView from '../../../renderer/src/views/ClustersView.vue';
import DashboardView from '../../../renderer/src/views/DashboardView.vue';
import FaultsView from '../../../renderer/src/views/FaultsView.vue';
import KvView from '../../../renderer/src/views/KvView.vue';
import MembershipView from '../../../renderer/src/views/MembershipView.vue';
import NodeLogsView from '../../../renderer/src/views/NodeLogsView.vue';
import TimelineView from '../../../renderer/src/views/TimelineView.vue';
import LogInspectorView from '../../../renderer/src/views/LogInspectorView.vue';
import { apiWithCluster, flush, giveElementsASize, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

let undoSize: () => void;
beforeAll(() => (undoSize = giveElementsASize()));
afterAll(() => undoSize());
afterEach(() => {
  document.body.innerHTML = '';
});

async function mountView(view: Component, api: FakeApi, route: Parameters<ReturnType<typeof useNavigationStore>['go']>[0] = 'dashboard') {
  const pinia = setupStores(api);
  useNavigationStore().go(route, 'demo');
  const wrapper = mount(view, { global: { plugins: [pinia] }, attachTo: document.body });
  await flush(8);
  return wrapper;
}

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

describe('dashboard view', () => {
  it('counts failures tolerated among voters up and calls a dead node\'s lag unknown', async () => {
    const state = makeState({
      nodes: [makeNode({ id: 'n1', role: 'leader', lastIndex: 7 }), makeNode({ id: 'n2', lastIndex: 6 }), makeNode({ id: 'n3', process: 'crashed', reachable: false, lastIndex: 5 })],
    });
    const w = await mountView(DashboardView, apiWithCluster(state));
    // 3 voters, majority 2, 2 up: no further failure is tolerated.
    expect(byTestId('dashboard-quorum')?.textContent?.trim()).toBe('2 of 3');
    expect(byTestId('dashboard-majority')?.textContent?.trim()).toBe(', 2 needed');
    expect(byTestId('dashboard-tolerated')?.textContent?.trim()).toBe('0');
    // 7 − 6 = 1 behind; the crashed node cannot be asked.
    expect(byTestId('node-lag-n2')?.textContent?.trim()).toBe('1 behind');
    expect(byTestId('node-lag-n3')?.textContent?.trim()).toBe('unknown');
    w.unmount();
  });
});

describe('membership view', () => {

  it('shows the majority change and blocks an unsafe step with its reason', async () => {
    const api = apiWithCluster().handle('membership.plan', () => ({
      safe: false,
      reason: 'n3 is down: with n4 added the cluster would need 3 of 4 voters and only 2 are up',
      before: { voters: 3, majority: 2 },
      after: { voters: 4, majority: 3 },
    }));
    const w = await mountView(MembershipView, api, 'membership');
    expect(w.find('[data-testid="membership-majority"]').text()).toBe('majority 2 of 3 → 3 of 4');
    expect(w.find('[data-testid="membership-blocked"]').text()).toContain('only 2 are up');
    expect(w.find('[data-testid="membership-add-learner"]').attributes('disabled')).toBeDefined();
    w.unmount();
  });

  it('adds a learner with the chosen name when the step is safe', async () => {
    const api = apiWithCluster().handle('membership.addNode', (p) => ({ operationId: 'op', nodeId: p.nodeId ?? 'n4' }));
    const w = await mountView(MembershipView, api, 'membership');
    expect(w.find('[data-testid="membership-safe"]').exists()).toBe(true);
    await w.find('[data-testid="membership-new-node-id"] input').setValue('n7');
    await flush();
    await w.find('[data-testid="membership-add-learner"]').trigger('click');
    await flush();
    expect(api.callsOf('membership.addNode')).toEqual([{ clusterId: 'demo', nodeId: 'n7' }]);
    expect(w.find('[data-testid="membership-add"]').attributes('data-stage')).toBe('catching-up');
    w.unmount();
  });
});

describe('faults view', () => {
  it('kills the leader and cuts the network by chosen sides', async () => {
    const api = apiWithCluster().handle('node.kill', () => undefined).handle('fault.partition', () => undefined);
    const w = await mountView(FaultsView, api, 'faults');
    // Killing asks first, here as in each row: nothing happens until the question is answered.
    await w.find('[data-testid="fault-kill-leader"]').trigger('click');
    await flush();
    expect(api.callsOf('node.kill')).toEqual([]);
    const confirm = [...document.querySelectorAll<HTMLButtonElement>('.n-popconfirm__action button')].find((b) => b.textContent?.trim() === 'Kill');
    expect(document.querySelector('.n-popconfirm')?.textContent).toContain('SIGKILL');
    confirm!.click();
    await w.find('[data-testid="partition-n3-side-1"] input').trigger('change');
    await flush();
    expect(w.find('[data-testid="partition-outcome"]').text()).toContain('Side A holds a majority');
    await w.find('[data-testid="partition-apply"]').trigger('click');
    await flush();
    expect(api.callsOf('node.kill')).toEqual([{ clusterId: 'demo', nodeId: 'n1' }]);
    expect(api.callsOf('fault.partition')).toEqual([{ clusterId: 'demo', groups: [['n1', 'n2'], ['n3']] }]);
    w.unmount();
  });

  it('offers forced recovery only when the majority is gone for good', async () => {
    const dead = makeState({ leader: '', nodes: [makeNode({ id: 'n1', process: 'killed' }), makeNode({ id: 'n2', process: 'killed' }), makeNode({ id: 'n3' })] });
    const w = await mountView(FaultsView, apiWithCluster(dead), 'faults');
    expect(w.find('[data-testid="quorum-lost"]').text()).toContain('Only 1 of 3 voters can still come back');
    expect(w.find('[data-testid="recover-from-n3"]').attributes('disabled')).toBeDefined();
    w.unmount();
    const healthy = await mountView(FaultsView, apiWithCluster(), 'faults');
    expect(healthy.find('[data-testid="quorum-lost"]').exists()).toBe(false);
    healthy.unmount();
  });
});

describe('KV view', () => {
  it('puts a key and shows the index and term it committed at', async () => {
    const api = apiWithCluster().handle('kv.put', () => ({ index: 42, term: 7 }));
    const w = await mountView(KvView, api, 'kv');
    await w.find('[data-testid="kv-key"] input').setValue('color');
    await w.find('[data-testid="kv-value"] textarea').setValue('blue');
    await w.find('[data-testid="kv-form"]').trigger('submit');
    await flush();
    expect(api.callsOf('kv.put')).toEqual([{ clusterId: 'demo', key: 'color', value: 'blue' }]);
    expect(w.find('[data-testid="kv-committed-at"]').text()).toBe('committed at index 42, term 7');
    w.unmount();
  });
});

describe('clusters view', () => {
  it('creates a local 3-node cluster through the wizard', async () => {
    const api = apiWithCluster().handle('clusters.create', (p) => makeCluster({ id: 'c2', name: p.name, kind: p.kind }));
    const w = await mountView(ClustersView, api, 'clusters');
    expect(w.find('[data-testid="cluster-card-demo"]').text()).toContain('healthy');
    await w.find('[data-testid="create-cluster"]').trigger('click');
    await flush();
    byTestId('wizard-kind-local')?.querySelector('input')?.click();
    byTestId('wizard-next')?.click();
    await flush();
    expect(byTestId('wizard-size-advice')?.textContent).toContain('majority 2 of 3: survives 1 failed node');
    byTestId('wizard-next')?.click();
    await flush();
    byTestId('wizard-create')?.click();
    await flush();
    expect(api.callsOf('clusters.create')).toEqual([{ name: 'cluster-2', kind: 'local', size: 3, nodeNames: ['n1', 'n2', 'n3'] }]);
    expect(useNavigationStore().view).toBe('dashboard');
    w.unmount();
  });
});

describe('timeline view', () => {
  it('asks for an election when nothing happened, and lists events otherwise', async () => {
    const empty = await mountView(TimelineView, apiWithCluster(), 'timeline');
    expect(empty.find('[data-testid="empty-state"]').text()).toContain('Kill the leader in Faults');
    empty.unmount();
    const state = makeState({
      timeline: [
        { at: 100, term: 1, leader: '', kind: 'election-started', detail: 'n1 timed out' },
        { at: 120, term: 1, leader: 'n1', kind: 'leader-elected', detail: 'n1 won 3 votes' },
      ],
    });
    const w = await mountView(TimelineView, apiWithCluster(state), 'timeline');
    expect(w.find('[data-testid="timeline-elections"]').text()).toBe('1');
    expect(w.find('[data-testid="timeline-event-leader-elected"]').text()).toContain('n1 won 3 votes');
    expect(w.find('[data-testid="term-chart"]').exists()).toBe(true);
    w.unmount();
  });
});

describe('node logs view', () => {
  it('shows lines of all members merged by time, and an empty state that says what to do', async () => {
    const lines = [
      { clusterId: 'demo', nodeId: 'n2', time: 20, level: 'info' as const, msg: 'became follower', raw: '{}' },
      { clusterId: 'demo', nodeId: 'n1', time: 10, level: 'warn' as const, msg: 'became leader', raw: '{}' },
    ];
    const w = await mountView(NodeLogsView, apiWithCluster().handle('nodeLogs.read', () => lines), 'nodeLogs');
    expect(w.findAll('[data-testid="node-log-line"]').map((l) => l.text())).toEqual([
      expect.stringContaining('n1warnbecame leader'),
      expect.stringContaining('n2infobecame follower'),
    ]);
    w.unmount();
    const empty = await mountView(NodeLogsView, apiWithCluster(), 'nodeLogs');
    expect(empty.find('[data-testid="empty-state"]').text()).toContain('Turn on live tail');
    empty.unmount();
  });
});

describe('log inspector view', () => {
  it('opens the decoded content of a clicked entry', async () => {
    const tail = [
      { index: 1, term: 1, type: 'noop' as const, summary: 'no-op' },
      { index: 2, term: 1, type: 'normal' as const, summary: 'put color=blue' },
    ];
    const state = makeState({ nodes: ['n1', 'n2', 'n3'].map((id, i) => makeNode({ id, role: i === 0 ? 'leader' : 'follower', lastIndex: 2, commitIndex: 2, logTail: tail })) });
    const api = apiWithCluster(state).handle('log.entry', (p) => ({ ...tail[p.index - 1], decoded: { op: 'put', key: 'color', value: 'blue' } }));
    const w = await mountView(LogInspectorView, api, 'log');
    await w.find('[data-testid="log-cell-n2-2"]').trigger('click');
    await flush();
    expect(byTestId('log-entry-summary')?.textContent).toBe('put color=blue');
    expect(byTestId('log-entry-decoded')?.textContent).toContain('"key": "color"');
    w.unmount();
  });
});
