// @vitest-environment happy-dom
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useNoticesStore } from '../../../renderer/src/stores/notices';
import { SLOW_AFTER_MS, useOperationsStore } from '../../../renderer/src/stores/operations';
import { mount } from '@vue/test-utils';
import { darkTheme, NConfigProvider } from 'naive-ui';
import { defineComponent } from 'vue';
import TheNotices from '../../../renderer/src/components/TheNotices.vue';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { FakeApi, flush, setupStores } from '../fakeApi';

describe('operations store', () => {
  let api: FakeApi;
  beforeEach(() => {
    vi.useFakeTimers();
    api = new FakeApi();
    setupStores(api);
  });
  afterEach(() => vi.useRealTimers());

  it('lists a request in the progress panel once it runs past a second', async () => {
    const ops = useOperationsStore();
    let finish!: () => void;
    const running = ops.run('Create cluster', () => new Promise<void>((r) => (finish = r)));
    expect(ops.visible.tasks).toEqual([]);
    vi.advanceTimersByTime(SLOW_AFTER_MS);
    expect(ops.visible.tasks.map((t) => t.title)).toEqual(['Create cluster']);
    finish();
    await running;
    expect(ops.tasks).toEqual([]);
  });

  it('returns failures as readable messages and notices, unless quiet', async () => {
    const ops = useOperationsStore();
    const notices = useNoticesStore();
    const boom = () => Promise.reject(new Error('no leader\n    at x (y.js:1:1)'));
    expect(await ops.run('Kill n1', boom)).toEqual({ ok: false, error: 'no leader' });
    expect(notices.items.map((n) => n.text)).toEqual(['Kill n1 failed: no leader']);
    await ops.run('KV put', boom, { quiet: true });
    expect(notices.items).toHaveLength(1);
  });

  it('tracks backend operation progress and reports its failure', () => {
    const ops = useOperationsStore();
    api.emit('operation.progress', { operationId: 'op1', clusterId: 'c', title: 'Add n4', step: 'catching up', fraction: 0.5, done: false });
    expect(ops.visible.operations.map((o) => o.step)).toEqual(['catching up']);
    api.emit('operation.progress', { operationId: 'op1', clusterId: 'c', title: 'Add n4', step: 'failed', fraction: null, done: true, error: 'leader changed' });
    expect(ops.visible.operations).toEqual([]);
    expect(useNoticesStore().items[0].text).toBe('Add n4: leader changed');
  });

  it('reports a cancelled operation as news that fades, not as an error that stays', () => {
    const ops = useOperationsStore();
    const notices = useNoticesStore();
    const undone = 'cancelled: n4 was stopped and removed; the configuration is as before';
    api.emit('operation.progress', { operationId: 'op1', clusterId: 'c', title: 'Add n4', step: 'cancelling', fraction: null, done: true, error: undone, cancelled: true, cancellable: true });
    expect(ops.visible.operations).toEqual([]);
    expect(notices.items.map((n) => ({ kind: n.kind, text: n.text }))).toEqual([{ kind: 'info', text: `Add n4: ${undone}` }]);
    vi.runAllTimers();
    expect(notices.items).toEqual([]);
  });
});

describe('notices', () => {
  it('fades confirmations but keeps errors', () => {
    vi.useFakeTimers();
    setupStores(new FakeApi());
    const notices = useNoticesStore();
    notices.success('done');
    notices.error('Kill n1 failed', new Error('nope'));
    vi.runAllTimers();
    expect(notices.items.map((n) => n.text)).toEqual(['Kill n1 failed: nope']);
    vi.useRealTimers();
  });

  it('shows an error about a cluster only while that cluster is open', async () => {
    const api = new FakeApi();
    setupStores(api);
    const navigation = useNavigationStore();
    const notices = useNoticesStore();
    navigation.go('faults', 'a');
    await useOperationsStore().run('Kill n1', () => Promise.reject(new Error('no leader')));
    api.emit('operation.progress', { operationId: 'op', clusterId: 'b', title: 'Add n4', step: 'x', fraction: null, done: true, error: 'leader changed' });
    notices.error('The console server went away');
    const shown = () => notices.visible.map((n) => n.text);
    expect(shown()).toEqual(['Kill n1 failed: no leader', 'The console server went away']);
    navigation.go('faults', 'b');
    expect(shown()).toEqual(['Add n4: leader changed', 'The console server went away']);
  });

  it('sits on an opaque background, so the page does not show through in dark mode', async () => {
    setupStores(new FakeApi());
    useNoticesStore().error('Kill n1 failed: no leader');
    const w = mount(defineComponent({ components: { NConfigProvider, TheNotices }, setup: () => ({ darkTheme }), template: '<NConfigProvider :theme="darkTheme"><TheNotices /></NConfigProvider>' }));
    await flush();
    const notice = w.find('.notice').element as HTMLElement;
    // The alert's own tint is translucent in the dark theme; under it lies the theme's card color, fully opaque.
    expect(notice.style.background).toMatch(/^rgb\(\d+, \d+, \d+\)$/);
    w.unmount();
  });
});
