// raftd's peer port against a peer that holds the token but sends what no real node could.
import { execFile } from 'node:child_process';
import type { ClientRequest } from 'node:http';
import https from 'node:https';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRaftdArgs, type RaftdOptions } from '../../../core/server/raftd.js';
import { MessageType, type Message } from '../../../core/raft/types.js';
import { TcpTransport } from '../../../core/transport/tcp.js';
import { createClusterCa, issueClientCertificate, writeTlsFiles } from '../../../core/security/pki.js';
import { main as raftctl } from '../../../core/server/raftctl.js';
import { httpsRequest } from './raftd-tls.js';
import { RAFTD_BIN, TestCluster, eventually, freePort, request, type RaftdProcess, type Status } from './raftd-harness.js';

const TOKEN = 'peer-secret';
let cluster: TestCluster | null = null;
const transports: TcpTransport[] = [];
afterEach(async (ctx) => {
  await Promise.all(transports.splice(0).map((t) => t.close()));
  if (cluster && ctx.task.result?.state === 'fail') console.log(cluster.describe());
  await cluster?.destroy();
  cluster = null;
});

const auth = { Authorization: `Bearer ${TOKEN}` };

/** Writes through whichever node leads now (the test kills and restarts nodes). */
async function put(key: string, value: string): Promise<void> {
  await eventually(async () => {
    const leader = await cluster!.waitForLeader(5000);
    const res = await request(leader.url(`/v1/kv/${key}`), { method: 'PUT', body: value, headers: auth });
    expect(res.status).toBe(204);
  }, 30_000);
}

async function get(node: RaftdProcess, key: string): Promise<string> {
  const res = await request(node.url(`/v1/kv/${key}`), { headers: auth });
  expect(res.status).toBe(200);
  return res.text();
}

/** Connects to `target` as member `as` (it knows the token) and sends `message` until it went out at least once. */
async function sendAsMember(target: RaftdProcess, as: string, message: Message): Promise<void> {
  const rogue = new TcpTransport({ id: as, clusterId: 'test', token: TOKEN, listen: { host: '127.0.0.1', port: 0 }, peers: { [target.spec.id]: target.spec.peer } });
  transports.push(rogue);
  await rogue.start();
  await eventually(async () => {
    rogue.send([message]);
    expect(rogue.stats().peers[target.spec.id].sent).toBeGreaterThan(2);
  }, 10_000, 50);
}

function terms(statuses: (Status | null)[]): number[] {
  return statuses.filter((s): s is Status => s !== null).map((s) => s.term);
}

describe('raftd peer port', () => {
  it('drops a message with a term no real cluster reaches: the cluster keeps electing leaders, also after restarts', async () => {
    cluster = await TestCluster.create(3, { token: TOKEN });
    cluster.startAll();
    const leader = await cluster.waitForLeader();
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;
    await put('k', 'before');

    // Once, such a heartbeat made every node follow term 2^53-1, whose successor the codec cannot carry.
    const huge = Number.MAX_SAFE_INTEGER;
    const heartbeat: Message = { type: MessageType.Heartbeat, from: follower.spec.id, to: leader.spec.id, term: huge, logTerm: 0, index: 0, entries: [], commit: 0, reject: false, rejectHint: 0 };
    await sendAsMember(leader, follower.spec.id, heartbeat);
    await eventually(async () => expect(leader.output).toMatch(/malformed message: term must be an integer in 0..2\^48/), 10_000);

    // Elections still work: the leader goes, the others elect one of them and take writes.
    await leader.kill('SIGKILL');
    const next = await cluster.waitForLeader(30_000, [leader.spec.id]);
    await put('k', 'after');
    expect(await get(next, 'k')).toBe('after');
    expect(Math.max(...terms(await Promise.all([...cluster.nodes.values()].map((n) => n.status()))))).toBeLessThan(2 ** 48);

    // And after every node restarts.
    await cluster.stopAll();
    cluster.startAll();
    const restarted = await cluster.waitForLeader(30_000);
    await put('k', 'restarted');
    expect(await get(restarted, 'k')).toBe('restarted');
    const all = await Promise.all([...cluster.nodes.values()].map((n) => n.status()));
    expect(Math.max(...terms(all))).toBeLessThan(2 ** 48);
  }, 120_000);
});

