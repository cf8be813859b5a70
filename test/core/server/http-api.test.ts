// The client API over HTTP in one process, around real RaftNodes on memory stores and a simulated
// network: what it says about a node that a storage failure stopped, or whose leader went silent.
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../../core/clock.js';
import { RaftNode } from '../../../core/node/raft-node.js';
import type { Entry, HardState } from '../../../core/raft/types.js';
import { createHttpApi } from '../../../core/server/http-api.js';
import type { ClientServer } from '../../../core/server/http-fast.js';
import { RaftdStateMachine } from '../../../core/service/state-machine.js';
import { MemoryLogStore, MemorySnapshotStore } from '../../../core/storage/memory.js';
import { MemoryNetwork } from '../../../core/transport/memory.js';
import { eventually, freePort } from './raftd-harness.js';

/** A log store whose disk "fails" when the test says so. */
class FailingLogStore extends MemoryLogStore {
  failing = false;
  override save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('EIO: i/o error, write'));
    return super.save(hardState, entries);
  }
}

let nodes: RaftNode[] = [];
let servers: ClientServer[] = [];
let node: RaftNode | null = null;
afterEach(async () => {
  for (const server of servers) await server.close();
  for (const n of nodes) await n.stop();
  nodes = [];
  servers = [];
  node = null;
});

const directory = { a: { peer: '127.0.0.1:1', client: '127.0.0.1:2' }, b: { peer: '127.0.0.1:3', client: '127.0.0.1:4' } };

/** Node `id` with its client API on a free port; `a` bootstraps the cluster, others join it. */
async function serve(logStore: MemoryLogStore, id = 'a', network = new MemoryNetwork({ clock: systemClock, random: Math.random, latency: { min: 0, max: 0 } })): Promise<string> {
  const stateMachine = new RaftdStateMachine(directory);
  node = await RaftNode.start({
    id,
    logStore,
    snapshotStore: new MemorySnapshotStore(),
    transport: network.connect(id),
    clock: systemClock,
    stateMachine,
    tickMs: 10,
    electionTicks: 5,
    initialMembers: id === 'a' ? ['a'] : undefined,
  });
  nodes.push(node);
  const server = createHttpApi({
    node,
    stateMachine,
    setDroppedPeers: () => {},
    droppedPeers: () => [],
    snapshotNow: () => Promise.resolve(0),
    metrics: () => ({}),
    logger: { info() {}, warn() {} },
  });
  servers.push(server);
  const port = await freePort();
  await server.listen(port, '127.0.0.1');
  return `http://127.0.0.1:${port}`;
}

describe('client API', () => {
  it('/health and /v1/status say that a storage failure stopped the node, with the cause', async () => {
    const logStore = new FailingLogStore();
    const base = await serve(logStore);
    await eventually(async () => expect((await fetch(`${base}/v1/kv/k`, { method: 'PUT', body: 'v' })).status).toBe(204), 10_000, 20);
    expect(await (await fetch(`${base}/health`)).json()).toEqual({ ok: true, id: 'a' });

    logStore.failing = true;
    const lost = await fetch(`${base}/v1/kv/k`, { method: 'PUT', body: 'w' });
    expect(lost.status).toBe(500);

    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(503);
    expect(await health.json()).toEqual({ ok: false, id: 'a', error: 'node stopped after a storage failure: EIO: i/o error, write; fix the cause and restart it' });
    const status = await fetch(`${base}/v1/status`);
    expect(status.status).toBe(503);
    expect(await status.json()).toMatchObject({ id: 'a', failure: 'EIO: i/o error, write', error: expect.stringMatching(/^node stopped after a storage failure/) });
  });

  it('a follower not hearing from its leader for an election timeout says 503, though no connection broke', async () => {
    const network = new MemoryNetwork({ clock: systemClock, random: Math.random, latency: { min: 0, max: 0 } });
    const a = await serve(new MemoryLogStore(), 'a', network);
    const leader = node!;
    await eventually(async () => expect(leader.currentRole).toBe('leader'), 10_000, 20);
    const b = await serve(new MemoryLogStore(), 'b', network);
    const learner = node!;
    await leader.changeMembership({ changes: [{ type: 'addLearner', id: 'b' }] });
    await eventually(async () => expect(learner.currentLeader).toBe('a'), 10_000, 20);
    const before = await fetch(`${b}/v1/kv/k`, { redirect: 'manual' });
    expect(before.status).toBe(307);
    expect(before.headers.get('location')).toBe('http://127.0.0.1:2/v1/kv/k');
    expect((await fetch(`${a}/v1/kv/k`, { method: 'PUT', body: 'v' })).status).toBe(204);

    // The leader goes silent (as a paused process does); the transport reports nothing.
    network.drop('a', 'b', true);
    await eventually(async () => {
      const res = await fetch(`${b}/v1/kv/k`, { redirect: 'manual' });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    }, 10_000, 20);
    // Heard from again: followed again.
    network.drop('a', 'b', false);
    await eventually(async () => expect((await fetch(`${b}/v1/kv/k`, { redirect: 'manual' })).status).toBe(307), 10_000, 20);
  });
});
