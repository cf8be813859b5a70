// node.campaign: a node's election timer fires on request (embedded clusters), through the core's Hup.
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import type { ClusterState, ClusterSummary } from '../../../electron/shared/api.js';
import { tempDir } from '../helpers.js';

describe('node.campaign (force an election timeout)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function pausedCluster(): Promise<{ session: ConsoleSession; clusterId: string }> {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, embeddedRuns: false });
    cleanup.push(() => service.close());
    const session = service.openSession(() => {});
    const cluster = (await session.invoke('clusters.create', { kind: 'embedded', name: 'c', size: 3 })) as ClusterSummary;
    return { session, clusterId: cluster.id };
  }

  const state = (session: ConsoleSession, clusterId: string) => session.invoke('cluster.state', { clusterId }) as Promise<ClusterState>;

  it('makes the node campaign at once, long before any randomized timeout (at least 1 s) runs out', async () => {
    const { session, clusterId } = await pausedCluster();
    expect((await state(session, clusterId)).capabilities.forceElection).toBe(true);
    // The first tick (100 ms) applies the bootstrap configuration; no timer can fire before 1 s.
    await session.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 150 });
    expect((await state(session, clusterId)).leader).toBe('');
    await session.invoke('node.campaign', { clusterId, nodeId: 'n2' });
    await session.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 100 });
    const after = await state(session, clusterId);
    expect([after.leader, after.term]).toEqual(['n2', 2]);
    expect(after.clock!.now).toBeLessThan(1000);
  });

  it('refuses a node that leads or is down, saying why', async () => {
    const { session, clusterId } = await pausedCluster();
    await session.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 150 });
    await session.invoke('node.campaign', { clusterId, nodeId: 'n1' });
    await session.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 100 });
    await expect(session.invoke('node.campaign', { clusterId, nodeId: 'n1' })).rejects.toThrow(/already leads/);
    await session.invoke('node.kill', { clusterId, nodeId: 'n3' });
    await expect(session.invoke('node.campaign', { clusterId, nodeId: 'n3' })).rejects.toThrow(/not running/);
  });

  it('shows every raft field of a message in flight', async () => {
    const { session, clusterId } = await pausedCluster();
    await session.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 150 });
    await session.invoke('node.campaign', { clusterId, nodeId: 'n1' });
    // With PreVote (as raftd runs it), n1 first asks for pre-votes for term 2, carrying its last log position.
    const s = await state(session, clusterId);
    const preVote = s.messages!.find((m) => m.from === 'n1' && m.type === 'PreVote');
    expect(preVote?.fields).toMatchObject({ term: 2, index: 3, logTerm: 1, entryCount: 0, reject: false });
  });
});
