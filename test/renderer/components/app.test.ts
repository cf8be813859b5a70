// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import App from '../../../renderer/src/App.vue';
import { ApiError } from '../../../electron/shared/api';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores } from '../fakeApi';

afterEach(() => {
  document.body.innerHTML = '';
});

describe('the console shell', () => {
  it('opens on the embedded demo cluster and shows exactly one leader', async () => {
    const api = apiWithCluster(makeState({ term: 4, nodes: [makeNode({ id: 'n1', role: 'leader', term: 4 }), makeNode({ id: 'n2', term: 4 }), makeNode({ id: 'n3', term: 4 })] }), [
      makeCluster({ id: 'local1', kind: 'local' }),
      makeCluster({ id: 'demo', name: 'Demo', kind: 'embedded' }),
    ]);
    const pinia = setupStores(api);
    const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    expect(wrapper.find('[data-testid="view-dashboard"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="header-cluster"]').text()).toBe('Demo');
    expect(wrapper.find('[data-testid="header-leader"]').text()).toBe('n1');
    expect(wrapper.find('[data-testid="header-term"]').text()).toBe('4');
    const roles = wrapper.findAll('[data-testid^="node-role-"]').map((r) => r.text());
    expect(roles.filter((r) => r === 'leader')).toHaveLength(1);
    expect(roles).toHaveLength(3);
    expect(wrapper.find('[data-testid="narrative"]').text()).toContain('n1 is the leader of term 4');
    wrapper.unmount();
  });

  it('switches views from the sidebar and by keyboard', async () => {
    const pinia = setupStores(apiWithCluster());
    const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    await wrapper.find('[data-testid="nav-kv"]').trigger('click');
    await flush();
    expect(wrapper.find('[data-testid="view-kv"]').exists()).toBe(true);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '1' }));
    await flush();
    expect(wrapper.find('[data-testid="view-clusters"]').exists()).toBe(true);
    wrapper.unmount();
  });

  it('shows what to do when there is no cluster at all', async () => {
    const pinia = setupStores(apiWithCluster(makeState(), []));
    const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    expect(wrapper.find('[data-testid="view-clusters"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="empty-state"]').text()).toContain('Create a cluster to start');
    wrapper.unmount();
  });

  it('holds a cluster view back until its cluster is read, and says why when it cannot be', async () => {
    let fail = true;
    const api = apiWithCluster().handle('cluster.state', () => {
      if (fail) throw new ApiError('unavailable', 'raftd on n1 does not answer');
      return makeState();
    });
    const pinia = setupStores(api);
    useNavigationStore().go('kv', 'demo');
    const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    expect(wrapper.find('[data-testid="gate-error"]').text()).toContain('raftd on n1 does not answer');
    expect(wrapper.find('[data-testid="view-kv"]').exists()).toBe(false);
    // Views of no single cluster do not wait for one.
    await wrapper.find('[data-testid="nav-activity"]').trigger('click');
    await flush();
    expect(wrapper.find('[data-testid="view-activity"]').exists()).toBe(true);
    await wrapper.find('[data-testid="nav-kv"]').trigger('click');
    fail = false;
    await wrapper.find('[data-testid="gate-error"] button').trigger('click');
    await flush();
    expect(wrapper.find('[data-testid="view-kv"]').exists()).toBe(true);
    wrapper.unmount();
  });

  it('returns to where a view was scrolled after visiting another', async () => {
    const pinia = setupStores(apiWithCluster());
    const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(10);
    const scroller = () => wrapper.find('.view-scroll').element as HTMLElement;
    await wrapper.find('[data-testid="nav-faults"]').trigger('click');
    await flush();
    scroller().scrollTop = 420;
    await wrapper.find('[data-testid="nav-kv"]').trigger('click');
    await flush();
    expect(scroller().scrollTop).toBe(0);
    await wrapper.find('[data-testid="nav-faults"]').trigger('click');
    await flush();
    expect(scroller().scrollTop).toBe(420);
    wrapper.unmount();
  });
});
