// @vitest-environment happy-dom
// Time travel in the renderer: one store decides the moment shown, and every view reads that moment
// through clusterState.current; nothing can be done while the past (or a replay) is shown.
import { mount } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterState, TraceMomentView, TraceRange } from '../../../electron/shared/api';
import { readOnlyState } from '../../../electron/shared/trace-format';
import TheHeader from '../../../renderer/src/components/TheHeader.vue';
import TheSidebar from '../../../renderer/src/components/TheSidebar.vue';
import { clusterHealthLabel } from '../../../renderer/src/logic/health';
import { MAX_REQUEST_FRAME_BYTES } from '../../../electron/shared/ws-protocol';
import { useClusterStateStore } from '../../../renderer/src/stores/clusterState';
import { useKvStore } from '../../../renderer/src/stores/kv';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import { useNoticesStore } from '../../../renderer/src/stores/notices';
import { useOperationsStore } from '../../../renderer/src/stores/operations';
import { useSimulationStore } from '../../../renderer/src/stores/simulation';
import { useTimelineStore } from '../../../renderer/src/stores/timeline';
import { advance, describeMoment, RANGE_RETRY_MS, useTimeTravelStore } from '../../../renderer/src/stores/timeTravel';
import { apiWithCluster, flush, makeCluster, makeNode, makeState, setupStores, type FakeApi } from '../fakeApi';

// A local cluster's history: n1 led term 2 until 5000, then n2 leads term 3 (live now, at 9000).
const before = makeState({
  kind: 'local',
  at: 4000,
  leader: 'n1',
  term: 2,
  timeline: [{ at: 1000, term: 2, leader: 'n1', kind: 'leader-elected', detail: 'n1 leads term 2' }],
});
const now = makeState({
  kind: 'local',
  at: 9000,
  leader: 'n2',
  term: 3,
  nodes: [makeNode({ id: 'n1', process: 'killed', reachable: false, role: 'unknown' }), makeNode({ id: 'n2', role: 'leader', term: 3 }), makeNode({ id: 'n3', term: 3 })],
  timeline: [...before.timeline, { at: 5000, term: 2, leader: '', kind: 'leader-lost', detail: 'n1 is unreachable' }, { at: 6000, term: 3, leader: 'n2', kind: 'leader-elected', detail: 'n2 leads term 3' }],
});
const recorded = (at: number): ClusterState => (at < 6000 ? before : now);

function apiWithTrace(range: TraceRange, record = recorded, live: ClusterState = now): FakeApi {
  return apiWithCluster(live, [makeCluster({ id: live.clusterId, kind: live.kind })])
    .handle('trace.range', () => range)
    .handle('trace.at', ({ at }): TraceMomentView | null => (at < range.first ? null : { at: Math.min(at, range.last), state: readOnlyState(record(at)), health: 'healthy', messages: [] }))
    .handle('node.kill', () => undefined)
    .handle('trace.export', () => ({ filename: 'demo.raft-trace.ndjson', text: '{}', frames: 1, bytes: 3 }));
}

