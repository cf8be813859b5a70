// raftd's operations without a transport, on an embedded cluster in simulated time: the same code
// the HTTP API routes to.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../../core/node/embedded.js';
import { ServiceError, TRANSFER_TIMEOUT_MS } from '../../../core/service/raftd-service.js';

let cluster: EmbeddedCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function untilLeader(c: EmbeddedCluster): Promise<string> {
  for (let t = 0; t < 10_000 && !c.leader(); t += 100) await c.step(100);
  if (!c.leader()) throw new Error('no leader elected');
  return c.leader();
}

/** Steps simulated time while the promise is pending. */
async function during<T>(c: EmbeddedCluster, promise: Promise<T>, maxMs = 20_000): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  tracked.catch(() => undefined); // a rejection while stepping is the caller's to see, not unhandled
  for (let t = 0; t < maxMs && !settled; t += 10) await c.step(10);
  return tracked;
}

describe('RaftdService', () => {
  it('proposes, reads linearizably, and reports status, members and the log in raftd\'s wire shapes', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 5 });
    const leaderId = await untilLeader(cluster);
    const leader = cluster.service(leaderId)!;
    const put = await during(cluster, leader.propose({ op: 'put', key: 'k', value: new TextEncoder().encode('v') }));
    expect(new TextDecoder().decode(await during(cluster, leader.read('k', false)))).toBe('v');
    const status = leader.status();
    expect(status).toMatchObject({ id: leaderId, role: 'leader', leader: leaderId, droppedPeers: [], members: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] } });
    expect(status.members.addresses.b).toEqual(cluster.address('b'));
    expect(status.commitIndex).toBeGreaterThanOrEqual(put.index);
    const page = leader.log(1, 100);
    expect(page.entries.at(-1)).toMatchObject({ index: put.index, type: 'normal' });
    expect(leader.entry(put.index)).toMatchObject({ index: put.index, decoded: { kind: 'kv', op: 'put', key: 'k', value: 'v' } });
  });

  it('refuses what cannot be done with a ServiceError saying why', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 5 });
    const leader = cluster.service(await untilLeader(cluster))!;
    await expect(leader.joint([], [])).rejects.toMatchObject({ kind: 'invalid', message: 'a joint change needs at least one server to add or remove' });
    await expect(leader.transferLeader('zz')).rejects.toMatchObject({ kind: 'invalid', message: 'zz is not a voter' });
    expect(() => leader.entry(10_000)).toThrow(ServiceError);
  });

  it('changes members and moves leadership, answering once it moved; a transfer nobody takes times out in the node\'s time', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 5 });
    const leaderId = await untilLeader(cluster);
    const leader = cluster.service(leaderId)!;
    const to = ['a', 'b', 'c'].find((id) => id !== leaderId)!;
    const moved = await during(cluster, leader.transferLeader(to));
    expect(moved.leader).toBe(to);
    const next = cluster.service(to)!;
    // The new leader takes configuration changes once it has applied its first entry.
    await cluster.step(500);
    await cluster.addEmptyNode('d');
    const added = await during(cluster, next.addMember({ id: 'd', ...cluster.address('d') }, true));
    expect(added.index).toBeGreaterThan(0);
    await during(cluster, cluster.step(500));
    expect(next.members().learners).toEqual(['d']);
    // A learner cannot be made leader, and a crashed voter never takes over.
    const other = ['a', 'b', 'c'].find((id) => id !== to && id !== leaderId)!;
    await cluster.crash(other);
    const stuck = next.transferLeader(other);
    await expect(during(cluster, stuck, 2 * TRANSFER_TIMEOUT_MS)).rejects.toMatchObject({ kind: 'timeout' });
  });
});

describe('imports', () => {
  it('run one way: nothing in core/node or core/service imports core/server', () => {
    const root = join(import.meta.dirname, '../../../core');
    const offenders = ['node', 'service'].flatMap((dir) =>
      readdirSync(join(root, dir))
        .filter((f) => f.endsWith('.ts'))
        .filter((f) => /from '\.\.\/server\//.test(readFileSync(join(root, dir, f), 'utf8')))
        .map((f) => `core/${dir}/${f}`),
    );
    expect(offenders).toEqual([]);
  });
});
