// raftd as users run it: real processes on 127.0.0.1, real disks, real TCP, SIGKILL.
import { afterEach, describe, expect, it } from 'vitest';
import { readdir, readFile, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TestCluster, eventually, request, type RaftdProcess, type Status } from './raftd-harness.js';

let cluster: TestCluster | null = null;
afterEach(async (ctx) => {
  if (cluster && ctx.task.result?.state === 'fail') console.log(cluster.describe());
  await cluster?.destroy();
  cluster = null;
});

async function put(node: RaftdProcess, key: string, value: string): Promise<Response> {
  return fetch(node.url(`/v1/kv/${encodeURIComponent(key)}`), { method: 'PUT', body: value, signal: AbortSignal.timeout(10_000) });
}

async function get(node: RaftdProcess, key: string, stale = false): Promise<Response> {
  return fetch(node.url(`/v1/kv/${encodeURIComponent(key)}${stale ? '?stale=1' : ''}`), { signal: AbortSignal.timeout(10_000) });
}

async function status(node: RaftdProcess): Promise<Status> {
  const s = await node.status();
  if (!s) throw new Error(`${node.spec.id} did not answer /v1/status`);
  return s;
}

async function post(node: RaftdProcess, path: string, body: unknown, method = 'POST'): Promise<Response> {
  return request(node.url(path), { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
}

describe('raftd, three real processes', () => {
  it('writes, reads linearizably, redirects followers and rejects bad input', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;

    const res = await put(leader, 'greeting', 'hello');
    expect(res.status).toBe(204);
    expect(Number(res.headers.get('x-raft-index'))).toBeGreaterThan(0);
    expect(Number(res.headers.get('x-raft-term'))).toBeGreaterThan(0);
    expect(await (await get(leader, 'greeting')).text()).toBe('hello');

    const redirect = await request(follower.url('/v1/kv/greeting'));
    expect(redirect.status).toBe(307);
    expect(redirect.headers.get('location')).toBe(leader.url('/v1/kv/greeting'));
    // fetch follows the redirect: a client pointed at a follower still gets a linearizable answer.
    expect(await (await get(follower, 'greeting')).text()).toBe('hello');
    await eventually(async () => expect(await (await get(follower, 'greeting', true)).text()).toBe('hello'));

    expect((await get(leader, 'missing')).status).toBe(404);
    const cas = await post(leader, '/v1/cas/greeting', { from: 'hello', to: 'bye' });
    expect(await cas.json()).toMatchObject({ succeeded: true });
    const casFail = await post(leader, '/v1/cas/greeting', { from: 'hello', to: 'again' });
    expect(await casFail.json()).toMatchObject({ succeeded: false });
    expect((await fetch(leader.url('/v1/kv/greeting'), { method: 'DELETE' })).status).toBe(204);
    expect((await get(leader, 'greeting')).status).toBe(404);

    // Malformed input: clear 4xx JSON errors, the node keeps serving.
    const badJson = await request(leader.url('/v1/cas/k'), { method: 'POST', body: '{not json' });
    expect(badJson.status).toBe(400);
    expect((await badJson.json()).error).toMatch(/JSON/);
    expect((await post(leader, '/v1/cas/k', { from: 1 })).status).toBe(400);
    expect((await post(leader, '/v1/members', { id: 'bad id!' })).status).toBe(400);
    expect((await request(leader.url('/v1/kv/' + 'k'.repeat(5000)), { method: 'PUT', body: 'v' })).status).toBe(413);
    expect((await request(leader.url('/v1/kv/big'), { method: 'PUT', body: Buffer.alloc(1024 * 1024 + 1) })).status).toBe(413);
    expect((await request(leader.url('/v1/kv/%E0%A4%A'), { method: 'PUT', body: 'v' })).status).toBe(400);
    expect((await request(leader.url('/v1/log?from=-3'))).status).toBe(400);
    expect((await request(leader.url('/v1/nope'))).status).toBe(404);
    expect((await put(leader, 'still', 'alive')).status).toBe(204);

    const log = await (await request(leader.url('/v1/log?from=1&limit=50'))).json();
    const types = new Set(log.entries.map((e: { type: string }) => e.type));
    expect(types).toEqual(new Set(['config', 'noop', 'normal']));
    expect(log.entries.find((e: { summary: string }) => e.summary.startsWith('put still'))).toBeTruthy();
  });

  it('loses no acknowledged write when the leader is killed under load, elects a new leader, and the old one catches up', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const oldTerm = (await status(leader)).term;
    const acknowledged: string[] = [];
    let stop = false;
    const writers = Array.from({ length: 8 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const key = `w${w}-${i}`;
        const targets = [...cluster!.nodes.values()].filter((n) => n.running);
        const target = targets[i % targets.length];
        try {
          const res = await put(target, key, `v${i}`);
          if (res.status === 204) acknowledged.push(key);
        } catch {
          // connection refused/reset while a node dies: not acknowledged, fine
        }
      }
    });
    await eventually(async () => expect(acknowledged.length).toBeGreaterThan(50));
    await leader.kill('SIGKILL');
    const newLeader = await cluster.waitForLeader(20_000, [leader.spec.id]);
    expect(newLeader).not.toBe(leader);
    expect((await status(newLeader)).term).toBeGreaterThan(oldTerm);
    const ackedAtKill = acknowledged.length;
    await eventually(async () => expect(acknowledged.length).toBeGreaterThan(ackedAtKill + 50));
    stop = true;
    await Promise.all(writers);

    for (const key of acknowledged) {
      const res = await get(newLeader, key);
      expect(res.status, `acknowledged write ${key} must survive`).toBe(200);
    }

    leader.start();
    const target = (await status(newLeader)).commitIndex;
    await eventually(async () => expect((await status(leader)).appliedIndex).toBeGreaterThanOrEqual(target), 20_000);
    expect(await (await get(leader, acknowledged[acknowledged.length - 1], true)).text()).toMatch(/^v\d+$/);
  });

  // 150 writes, a snapshot sent, and two restarts of three processes: a minute on a busy machine.
  it('brings a lagging node back by snapshot after the log was compacted', { timeout: 90_000 }, async () => {
    cluster = await TestCluster.create(3, { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '500', '--snapshot-entries', '40'] });
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const lagging = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await lagging.kill('SIGTERM');
    expect(lagging.exitCode).toBe(0);
    for (let i = 0; i < 150; i++) expect((await put(leader, `k${i}`, `v${i}`)).status).toBe(204);
    await eventually(async () => expect((await status(leader)).snapshotIndex).toBeGreaterThan(100));
    // The leader compacted past what the lagging node has: only a snapshot can bring it back.
    lagging.start();
    await eventually(async () => {
      const s = await status(lagging);
      expect(s.snapshotIndex).toBeGreaterThan(0);
      expect(s.appliedIndex).toBeGreaterThanOrEqual(150);
    }, 20_000);
    expect(await (await get(lagging, 'k149', true)).text()).toBe('v149');
    expect(await (await get(lagging, 'k0', true)).text()).toBe('v0');

    // Every node, the leader included, restarts from its snapshot though its WAL's commit trails it.
    for (const n of cluster.nodes.values()) {
      await n.kill('SIGTERM');
      expect(n.exitCode, n.spec.id).toBe(0);
    }
    cluster.startAll();
    const next = await cluster.waitForLeader();
    expect((await put(next, 'after', 'restart')).status).toBe(204);
    for (const n of cluster.nodes.values()) {
      await eventually(async () => expect(await (await get(n, 'after', true)).text(), n.spec.id).toBe('restart'));
      expect(await (await get(n, 'k149', true)).text(), n.spec.id).toBe('v149');
    }
  });

  it('adds a learner, promotes it, runs a joint change, and removes nodes through the API', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 20; i++) await put(leader, `pre${i}`, 'x');

    const n4 = await cluster.addJoiner('n4');
    const add = await post(leader, '/v1/members', { id: 'n4', peer: n4.spec.peer, client: n4.spec.client, learner: true });
    expect(add.status, await add.clone().text()).toBe(200);
    expect((await add.json()).members.learners).toContain('n4');
    await eventually(async () => expect(await (await get(n4, 'pre19', true)).text()).toBe('x'), 20_000);
    expect((await status(n4)).role).toBe('follower');

    const promote = await post(leader, '/v1/members/n4/promote', {});
    expect(promote.status, await promote.clone().text()).toBe(200);
    expect((await promote.json()).members.voters).toContain('n4');

    // A second change while one is pending, or removing an unknown node, is refused with a reason.
    const unknown = await post(leader, '/v1/members/nobody', undefined, 'DELETE');
    expect(unknown.status).toBe(409);
    expect((await unknown.json()).error).toMatch(/nobody/);

    const n5 = await cluster.addJoiner('n5');
    const victim = [...cluster.nodes.values()].find((n) => n !== leader && n !== n4 && n !== n5)!;
    const joint = await post(leader, '/v1/members/joint', { add: [{ id: 'n5', peer: n5.spec.peer, client: n5.spec.client }], remove: [victim.spec.id] });
    expect(joint.status, await joint.clone().text()).toBe(200);
    // Joint consensus is left automatically: C_new alone remains.
    await eventually(async () => {
      const m = (await status(leader)).members;
      expect(m.votersOutgoing).toEqual([]);
      expect(m.voters.sort()).toEqual(['n1', 'n2', 'n3', 'n4', 'n5'].filter((id) => id !== victim.spec.id));
    });
    expect((await put(leader, 'after-joint', 'ok')).status).toBe(204);
    await eventually(async () => expect(await (await get(n5, 'after-joint', true)).text()).toBe('ok'), 20_000);

    const remove = await post(leader, '/v1/members/n4', undefined, 'DELETE');
    expect(remove.status, await remove.clone().text()).toBe(200);
    expect((await remove.json()).members.voters).not.toContain('n4');
    expect((await put(leader, 'after-remove', 'ok')).status).toBe(204);
  });

  it('transfers leadership on request', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const target = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const res = await post(leader, '/v1/leader/transfer', { to: target.spec.id });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await res.json()).leader).toBe(target.spec.id);
    expect((await cluster.waitForLeader()).spec.id).toBe(target.spec.id);
  });
});