describe('time travel store', () => {
  let api: FakeApi;
  beforeEach(async () => {
    api = apiWithTrace({ first: 1000, last: 9000, frames: 40, bytes: 1, replay: false });
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
  });
  afterEach(() => vi.useRealTimers());

  it('puts every view at the moment chosen, and back at live', async () => {
    const clusterState = useClusterStateStore();
    const timeTravel = useTimeTravelStore();
    expect(timeTravel.live).toBe(true);
    expect(clusterState.current?.leader).toBe('n2');

    await timeTravel.seek(3000);
    expect(timeTravel.live).toBe(false);
    expect(api.callsOf('trace.at')).toEqual([{ clusterId: 'demo', at: 3000 }]);
    // The dashboard, header, topology… all read clusterState.current: the old leader and term.
    expect(clusterState.current?.leader).toBe('n1');
    expect(clusterState.current?.term).toBe(2);
    expect(clusterState.facts?.leadership).toBe('leader');
    // The live state keeps arriving underneath, and is still known as such.
    expect(clusterState.live?.leader).toBe('n2');
    // The timeline shows what had happened by then, not the election that came later.
    expect(useTimelineStore().events.map((e) => e.detail)).toEqual(['n1 leads term 2']);

    timeTravel.goLive();
    await flush();
    expect(clusterState.current?.leader).toBe('n2');
    expect(useTimelineStore().events).toHaveLength(3);
  });

  it('clamps a moment to what is recorded', async () => {
    const timeTravel = useTimeTravelStore();
    await timeTravel.seek(10);
    expect(timeTravel.moment).toBe(1000);
    await timeTravel.seek(1e13);
    expect(timeTravel.moment).toBe(9000);
  });

  it('refuses actions while the past is shown, saying why, and allows them live again', async () => {
    const timeTravel = useTimeTravelStore();
    const operations = useOperationsStore();
    await timeTravel.seek(3000);
    expect(timeTravel.readOnlyReason).toMatch(/^You are looking at the past \(.*\): actions are off until you return to live\.$/);
    const outcome = await operations.run('Kill n2', () => api.invoke('node.kill', { clusterId: 'demo', nodeId: 'n2' }));
    expect(outcome.ok).toBe(false);
    expect(api.callsOf('node.kill')).toEqual([]);
    expect(useNoticesStore().visible.at(-1)?.text).toMatch(/^Kill n2: not done\. You are looking at the past/);
    const kv = useKvStore();
    kv.key = 'k';
    expect(kv.problem).toBe(timeTravel.readOnlyReason);
    // Creating or deleting clusters is not an action on the moment shown.
    expect((await operations.run('Create', async () => 'ok', { clusterId: null })).ok).toBe(true);

    timeTravel.goLive();
    expect(kv.problem).toBeNull();
    expect((await operations.run('Kill n2', () => api.invoke('node.kill', { clusterId: 'demo', nodeId: 'n2' }))).ok).toBe(true);
    expect(api.callsOf('node.kill')).toHaveLength(1);
  });

  it('plays forward at the chosen speed and goes live at the end', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    vi.setSystemTime(100_000);
    const timeTravel = useTimeTravelStore();
    await timeTravel.seek(4000);
    timeTravel.speed = 5;
    await timeTravel.play();
    expect(timeTravel.playing).toBe(true);
    // 200 ms at 5× is a second of history.
    vi.advanceTimersByTime(200);
    expect(timeTravel.moment).toBe(5000);
    vi.advanceTimersByTime(1000);
    expect(timeTravel.live).toBe(true);
    expect(timeTravel.playing).toBe(false);
  });

  it('exports the trace as a file', async () => {
    const saved: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      saved.push(this.download);
    });
    Object.assign(URL, { createObjectURL: () => 'blob:x', revokeObjectURL: () => undefined });
    expect(await useTimeTravelStore().exportTrace(2000)).toBe(true);
    expect(api.callsOf('trace.export')).toEqual([{ clusterId: 'demo', from: 2000 }]);
    expect(saved).toEqual(['demo.raft-trace.ndjson']);
    click.mockRestore();
  });
});

describe('health at a past moment', () => {
  it('the picker shows the health of remote clusters too', async () => {
    const remote = makeCluster({ id: 'far', name: 'Far', kind: 'remote', health: 'no-leader' });
    const pinia = setupStores(apiWithCluster(now, [remote]));
    useNavigationStore().go('dashboard', 'far');
    const sidebar = mount(TheSidebar, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(8);
    expect(sidebar.find('[data-testid="cluster-select"]').text()).toBe(`Far · ${clusterHealthLabel['no-leader']}`);
    sidebar.unmount();
  });

  it("the sidebar's cluster picker shows the health the open cluster had then, as the header does; other clusters stay live", async () => {
    // Live, "Travel" is degraded (n1 was killed); the recorded moment says it was healthy then.
    const clusters = [
      makeCluster({ id: 'demo', name: 'Travel', kind: 'local', health: 'degraded' }),
      makeCluster({ id: 'other', name: 'Other', kind: 'local', health: 'no-leader' }),
    ];
    const api = apiWithCluster(now, clusters)
      .handle('trace.range', () => ({ first: 1000, last: 9000, frames: 40, bytes: 1, replay: false }))
      .handle('trace.at', ({ at }): TraceMomentView => ({ at, state: readOnlyState(recorded(at)), health: 'healthy', messages: [] }));
    const pinia = setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    const sidebar = mount(TheSidebar, { global: { plugins: [pinia] }, attachTo: document.body });
    const header = mount(TheHeader, { global: { plugins: [pinia] }, attachTo: document.body });
    await flush(8);
    const picked = () => sidebar.find('[data-testid="cluster-select"]').text();
    const headerHealth = () => header.find('[data-testid="header-health"]').text();
    expect(picked()).toBe(`Travel · ${clusterHealthLabel.degraded}`);
    expect(headerHealth()).toBe(clusterHealthLabel.degraded);

    await useTimeTravelStore().seek(3000);
    await flush();
    expect(headerHealth()).toBe(clusterHealthLabel.healthy);
    expect(picked()).toBe(`Travel · ${clusterHealthLabel.healthy}`);
    // Only the cluster open at that moment is shown in the past.
    expect(useClusterStateStore().healthOf(clusters[1])).toBe('no-leader');

    useTimeTravelStore().goLive();
    await flush();
    expect(picked()).toBe(`Travel · ${clusterHealthLabel.degraded}`);
    sidebar.unmount();
    header.unmount();
  });
});

describe('a new cluster', () => {
  it('asks for its trace again once states arrive, when nothing was recorded at first', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(100_000);
    let range: TraceRange | null = null;
    const api = apiWithTrace({ first: 0, last: 0, frames: 0, bytes: 0, replay: false }).handle('trace.range', () => range);
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
    const timeTravel = useTimeTravelStore();
    expect(timeTravel.range).toBeNull();
    range = { first: 1000, last: 2000, frames: 2, bytes: 10, replay: false };
    api.emit('cluster.state', makeState({ at: 10_000 }));
    await flush();
    // Too soon after the first question: not asked again yet.
    expect(api.callsOf('trace.range')).toHaveLength(1);
    vi.setSystemTime(100_000 + RANGE_RETRY_MS + 1);
    api.emit('cluster.state', makeState({ at: 11_000 }));
    await flush();
    expect(api.callsOf('trace.range')).toHaveLength(2);
    expect(timeTravel.range).toEqual(range);
    expect(timeTravel.end).toBe(11_000);
    vi.useRealTimers();
  });
});

