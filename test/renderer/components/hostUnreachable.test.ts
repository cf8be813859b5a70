// @vitest-environment happy-dom
// A node whose host's SSH link is down (the backend's NodeView.hostUnreachable) reads "unknown (host
// unreachable)" on every view that shows its process, never crashed; its card and row come back to
// normal as soon as the backend says the link is back.
import { mount } from '@vue/test-utils';
import type { Component } from 'vue';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import LogGrid from '../../../renderer/src/components/LogGrid.vue';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import DashboardView from '../../../renderer/src/views/DashboardView.vue';
import FaultsView from '../../../renderer/src/views/FaultsView.vue';
import { apiWithCluster, flush, giveElementsASize, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

let undoSize: () => void;
beforeAll(() => (undoSize = giveElementsASize()));
afterAll(() => undoSize());
afterEach(() => {
  document.body.innerHTML = '';
});

async function mountView(view: Component, api: FakeApi, route: 'dashboard' | 'faults') {
  const pinia = setupStores(api);
  useNavigationStore().go(route, 'demo');
  const wrapper = mount(view, { global: { plugins: [pinia] }, attachTo: document.body });
  await flush(8);
  return wrapper;
}

const text = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`)?.textContent?.trim();

const cut = () =>
  makeState({
    kind: 'remote',
    nodes: [
      makeNode({ id: 'n1', kind: 'remote', role: 'leader' }),
      makeNode({ id: 'n2', kind: 'remote' }),
      makeNode({ id: 'n3', kind: 'remote', process: 'unknown', reachable: false, role: 'unknown', lastSeen: 1, hostUnreachable: 'h3', actions: [] }),
    ],
  });

describe('a node whose host is unreachable', () => {
  it('reads "unknown (host unreachable)" on the dashboard, and normal again once the link is back', async () => {
    const api = apiWithCluster(cut());
    const w = await mountView(DashboardView, api, 'dashboard');
    expect(text('node-health-n3')).toBe('unknown (host unreachable)');
    expect(text('node-process-n3')).toBe('remote · unknown (host unreachable)');
    expect(text('node-health-n2')).not.toContain('unknown');
    api.emit('cluster.state', makeState({ kind: 'remote', nodes: ['n1', 'n2', 'n3'].map((id, i) => makeNode({ id, kind: 'remote', role: i === 0 ? 'leader' : 'follower' })) }));
    await flush(8);
    expect(text('node-process-n3')).toBe('remote · running');
    expect(text('node-health-n3')).not.toContain('unknown');
    w.unmount();
  });

  it('reads the same in the Faults view', async () => {
    const w = await mountView(FaultsView, apiWithCluster(cut()), 'faults');
    expect(text('fault-process-n3')).toBe('unknown (host unreachable)');
    expect(text('fault-process-n2')).toBe('running');
    w.unmount();
  });

  it('heads its column in the Log inspector as "unknown (host unreachable)", not as down', () => {
    const w = mount(LogGrid, {
      props: { nodeIds: ['n1', 'n2', 'n3'], leader: 'n1', down: ['n2', 'n3'], hostUnreachable: ['n3'], rowCount: 0, row: () => [], indexOfRow: (i: number) => i + 1, dark: false, selected: null, jump: null },
    });
    expect(w.find('[data-testid="log-head-n3"]').text()).toBe('n3 · unknown (host unreachable)');
    expect(w.find('[data-testid="log-head-n2"]').text()).toBe('n2 · down');
    w.unmount();
  });
});
