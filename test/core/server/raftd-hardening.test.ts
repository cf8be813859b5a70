// raftd against a careless operator and a hostile client, on real processes: bad member
// addresses, header injection, requests without the token, leaders that vanish.
import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { join } from 'node:path';
import { chmod, mkdir, readdir, stat } from 'node:fs/promises';
import { FileLogStore } from '../../../core/storage/index.js';
import { confChangeCodec } from '../../../core/raft/codec.js';
import { EntryType } from '../../../core/raft/types.js';
import { wrap } from '../../../core/node/envelope.js';
import { encodeMemberContext, type MemberContext } from '../../../core/service/state-machine.js';
import { main as raftctl } from '../../../core/server/raftctl.js';
import { TestCluster, eventually, request, type RaftdProcess, type Status } from './raftd-harness.js';

let cluster: TestCluster | null = null;
afterEach(async (ctx) => {
  if (cluster && ctx.task.result?.state === 'fail') console.log(cluster.describe());
  await cluster?.destroy();
  cluster = null;
});

function post(node: RaftdProcess, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return request(node.url(path), { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
}

function put(node: RaftdProcess, key: string, value: string, headers: Record<string, string> = {}): Promise<Response> {
  return request(node.url(`/v1/kv/${key}`), { method: 'PUT', body: value, headers });
}

async function status(node: RaftdProcess): Promise<Status> {
  const s = await node.status();
  if (!s) throw new Error(`${node.spec.id} did not answer /v1/status`);
  return s;
}

/** Sends raw bytes and returns the status code of the first response (0 if none). */
async function rawStatus(node: RaftdProcess, text: string): Promise<number> {
  const [host, port] = node.spec.client.split(':');
  const socket = net.connect(Number(port), host);
  socket.on('error', () => {});
  let data = '';
  socket.on('data', (d: Buffer) => (data += d.toString('latin1')));
  socket.write(Buffer.from(text, 'latin1'));
  await eventually(async () => expect(data).toMatch(/^HTTP\/1\.1 \d{3} /), 10_000, 20);
  socket.destroy();
  return Number(data.split(' ')[1]);
}

/** One keep-alive connection, requests written and answers read in turn. */
class RawClient {
  private data = Buffer.alloc(0);
  private waiter: (() => void) | null = null;
  closed = false;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => {
      this.data = Buffer.concat([this.data, d]);
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static open(node: RaftdProcess): Promise<RawClient> {
    const [host, port] = node.spec.client.split(':');
    return new Promise((resolve, reject) => {
      const socket = net.connect(Number(port), host, () => resolve(new RawClient(socket)));
      socket.once('error', reject);
    });
  }

  async request(method: string, path: string, body?: Buffer): Promise<{ status: number; body: string }> {
    const head = `${method} ${path} HTTP/1.1\r\nHost: raftd\r\n${body ? `Content-Length: ${body.length}\r\n` : ''}\r\n`;
    this.socket.write(body ? Buffer.concat([Buffer.from(head), body]) : head);
    for (;;) {
      const end = this.data.indexOf('\r\n\r\n');
      if (end >= 0) {
        const head = this.data.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (this.data.length >= end + 4 + length) {
          const reply = { status: Number(head.split(' ')[1]), body: this.data.subarray(end + 4, end + 4 + length).toString() };
          this.data = this.data.subarray(end + 4 + length);
          return reply;
        }
      }
      if (this.closed) throw new Error('connection closed before an answer');
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }
}

/** Appends a configuration entry to a stopped node's WAL, as if an older raftd had committed it. */
async function appendConfigEntry(dataDir: string, change: { type: 'addLearner' | 'addVoter'; id: string }, members: MemberContext): Promise<void> {
  const wal = await FileLogStore.open(join(dataDir, 'wal'));
  try {
    const { hardState, entries } = await wal.load();
    const data = confChangeCodec.encode({ changes: [change], context: wrap('', encodeMemberContext(members)) });
    await wal.save(undefined, [{ index: entries.at(-1)!.index + 1, term: hardState.term, type: EntryType.ConfChange, data }]);
  } finally {
    await wal.close();
  }
}

describe('raftd member addresses', () => {
  it('refuses a member address that is not host:port, with the reason, and keeps every node serving', async () => {
    cluster = await TestCluster.create(3);
    cluster.startAll();
    const leader = await cluster.waitForLeader();

    const noPort = await post(leader, '/v1/members', { id: 'n4', peer: '127.0.0.1', client: '127.0.0.1:9' });
    expect(noPort.status).toBe(400);
    expect((await noPort.json()).error).toBe('peer: has no port; expected host:port');
    const injected = await post(leader, '/v1/members', { id: 'n4', peer: '127.0.0.1:9', client: '127.0.0.1:9\r\nSet-Cookie: x=1', learner: true });
    expect(injected.status).toBe(400);
    expect((await injected.json()).error).toMatch(/^client: contains spaces, control characters/);
    const joint = await post(leader, '/v1/members/joint', { add: [{ id: 'n5', peer: '[::1]:7', client: 'localhost:0' }] });
    expect(joint.status).toBe(400);
    expect((await joint.json()).error).toBe('add.0.client: port 0 is outside 1..65535');

    // raftctl says what is wrong before it sends anything.
    const errors: string[] = [];
    const code = await raftctl(['--endpoints', leader.spec.client, 'members', 'add', 'n4', '127.0.0.1', '127.0.0.1:9'], () => {}, (line) => errors.push(line));
    expect(code).toBe(2);
    expect(errors.join('\n')).toMatch(/invalid PEER "127.0.0.1": has no port/);

    expect((await status(leader)).members.learners).toEqual([]);
    expect((await put(leader, 'still', 'serving')).status).toBe(204);
    for (const node of cluster.nodes.values()) expect(node.running, node.spec.id).toBe(true);
  });

  it('applies a configuration entry with an unusable address from its log: the member stays unreachable, the node serves, also after restarts', async () => {
    cluster = await TestCluster.create(1);
    cluster.startAll();
    const node = await cluster.waitForLeader();
    expect((await put(node, 'before', '1')).status).toBe(204);
    await node.kill('SIGTERM');
    const bad = { n9: { peer: '127.0.0.1', client: '127.0.0.1:1\r\nX-Injected: 1' } };
    await appendConfigEntry(node.dataDir, { type: 'addLearner', id: 'n9' }, bad);

    node.start();
    await cluster.waitForLeader();
    await eventually(async () => expect((await status(node)).members.learners).toEqual(['n9']));
    expect((await status(node)).members.addresses.n9).toEqual(bad.n9);
    // Retried: the node may say 503 (no leader yet) for a moment after /v1/status shows it leading.
    await eventually(async () => expect((await put(node, 'after', '2')).status).toBe(204));
    expect(node.output).toMatch(/member n9 stays unreachable: its peer address \\"127\.0\.0\.1\\" has no port/);
    expect(node.running).toBe(true);

    // Once more from the start: the entry is applied again on every restart.
    await node.kill('SIGKILL');
    node.start();
    await cluster.waitForLeader();
    await eventually(async () => expect((await put(node, 'again', '3')).status).toBe(204));
    // The operator's way out: remove the member.
    expect((await request(node.url('/v1/members/n9'), { method: 'DELETE' })).status).toBe(200);
    expect((await status(node)).members.addresses.n9).toBeUndefined();
    expect(node.running).toBe(true);
  });
});

describe('raftd responses', () => {
  it('never copies CR/LF into a header, and an error while answering ends that request, not the process', async () => {
    // The leader's client address, committed by an older raftd, holds a header of its own.
    cluster = await TestCluster.create(1);
    cluster.startAll();
    const n1 = await cluster.waitForLeader();
    const n2 = await cluster.addJoiner('n2');
    await n1.kill('SIGTERM');
    await appendConfigEntry(n1.dataDir, { type: 'addVoter', id: 'n2' }, { n2: { peer: n2.spec.peer, client: '127.0.0.1:1\r\nX-Injected: 1' } });
    n1.start();
    await eventually(async () => expect((await status(n2)).members.voters.sort()).toEqual(['n1', 'n2']));
    await eventually(async () => expect((await post(n1, '/v1/leader/transfer', { to: 'n2' })).status).toBe(200), 20_000);
    await eventually(async () => expect((await status(n1)).leader).toBe('n2'));

    const fast = await request(n1.url('/v1/kv/k'));
    expect(fast.headers.get('x-injected')).toBeNull();
    expect(fast.status).toBe(503);
    expect(fast.headers.get('retry-after')).toBe('1');
    const routed = await post(n1, '/v1/cas/k', { from: null, to: 'v' });
    expect(routed.headers.get('x-injected')).toBeNull();
    expect(routed.status).toBe(503);
    expect((await request(n1.url('/health'))).status).toBe(200);
    expect(n1.running).toBe(true);
  });
});

describe('raftd with a token', () => {
  it('needs it on every route but /health, on the fast path and node:http; raftctl sends it, also through redirects', async () => {
    cluster = await TestCluster.create(3, { token: 'the-secret' });
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    const auth = { Authorization: 'Bearer the-secret' };
    expect((await put(leader, 'k', 'v', auth)).status).toBe(204);

    const routes: Array<[string, string]> = [
      ['GET', '/v1/kv/k'], ['GET', '/v1/kv/k?stale=1'], ['PUT', '/v1/kv/k'], ['DELETE', '/v1/kv/k'], ['POST', '/v1/cas/k'],
      ['GET', '/v1/log/entry?index=1'], ['GET', '/v1/log'], ['GET', '/v1/events'], ['GET', '/v1/status'], ['GET', '/v1/members'],
      ['GET', '/v1/metrics'], ['POST', '/v1/snapshot'], ['POST', '/v1/fault'],
    ];
    for (const node of [leader, follower]) {
      for (const [method, path] of routes) {
        for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'the-secret' }] as Record<string, string>[]) {
          const res = await request(node.url(path), { method, headers, body: method === 'GET' ? undefined : '{}' });
          expect(res.status, `${method} ${path} ${JSON.stringify(headers)} on ${node.spec.id}`).toBe(401);
          expect((await res.json()).error).toMatch(/needs the cluster token/);
        }
      }
      // The same KV request framed for node:http (chunked) instead of the fast path.
      const chunked = `PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n`;
      expect(await rawStatus(node, chunked)).toBe(401);
      expect((await request(node.url('/health'))).status).toBe(200);
    }
    expect(await (await request(leader.url('/v1/kv/k'), { headers: auth })).text()).toBe('v');
    expect((await request(leader.url('/v1/log/entry?index=1'), { headers: auth })).status).toBe(200);

    // raftctl pointed at a follower: the redirect to the leader carries the token too.
    const out: string[] = [];
    const ctl = (...args: string[]) => raftctl(['--endpoints', follower.spec.client, ...args], (l) => out.push(l), (l) => out.push(l));
    expect(await ctl('--token', 'the-secret', 'put', 'via', 'follower')).toBe(0);
    expect(await ctl('--token', 'the-secret', 'get', 'via')).toBe(0);
    expect(out).toContain('follower');
    expect(await ctl('get', 'via')).toBe(1);
    expect(out.at(-1)).toMatch(/401: this node needs the cluster token/);
  });

  it('answers a malformed percent-encoding with 400 on every route', async () => {
    cluster = await TestCluster.create(1);
    cluster.startAll();
    const node = await cluster.waitForLeader();
    expect((await request(node.url('/v1/kv/%E0%A4%A'))).status).toBe(400);
    expect((await request(node.url('/v1/cas/%ZZ'), { method: 'POST', body: '{"from":null,"to":"x"}' })).status).toBe(400);
    const remove = await request(node.url('/v1/members/%E0%A4%A'), { method: 'DELETE' });
    expect(remove.status).toBe(400);
    expect((await remove.json()).error).toBe('member id is not valid percent-encoding');
    expect((await request(node.url('/v1/members/%ZZ/promote'), { method: 'POST' })).status).toBe(400);
    expect((await request(node.url('/health'))).status).toBe(200);
  });
});

describe('raftd client connections', () => {
  it('keeps descriptors for its WAL when clients take every one they can: the next segment still opens', async () => {
    cluster = await TestCluster.create(1);
    const node = cluster.node('n1');
    node.start([], { openFiles: 200 });
    await cluster.waitForLeader();
    const control = await RawClient.open(node);
    expect((await control.request('GET', '/health')).status).toBe(200);

    // More connections than the process has descriptors for.
    const flood: net.Socket[] = [];
    let refused = 0;
    for (let i = 0; i < 300; i++) {
      const socket = net.connect(Number(node.spec.client.split(':')[1]), '127.0.0.1');
      socket.on('error', () => {});
      socket.on('close', () => refused++);
      flood.push(socket);
    }
    try {
      await eventually(async () => expect(refused).toBeGreaterThanOrEqual(100), 10_000);
      // 1 MB values until the WAL moves to its second 64 MiB segment, through the connection held before.
      const value = Buffer.alloc(1_000_000, 7);
      for (let i = 0; i < 72; i++) {
        const res = await control.request('PUT', `/v1/kv/big${i % 4}`, value);
        expect(res.status, `put ${i}: ${res.body}`).toBe(204);
      }
      const segments = (await readdir(join(node.dataDir, 'wal'))).filter((name) => !name.endsWith('.tmp'));
      expect(segments.length).toBeGreaterThanOrEqual(2);
      expect((await control.request('GET', '/health')).status).toBe(200);
      expect(node.output).toMatch(/client connections at the cap \(100\)/);
      expect(node.running).toBe(true);
    } finally {
      for (const socket of flood) socket.destroy();
    }
  }, 120_000);
});

describe('raftd files', () => {
  it('keeps its data private: directories 0700, WAL, snapshots, meta and lock files 0600, also in a data dir made by someone else', async () => {
    cluster = await TestCluster.create(1, { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '500', '--snapshot-entries', '5'] });
    const node = cluster.node('n1');
    await mkdir(node.dataDir, { recursive: true });
    await chmod(node.dataDir, 0o755); // as the console's folders are made
    node.start();
    await cluster.waitForLeader();
    for (let i = 0; i < 12; i++) await eventually(async () => expect((await put(node, `k${i}`, 'secret')).status).toBe(204));
    await eventually(async () => expect((await request(node.url('/v1/snapshot'), { method: 'POST' })).status).toBe(200));

    const modes = new Map<string, number>();
    async function walk(path: string): Promise<void> {
      modes.set(path.slice(node.dataDir.length) || '/', (await stat(path)).mode & 0o777);
      if ((await stat(path)).isDirectory()) for (const name of await readdir(path)) await walk(join(path, name));
    }
    await walk(node.dataDir);
    const names = [...modes.keys()];
    expect(names).toEqual(expect.arrayContaining(['/', '/wal', '/snap', '/meta.json', '/raftd.pid']));
    expect(names.some((n) => /^\/wal\/.*\.wal$/.test(n))).toBe(true);
    expect(names.some((n) => /^\/snap\/.*\.snap$/.test(n))).toBe(true);
    for (const [name, mode] of modes) {
      const expected = name === '/' || name === '/wal' || name === '/snap' ? 0o700 : 0o600;
      expect(mode.toString(8), name).toBe(expected.toString(8));
    }
    expect(node.output).toMatch(/was open to others \(mode 755\); now 700/);
  });
});