describe('an embedded cluster in the past', () => {
  it('keeps the moment\'s simulated time standing still, and offers no clock controls', async () => {
    const running = makeState({ at: 4000, clock: { now: 80_000, running: true, speed: 1 } });
    const api = apiWithTrace({ first: 1000, last: 9000, frames: 40, bytes: 1, replay: false }, () => running, running).handle('embedded.clock', () => undefined);
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
    const simulation = useSimulationStore();
    expect(simulation.available).toBe(true);
    await useTimeTravelStore().seek(3000);
    expect(simulation.clock).toEqual({ now: 80_000, running: false, speed: 1 });
    expect(simulation.available).toBe(false);
    await simulation.toggle();
    expect(api.callsOf('embedded.clock')).toEqual([]);
  });
});

describe('importing a trace', () => {
  it('refuses a file too large to send before sending it, and opens an imported one', async () => {
    const replay = makeCluster({ id: 'replay-demo', name: 'Demo (replay)' });
    const api = apiWithTrace({ first: 1000, last: 9000, frames: 40, bytes: 1, replay: false }).handle('trace.import', () => replay);
    setupStores(api);
    const timeTravel = useTimeTravelStore();
    // Random bytes do not compress: far over the request frame limit either way.
    const noise = new Uint8Array(MAX_REQUEST_FRAME_BYTES);
    for (let i = 0; i < noise.length; i += 65536) crypto.getRandomValues(noise.subarray(i, i + 65536));
    expect(await timeTravel.importTrace(new Blob([noise]))).toBeUndefined();
    expect(timeTravel.error).toMatch(/^Import failed: the file is too large to send \(.* MiB.*; at most .* MiB\)$/);
    expect(api.callsOf('trace.import')).toEqual([]);

    expect(await timeTravel.importTrace(new Blob(['{"format":"raft-console-trace"}\n']))).toEqual(replay);
    expect(api.callsOf('trace.import')).toHaveLength(1);
    expect(useNavigationStore().clusterId).toBe('replay-demo');
  });
});

describe('a replay', () => {
  it('opens at its start, has no live moment, and is read-only', async () => {
    const api = apiWithTrace({ first: 1000, last: 9000, frames: 40, bytes: 1, replay: true }, recorded, readOnlyState(now));
    setupStores(api);
    useNavigationStore().go('dashboard', 'demo');
    useClusterStateStore();
    await flush();
    const timeTravel = useTimeTravelStore();
    expect(timeTravel.isReplay).toBe(true);
    expect(timeTravel.moment).toBe(1000);
    expect(timeTravel.live).toBe(false);
    expect(useClusterStateStore().current?.leader).toBe('n1');
    expect(timeTravel.readOnlyReason).toMatch(/replay of a recorded trace/);
    timeTravel.goLive();
    await flush();
    expect(timeTravel.moment).toBe(1000);
  });
});

describe('time travel logic', () => {
  it('advances by the time passed times the speed, no further than the end', () => {
    expect(advance(1000, 100, 2, 5000)).toEqual({ moment: 1200, atEnd: false });
    expect(advance(4950, 100, 1, 5000)).toEqual({ moment: 5000, atEnd: true });
  });

  it('tells an embedded moment in simulated time elapsed, others as the local time', () => {
    const embedded = { at: 0, state: makeState({ clock: { now: 80_400, running: true, speed: 1 } }), health: 'healthy' as const, messages: [] };
    expect(describeMoment(embedded, 0)).toBe('+1:20.4 simulated');
    expect(describeMoment(undefined, new Date(2026, 0, 1, 13, 5, 7, 250).getTime())).toBe('13:05:07.250');
  });
});
