// A node removed from a cluster is gone from its configuration, not from its history: its log file
// stays readable in Node logs.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import type { Method, Params, Results } from '../../../electron/shared/api.js';
import { eventually, operationFinished, tempDir } from '../helpers.js';

describe('logs of removed nodes', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  it('stay readable after the node left the cluster', async () => {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    await writeFile(join(dir.path, 'clusters.json'), JSON.stringify({ version: 1, clusters: [{ id: 'sim', name: 'Sim', kind: 'embedded', createdAt: 0, seed: 3, nodes: ['a', 'b', 'c'].map((id) => ({ id, kind: 'embedded' })) }] }));
    const service = await ConsoleService.open({ dataDir: dir.path, embeddedRuns: false, membership: { pollMs: 20 } });
    cleanup.push(() => service.close());
    const events: Array<{ event: string; payload: unknown }> = [];
    const session = service.openSession((event, payload) => events.push({ event, payload }));
    const call = <M extends Method>(method: M, params: Params<M>) => session.invoke(method, params) as Promise<Results[M]>;
    await call('embedded.clock', { clusterId: 'sim', action: 'run', speed: 5 });
    await eventually(async () => (await call('cluster.state', { clusterId: 'sim' })).leader || undefined, 'a leader');
    await eventually(async () => ((await call('nodeLogs.read', { clusterId: 'sim', nodeId: 'a' })).length > 0 ? true : undefined), "a's first log lines");

    const { operationId } = await call('membership.joint', { clusterId: 'sim', addVoters: ['d'], removeVoters: ['a'] });
    expect((await operationFinished(events, operationId, 'the joint change', 60_000)).at(-1)?.error).toBeUndefined();
    const [summary] = await call('clusters.list', {});
    expect(summary.nodes.map((n) => n.id)).not.toContain('a');
    expect(summary.retiredNodes).toEqual(['a']);

    const lines = await call('nodeLogs.read', { clusterId: 'sim', nodeId: 'a' });
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.every((l) => l.nodeId === 'a')).toBe(true);
    expect((await call('nodeLogs.read', { clusterId: 'sim' })).some((l) => l.nodeId === 'a')).toBe(true);
    await expect(call('nodeLogs.read', { clusterId: 'sim', nodeId: 'zz' })).rejects.toMatchObject({ code: 'not-found' });
  });
});
