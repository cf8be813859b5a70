import { afterEach, describe, expect, it, vi } from 'vitest';
import { useConnectionStore } from '../../../renderer/src/stores/connection';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useShortcutsStore } from '../../../renderer/src/stores/shortcuts';
import { useThemeStore } from '../../../renderer/src/stores/theme';
import { apiWithCluster, fakeConnection, FakeApi, flush, makeState, setupStores } from '../fakeApi';

const key = (k: string) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false });

describe('theme store', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('follows the OS until the user picks, and remembers the pick', () => {
    const saved = new Map<string, string>();
    vi.stubGlobal('localStorage', { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => saved.set(k, v), removeItem: (k: string) => saved.delete(k) });
    let listener: ((e: { matches: boolean }) => void) | undefined;
    vi.stubGlobal('matchMedia', () => ({ matches: true, addEventListener: (_: string, l: typeof listener) => (listener = l) }));
    setupStores(new FakeApi());
    const theme = useThemeStore();
    expect(theme.dark).toBe(true);
    listener?.({ matches: false });
    expect(theme.dark).toBe(false);
    theme.toggle();
    expect([theme.preference, theme.dark, saved.get('raft-console.theme')]).toEqual(['dark', true, 'dark']);
  });
});

describe('shortcuts and navigation', () => {
  it('switches views by digit and the hash reflects it', () => {
    setupStores(apiWithCluster());
    const nav = useNavigationStore();
    nav.selectCluster('demo');
    const shortcuts = useShortcutsStore();
    expect(shortcuts.handleKey(key('3'))).toBe(true);
    expect(nav.view).toBe('log');
    expect(nav.toHash()).toBe('#/log/demo');
    expect(shortcuts.handleKey(key('x'))).toBe(false);
    shortcuts.handleKey(key('?'));
    expect(shortcuts.helpOpen).toBe(true);
    nav.fromHash('#/kv/other');
    expect([nav.view, nav.clusterId]).toEqual(['kv', 'other']);
  });

  it('pauses and steps embedded time from the keyboard', async () => {
    const api = apiWithCluster().handle('embedded.clock', () => undefined);
    api.handle('cluster.state', () => ({ ...(apiState()), clock: { now: 500, running: true, speed: 1 } }));
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    const shortcuts = useShortcutsStore();
    await flush();
    shortcuts.handleKey(key(' '));
    shortcuts.handleKey(key('s'));
    await flush();
    expect(api.callsOf('embedded.clock')).toEqual([
      { clusterId: 'demo', action: 'pause' },
      { clusterId: 'demo', action: 'step', stepMs: 100 },
    ]);
  });
});

describe('connection store', () => {
  it('re-subscribes every listener when the connection is replaced and reloads on reconnect', async () => {
    const first = apiWithCluster();
    setupStores(first);
    const nav = useNavigationStore();
    nav.go('dashboard', 'demo');
    const conn = useConnectionStore();
    const { useClusterStateStore } = await import('../../../renderer/src/stores/clusterState');
    useClusterStateStore();
    await flush();
    expect(first.listenerCount('cluster.state')).toBe(1);
    const second = apiWithCluster();
    const connection = fakeConnection(second, 'connecting');
    conn.attach(connection);
    expect(first.listenerCount('cluster.state')).toBe(0);
    expect(second.listenerCount('cluster.state')).toBe(1);
    connection.setStatus('open');
    await flush();
    expect(second.callsOf('cluster.state')).toEqual([{ clusterId: 'demo' }]);
  });
});

function apiState() {
  return makeState({ at: 1, term: 1, nodes: [] });
}

