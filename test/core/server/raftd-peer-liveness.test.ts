// raftd's peer connections find a silent peer by themselves: a paused process (SIGSTOP) keeps
// its sockets open, so only the transport's own pings can tell.
import { afterEach, describe, expect, it } from 'vitest';
import { TestCluster, eventually, request } from './raftd-harness.js';

let cluster: TestCluster | null = null;
afterEach(async (ctx) => {
  if (cluster && ctx.task.result?.state === 'fail') console.log(cluster.describe());
  for (const n of cluster?.nodes.values() ?? []) n.child?.kill('SIGCONT');
  await cluster?.destroy();
  cluster = null;
});

describe('raftd peer liveness', () => {
  it('drops the connection to a paused follower, logs it, and reconnects once it runs again', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const id = follower.spec.id;
    await eventually(async () => expect(leader.output).toContain(`connected to peer ${id}`));

    follower.child!.kill('SIGSTOP');
    await eventually(async () => expect(leader.output).toMatch(new RegExp(`connection to peer ${id} at \\S+ lost: nothing heard for \\d+ ms`)), 15_000);
    // The two others still make a majority: writes go on meanwhile.
    expect((await request(leader.url('/v1/kv/while-paused'), { method: 'PUT', body: 'x' })).status).toBe(204);

    const before = leader.output.length;
    follower.child!.kill('SIGCONT');
    await eventually(async () => expect(leader.output.slice(before)).toContain(`connected to peer ${id}`), 15_000);
    await eventually(async () => expect(await (await request(follower.url('/v1/kv/while-paused?stale=1'))).text()).toBe('x'), 15_000);
  }, 60_000);
});