describe('raftd when the leader is gone', () => {
  it('a node that has not heard from its leader for an election timeout answers 503, not a redirect to it', async () => {
    // A learner never campaigns: without this rule it would point clients at a stopped leader for good.
    cluster = await TestCluster.create(1);
    cluster.startAll();
    const n1 = await cluster.waitForLeader();
    const n2 = await cluster.addJoiner('n2');
    expect((await post(n1, '/v1/members', { id: 'n2', peer: n2.spec.peer, client: n2.spec.client, learner: true })).status).toBe(200);
    await eventually(async () => expect((await status(n2)).leader).toBe('n1'));
    const before = await request(n2.url('/v1/kv/k'));
    expect(before.status).toBe(307);
    expect(before.headers.get('location')).toBe(n1.url('/v1/kv/k'));

    n1.child!.kill('SIGSTOP');
    try {
      await eventually(async () => {
        const res = await request(n2.url('/v1/kv/k'), { method: 'PUT', body: 'v' });
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('1');
        expect((await res.json()).error).toMatch(/no leader is known/);
      }, 15_000);
      expect((await status(n2)).leader).toBe('');
    } finally {
      n1.child?.kill('SIGCONT');
    }
    // Heard from again, the leader is followed again.
    await eventually(async () => expect((await request(n2.url('/v1/kv/k'))).status).toBe(307));
  });
});
