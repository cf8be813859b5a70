// Guided scenarios through the console API: each plays on a cluster of its own that every other
// view reads like any cluster, one step per scenarios.next.
import { afterEach, describe, expect, it } from 'vitest';
import { scenarios } from '../../../core/scenarios/index.js';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import type { ClusterState, ClusterSummary, Results } from '../../../electron/shared/api.js';
import { tempDir } from '../helpers.js';

describe('scenarios.* (console API)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function open(): Promise<ConsoleSession> {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    // Steps play at once here; the console paces them for people to watch (WATCH_PACE, tested below).
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, scenarioPace: false });
    cleanup.push(() => service.close());
    return service.openSession(() => {});
  }

  it('lists every scenario of core/scenarios', async () => {
    const session = await open();
    const list = (await session.invoke('scenarios.list', {})) as Results['scenarios.list'];
    expect(list.map((s) => s.id)).toEqual(scenarios.map((s) => s.id));
    expect(list.every((s) => s.title && s.summary && s.steps > 0)).toBe(true);
  });

  it('starts a scenario on a cluster of its own, time paused, and plays it step by step to its end', async () => {
    const session = await open();
    const started = (await session.invoke('scenarios.start', { scenarioId: 'figure-8', seed: 4 })) as Results['scenarios.start'];
    expect(started.view).toMatchObject({ scenarioId: 'figure-8', seed: 4, played: 0, finished: false });
    const summaries = (await session.invoke('clusters.list', {})) as ClusterSummary[];
    expect(summaries.find((c) => c.id === started.clusterId)).toMatchObject({ kind: 'embedded', scenario: 'figure-8' });
    const before = (await session.invoke('cluster.state', { clusterId: started.clusterId })) as ClusterState;
    expect(before.clock?.running).toBe(false);
    expect(before.nodes.map((n) => n.id)).toEqual(['n1', 'n2', 'n3', 'n4', 'n5']);

    const first = (await session.invoke('scenarios.next', { clusterId: started.clusterId })) as Results['scenarios.next'];
    expect(first.steps[0].checks?.every((c) => c.ok)).toBe(true);
    // The cluster the other views read is the one the step played on.
    const after = (await session.invoke('cluster.state', { clusterId: started.clusterId })) as ClusterState;
    expect([after.leader, after.term]).toEqual(['n1', 2]);

    let view = first;
    while (!view.finished) view = (await session.invoke('scenarios.next', { clusterId: started.clusterId })) as Results['scenarios.next'];
    expect(view.steps.flatMap((s) => s.checks ?? []).filter((c) => !c.ok)).toEqual([]);
    await expect(session.invoke('scenarios.next', { clusterId: started.clusterId })).rejects.toThrow(/played all its steps/);
    expect(await session.invoke('scenarios.state', { clusterId: started.clusterId })).toEqual(view);
  });

  it("shows the links a step cuts, so the drawing matches the narration", async () => {
    const session = await open();
    const { clusterId } = (await session.invoke('scenarios.start', { scenarioId: 'figure-8', seed: 2 })) as Results['scenarios.start'];
    await session.invoke('scenarios.next', { clusterId });
    expect(((await session.invoke('cluster.state', { clusterId })) as ClusterState).cutLinks).toEqual([]);
    // Step 2: "its messages to n3, n4 and n5 are lost (we cut those links)".
    await session.invoke('scenarios.next', { clusterId });
    const state = (await session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.cutLinks).toEqual([
      { from: 'n1', to: 'n3' },
      { from: 'n1', to: 'n4' },
      { from: 'n1', to: 'n5' },
    ]);
  });

  it('starting again replaces the cluster with a fresh run', async () => {
    const session = await open();
    const { clusterId } = (await session.invoke('scenarios.start', { scenarioId: 'leader-crash', seed: 1 })) as Results['scenarios.start'];
    await session.invoke('scenarios.next', { clusterId });
    const again = (await session.invoke('scenarios.start', { scenarioId: 'leader-crash', seed: 1 })) as Results['scenarios.start'];
    expect(again.clusterId).toBe(clusterId);
    expect(again.view.played).toBe(0);
    const state = (await session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.leader).toBe('');
    expect((await session.invoke('clusters.list', {})) as ClusterSummary[]).toHaveLength(1);
  });

  it('a console opened again on the same data reopens the scenario at its first step, same seed', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const first = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, scenarioPace: false });
    const session = first.openSession(() => {});
    const { clusterId } = (await session.invoke('scenarios.start', { scenarioId: 'split-vote', seed: 7 })) as Results['scenarios.start'];
    await session.invoke('scenarios.next', { clusterId });
    await first.close();
    const again = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, scenarioPace: false });
    cleanup.push(() => again.close());
    const view = (await again.openSession(() => {}).invoke('scenarios.state', { clusterId })) as Results['scenarios.state'];
    expect(view).toMatchObject({ scenarioId: 'split-vote', seed: 7, played: 0 });
  });

  it('refuses an unknown scenario and scenarios.next on a cluster that plays none', async () => {
    const session = await open();
    await expect(session.invoke('scenarios.start', { scenarioId: 'nope' })).rejects.toThrow(/no scenario "nope"/);
    const plain = (await session.invoke('clusters.create', { kind: 'embedded', name: 'plain', size: 3 })) as ClusterSummary;
    await expect(session.invoke('scenarios.next', { clusterId: plain.id })).rejects.toThrow(/not running a scenario/);
  });
});
