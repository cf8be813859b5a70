// The first demo's first election plays in slow motion while its votes fly, so a newcomer can follow
// them; once a leader is elected the demo goes back to its first speed.
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { FIRST_SPEED, FIRST_VOTES_SPEED } from '../../../electron/services/embedded-driver.js';
import type { ClusterState } from '../../../electron/shared/api.js';
import { eventually, tempDir } from '../helpers.js';

describe('the first demo election', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('slows down while votes are in flight, and returns to its first speed with a leader', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const published: ClusterState[] = [];
    const service = await ConsoleService.open({ dataDir: dir.path });
    cleanup.push(() => service.close());
    service.openSession((event, payload) => {
      if (event === 'cluster.state') published.push(payload as ClusterState);
    });
    const withLeader = await eventually(async () => published.find((s) => s.leader), 'a leader in the demo', 60_000);
    const beforeLeader = published.slice(0, published.indexOf(withLeader));
    const withVotes = beforeLeader.filter((s) => s.messages?.some((m) => m.type === 'Vote' || m.type === 'PreVote'));
    expect(FIRST_VOTES_SPEED).toBeLessThan(FIRST_SPEED);
    expect(withVotes.length).toBeGreaterThan(0);
    expect(withVotes.every((s) => s.clock?.speed === FIRST_VOTES_SPEED)).toBe(true);
    expect(withLeader.clock).toMatchObject({ running: true, speed: FIRST_SPEED });
  });
});

describe('slow motion and the clock API', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('runs again at the slow-motion speed after a pause (the speed the controls show)', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, embeddedRuns: false });
    cleanup.push(() => service.close());
    const session = service.openSession(() => {});
    const { id } = (await session.invoke('clusters.create', { kind: 'embedded', name: 'c', size: 3 })) as { id: string };
    await session.invoke('embedded.clock', { clusterId: id, action: 'run', speed: FIRST_VOTES_SPEED });
    await session.invoke('embedded.clock', { clusterId: id, action: 'pause' });
    await session.invoke('embedded.clock', { clusterId: id, action: 'run', speed: FIRST_VOTES_SPEED });
    expect(((await session.invoke('cluster.state', { clusterId: id })) as ClusterState).clock).toMatchObject({ running: true, speed: FIRST_VOTES_SPEED });
  });
});