describe('raftd token and TLS flags', () => {
  const base = ['--id', 'n1', '--data-dir', '/tmp/unused', '--client', '127.0.0.1:8001', '--cluster', 'n1=127.0.0.1:7001/127.0.0.1:8001'];
  const parse = (...extra: string[]) => parseRaftdArgs([...base, '--peer', '127.0.0.1:7001', ...extra]) as RaftdOptions;
  let dir = '';
  afterEach(async () => {
    delete process.env.RAFTD_TOKEN;
    if (dir) await rm(dir, { recursive: true, force: true });
    dir = '';
  });

  it('reads the token from --token-file (one line, its newline dropped), RAFTD_TOKEN or --token', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftd-token-'));
    await writeFile(join(dir, 'token'), 's3cret\n', { mode: 0o600 });
    expect(parse('--token-file', join(dir, 'token')).token).toBe('s3cret');
    process.env.RAFTD_TOKEN = 'from-env';
    expect(parse().token).toBe('from-env');
    expect(parse('--token-file', join(dir, 'token')).token).toBe('s3cret');
    expect(parse('--token', 'from-flag').token).toBe('from-flag');
    process.env.RAFTD_TOKEN = '';
    expect(parse().token).toBeUndefined();
  });

  it('refuses a token given twice, an empty or unreadable token file, and half the TLS flags', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftd-token-'));
    await writeFile(join(dir, 'empty'), '\n');
    await writeFile(join(dir, 'two-lines'), 'a\nb\n');
    expect(() => parse('--token', 'x', '--token-file', join(dir, 'empty'))).toThrow('give the token once: --token or --token-file, not both');
    expect(() => parse('--token-file', join(dir, 'empty'))).toThrow(`--token-file ${join(dir, 'empty')} is empty`);
    expect(() => parse('--token-file', join(dir, 'two-lines'))).toThrow(/holds more than one line/);
    expect(() => parse('--token-file', join(dir, 'missing'))).toThrow(/cannot read --token-file .*missing: ENOENT/);
    expect(() => parse('--token', '')).toThrow('the token is empty');
    expect(() => parse('--tls-cert', 'a.crt', '--tls-key', 'a.key')).toThrow('mutual TLS needs all three of --tls-cert, --tls-key and --tls-ca');
    expect(parse('--tls-cert', 'a.crt', '--tls-key', 'a.key', '--tls-ca', 'ca.crt').tls).toEqual({ cert: 'a.crt', key: 'a.key', ca: 'ca.crt' });
  });

  it('listens for peers beyond loopback only with a token', () => {
    for (const peer of ['0.0.0.0:7001', '198.51.100.1:7001', '[::]:7001', 'node1.example:7001']) {
      expect(() => parseRaftdArgs([...base, '--peer', peer])).toThrow(`--peer ${peer} is not a loopback address, and peers reachable from other machines must authenticate`);
      expect((parseRaftdArgs([...base, '--peer', peer, '--token', 't']) as RaftdOptions).token).toBe('t');
    }
    for (const peer of ['127.0.0.1:7001', '127.0.0.2:7001', 'localhost:7001', '[::1]:7001']) expect((parseRaftdArgs([...base, '--peer', peer]) as RaftdOptions).token).toBeUndefined();
  });

  it('a raftd started on a non-loopback peer address without a token exits at once, saying why', async () => {
    const run = promisify(execFile);
    const failed = (await run(process.execPath, [RAFTD_BIN, ...base, '--peer', `0.0.0.0:${await freePort()}`], { env: { ...process.env, RAFTD_TOKEN: '' } }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    ));
    expect(failed.code).toBe(2);
    expect(failed.stderr).toMatch(/raftd: --peer 0\.0\.0\.0:\d+ is not a loopback address.*--token-file PATH or RAFTD_TOKEN/);
  });

  it('a cluster whose nodes read the token from a file elects a leader and serves writes, the secret in no command line', async () => {
    dir = await mkdtemp(join(tmpdir(), 'raftd-token-'));
    await writeFile(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    cluster = await TestCluster.create(3, { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '500', '--token-file', join(dir, 'token')] });
    cluster.startAll();
    const leader = await eventually(async () => {
      const statuses = await Promise.all([...cluster!.nodes.values()].map(async (n) => [n, await request(n.url('/v1/status'), { headers: auth })] as const));
      const leaders = [];
      for (const [n, res] of statuses) if (res.status === 200 && ((await res.json()) as Status).role === 'leader') leaders.push(n);
      expect(leaders).toHaveLength(1);
      return leaders[0];
    }, 30_000);
    expect((await request(leader.url('/v1/kv/k'), { method: 'PUT', body: 'v', headers: auth })).status).toBe(204);
    expect(leader.args.join(' ')).not.toContain(TOKEN);
  }, 60_000);
});

