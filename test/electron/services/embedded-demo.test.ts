// The first demo a new user sees runs slowly enough to watch its first election.
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { FIRST_SPEED } from '../../../electron/services/embedded-driver.js';
import { eventually, tempDir } from '../helpers.js';

describe('the first demo', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('runs below real time, so the first election can be watched, and still elects a leader by itself', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const service = await ConsoleService.open({ dataDir: dir.path });
    cleanup.push(() => service.close());
    const session = service.openSession(() => {});
    const [demo] = (await session.invoke('clusters.list', {})) as Array<{ id: string }>;
    const state = await eventually(async () => {
      const s = (await session.invoke('cluster.state', { clusterId: demo.id })) as { leader: string; clock?: { speed: number; running: boolean } };
      return s.leader ? s : undefined;
    }, 'a leader in the demo');
    expect(FIRST_SPEED).toBeLessThan(1);
    expect(state.clock).toMatchObject({ running: true, speed: FIRST_SPEED });
  });
});