describe('raftd recovery and events', () => {
  it('recovers a cluster that lost its quorum with --force-new-cluster, keeping committed data', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    for (let i = 0; i < 10; i++) expect((await put(leader, `k${i}`, `v${i}`)).status).toBe(204);
    const survivor = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await eventually(async () => expect((await status(survivor)).appliedIndex).toBeGreaterThanOrEqual((await status(leader)).commitIndex));
    for (const n of cluster.nodes.values()) if (n !== survivor) await n.kill('SIGKILL');
    await survivor.kill('SIGTERM');

    survivor.start(['--force-new-cluster']);
    await eventually(async () => expect((await status(survivor)).role).toBe('leader'), 20_000);
    expect(survivor.output).toMatch(/FORCE NEW CLUSTER/);
    const s = await status(survivor);
    expect(s.members.voters).toEqual([survivor.spec.id]);
    expect(await (await get(survivor, 'k9')).text()).toBe('v9');
    expect((await put(survivor, 'after-recovery', 'yes')).status).toBe(204);
    const walBackups = (await readdir(survivor.dataDir)).filter((f) => f.startsWith('wal.backup-'));
    expect(walBackups).toHaveLength(1);
  });

  it('streams role, commit and membership events', async () => {
    cluster = await TestCluster.create(1);
    const node = cluster.node('n1');
    node.start();
    await cluster.waitForLeader();
    const controller = new AbortController();
    const res = await fetch(node.url('/v1/events'), { signal: controller.signal });
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = res.body!.getReader();
    let text = '';
    const seen = (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        text += new TextDecoder().decode(value);
        if (/event: commit/.test(text) && /event: status/.test(text)) return;
      }
    })();
    await put(node, 'x', '1');
    await eventually(async () => expect(text).toMatch(/event: commit\ndata: \{"commitIndex":\d+/));
    controller.abort();
    await seen.catch(() => undefined);
    expect(text).toMatch(/event: status\ndata: \{"id":"n1","role":"leader"/);
  });
});