describe('raftd with mutual TLS', () => {
  it('elects over TLS, serves HTTPS to clients of the cluster CA on the fast path and node:http, refuses everyone else', async () => {
    cluster = await TestCluster.create(3, { token: TOKEN, tls: true });
    cluster.startAll();
    const leader = await cluster.waitForLeader(30_000);
    const client = cluster.tls!.client;
    const follower = [...cluster.nodes.values()].find((n) => n !== leader)!;

    // KV routes are answered straight from the socket, the rest by node:http: both over TLS.
    const put = await httpsRequest(leader.url('/v1/kv/greeting'), client, { method: 'PUT', body: 'hello', headers: auth });
    expect(put.status).toBe(204);
    expect((await httpsRequest(leader.url('/v1/kv/greeting'), client, { headers: auth })).body).toBe('hello');
    const members = await httpsRequest(leader.url('/v1/members'), client, { headers: auth });
    expect(members.status).toBe(200);
    expect(JSON.parse(members.body).voters.sort()).toEqual(['n1', 'n2', 'n3']);
    expect((await httpsRequest(follower.url('/v1/kv/greeting'), client, { headers: auth })).status).toBe(307);
    // The value reached the follower over the TLS peer connections.
    await eventually(async () => expect((await httpsRequest(follower.url('/v1/kv/greeting?stale=1'), client, { headers: auth })).body).toBe('hello'));

    // No client certificate, one of another CA, or plain HTTP: no answer at all.
    await expect(httpsRequest(leader.url('/v1/kv/greeting'), { ca: client.ca }, { headers: auth })).rejects.toThrow();
    const otherCa = await createClusterCa({ clusterId: 'test' });
    const stranger = { ...(await issueClientCertificate(otherCa, { name: 'test-client' })), ca: client.ca };
    await expect(httpsRequest(leader.url('/v1/kv/greeting'), stranger, { headers: auth })).rejects.toThrow();
    await expect(fetch(`http://${leader.spec.client}/v1/kv/greeting`, { headers: auth, signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    // And the server still serves its own clients afterwards.
    expect((await httpsRequest(leader.url('/v1/kv/greeting'), client, { headers: auth })).body).toBe('hello');

    // raftctl over HTTPS, token from a file, pointed at a follower: it follows the redirect to the leader.
    const files = await writeTlsFiles(join(cluster.root, 'raftctl'), 'raftctl', client);
    await writeFile(join(cluster.root, 'token'), `${TOKEN}\n`);
    const ctl = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const tlsArgs = ['--tls-cert', files.cert, '--tls-key', files.key, '--tls-ca', files.ca];
      const code = await raftctl(['--endpoints', follower.spec.client, '--token-file', join(cluster!.root, 'token'), ...tlsArgs, ...args], (l) => out.push(l), (l) => err.push(l));
      return { code, out: out.join('\n'), err: err.join('\n') };
    };
    expect(await ctl('put', 'via-raftctl', 'yes')).toMatchObject({ code: 0, out: expect.stringMatching(/^OK index \d+ term \d+$/) });
    expect(await ctl('get', 'via-raftctl')).toMatchObject({ code: 0, out: 'yes' });
    expect((await ctl('members', 'list')).out).toMatch(/n1\s+voter/);
    const half = await raftctl(['--endpoints', follower.spec.client, '--tls-cert', files.cert, 'get', 'x'], () => {}, () => {});
    expect(half).toBe(2);
    const plain: string[] = [];
    expect(await raftctl(['--endpoints', follower.spec.client, '--token', TOKEN, 'get', 'via-raftctl'], () => {}, (l) => plain.push(l))).toBe(1);
  }, 90_000);

  it('stops on SIGTERM while a client holds an HTTPS event stream open', async () => {
    cluster = await TestCluster.create(1, { token: TOKEN, tls: true });
    cluster.startAll();
    const node = await cluster.waitForLeader(30_000);
    const client = cluster.tls!.client;
    // The console follows /v1/events on every node: the stream stays open until the server ends it.
    const streaming = new Promise<ClientRequest>((resolve, reject) => {
      const req = https.request(node.url('/v1/events'), { ...client, headers: auth, agent: false }, (res) => {
        res.on('error', () => undefined);
        res.once('data', () => resolve(req));
      });
      req.on('error', reject);
      req.end();
    });
    const req = await streaming;
    try {
      const exited = node.kill('SIGTERM');
      const bound = new Promise<'still running'>((resolve) => setTimeout(() => resolve('still running'), 20_000).unref());
      expect(await Promise.race([exited, bound])).toBe(0);
    } finally {
      req.destroy();
    }
  }, 60_000);

  it('refuses to start with a certificate its CA did not sign, saying which file', async () => {
    cluster = await TestCluster.create(1, { tls: true });
    const node = cluster.node('n1');
    const other = await createClusterCa({ clusterId: 'test' });
    const caFlag = node.args.indexOf('--tls-ca');
    const otherCaFile = join(cluster.root, 'other-ca.crt');
    await writeFile(otherCaFile, other.cert);
    node.args[caFlag + 1] = otherCaFile;
    node.start();
    expect(await node.waitExit()).toBe(1);
    expect(node.output).toContain(`raftd: ${join(cluster.root, 'tls', 'n1.crt')} is not signed by the CA in ${otherCaFile}`);
  }, 60_000);
});
