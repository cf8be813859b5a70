// The client API over HTTP in one process, around a real RaftNode on memory stores: what it says
// about a node that a storage failure stopped.
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

let node: RaftNode | null = null;
let server: ClientServer | null = null;
afterEach(async () => {
  await server?.close();
  await node?.stop();
  node = null;
  server = null;
});

async function serve(logStore: MemoryLogStore): Promise<string> {
  const network = new MemoryNetwork({ clock: systemClock, random: Math.random, latency: { min: 0, max: 0 } });
  const stateMachine = new RaftdStateMachine({ a: { peer: '127.0.0.1:1', client: '127.0.0.1:2' } });
  node = await RaftNode.start({
    id: 'a',
    logStore,
    snapshotStore: new MemorySnapshotStore(),
    transport: network.connect('a'),
    clock: systemClock,
    stateMachine,
    tickMs: 10,
    electionTicks: 3,
    initialMembers: ['a'],
  });
  server = createHttpApi({
    node,
    stateMachine,
    setDroppedPeers: () => {},
    droppedPeers: () => [],
    snapshotNow: () => node!.snapshotNow(),
    metrics: () => ({}),
    logger: { info() {}, warn() {} },
  });
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
});