describe('raftd durability', () => {
  async function lastSegment(dataDir: string): Promise<string> {
    const dir = join(dataDir, 'wal');
    const files = (await readdir(dir)).filter((f) => f.endsWith('.wal')).sort();
    return join(dir, files[files.length - 1]);
  }

  it('recovers from a torn WAL tail and refuses a corrupted record loudly', async () => {
    cluster = await TestCluster.create(1);
    const node = cluster.node('n1');
    node.start();
    await cluster.waitForLeader();
    for (let i = 0; i < 30; i++) expect((await put(node, `k${i}`, `value-${i}`)).status).toBe(204);
    await node.kill('SIGKILL');

    // Torn tail: the last bytes of the last record never made it to disk.
    const segment = await lastSegment(node.dataDir);
    const data = await readFile(segment);
    const end = logicalEnd(data);
    await writeFile(segment, Buffer.concat([data.subarray(0, end - 3), Buffer.alloc(data.length - end + 3)]));
    node.start();
    await cluster.waitForLeader();
    expect(node.output).toMatch(/torn|truncat|repair/i);
    expect(await (await get(node, 'k28')).text()).toBe('value-28');
    expect((await put(node, 'after', 'repair')).status).toBe(204);
    await node.kill('SIGKILL');

    // Corruption before the tail: refuse to start, naming the file and offset.
    const corrupted = await readFile(segment);
    corrupted[64] ^= 0xff;
    await writeFile(segment, corrupted);
    node.start();
    const code = await node.waitExit();
    expect(code).not.toBe(0);
    expect(node.output).toMatch(/corrupt/i);
    expect(node.output).toContain(segment.split('/').pop()!);
    expect(node.output).toMatch(/offset \d+/);
    expect((await stat(segment)).size).toBe(corrupted.length); // nothing was "repaired" away
  });

  it('refuses a second process on the same data dir', async () => {
    cluster = await TestCluster.create(1);
    const node = cluster.node('n1');
    node.start();
    await cluster.waitForLeader();
    const { RaftdProcess } = await import('./raftd-harness.js');
    const twin = new RaftdProcess(node.spec, node.dataDir, node.args.map((a) => (a === node.spec.client ? '127.0.0.1:1' : a)));
    twin.start();
    expect(await twin.waitExit()).not.toBe(0);
    expect(twin.output).toMatch(/is in use by another process \(pid \d+\)/);
  });
});

describe('raftd security', () => {
  it('refuses peers without the cluster token and admin calls without it', async () => {
    cluster = await TestCluster.create(3, { token: 'right-secret' });
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    // A node that knows the addresses but not the secret: its traffic is refused, never applied.
    // It claims membership (bootstraps with everyone listed) and campaigns: every connection it opens is refused.
    const intruder = await cluster.addJoiner('n9');
    await intruder.kill('SIGKILL');
    intruder.args = intruder.args.map((a) => (a === 'right-secret' ? 'wrong-secret' : a)).filter((a) => a !== '--join');
    intruder.start();
    await eventually(async () => expect(leader.output + [...cluster!.nodes.values()].map((n) => n.output).join('')).toMatch(/refus|handshake|hmac|token/i), 15_000);
    const s = await status(leader);
    expect(s.members.voters).not.toContain('n9');
    expect(s.role).toBe('leader');

    const unauthorized = await post(leader, '/v1/members', { id: 'n8', peer: '127.0.0.1:1', client: '127.0.0.1:2' });
    expect(unauthorized.status).toBe(401);
    const authorized = await request(leader.url('/v1/fault'), { method: 'POST', body: JSON.stringify({ drop: [] }), headers: { Authorization: 'Bearer right-secret' } });
    expect(authorized.status).toBe(200);
  });
});

/** Offset just past the last non-zero byte: where the preallocated zero tail begins. */
function logicalEnd(data: Buffer): number {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return end;
}
