// Local clusters the console creates use mutual TLS from a CA of their own: the nodes' client ports
// refuse plain HTTP and HTTPS without a certificate from that CA, the console's own operations work
// over HTTPS (redirects and the event stream included), and the CA key stays in the console's data
// dir. A cluster saved before TLS existed keeps running without it.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClusterPki, NODE_TLS_FILES } from '../../../electron/services/cluster-pki.js';
import type { ClusterRecord } from '../../../electron/services/cluster-registry.js';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import { pickFreePorts } from '../../../electron/services/local-host.js';
import { RaftdClient, type RaftdEvent } from '../../../electron/services/raftd-client.js';
import { readLock } from '../../../core/process/pid-lock.js';
import { isProcessAlive } from '../../../core/process/processes.js';
import type { TlsMaterial } from '../../../core/security/tls.js';
import type { ClusterState, Events, Method, Params, Results } from '../../../electron/shared/api.js';
import { eventually, operationFinished, tempDir } from '../helpers.js';

const SLOW = 240_000;
const localOptions = { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '400'], rotation: { maxBytes: 1 << 20, keep: 2 } };

function killLeftovers(dataDir: string): void {
  const clusters = join(dataDir, 'clusters');
  if (!existsSync(clusters)) return;
  for (const cluster of readdirSync(clusters)) {
    const nodes = join(clusters, cluster, 'nodes');
    for (const node of existsSync(nodes) ? readdirSync(nodes) : []) {
      const owner = readLock(join(nodes, node, 'node.lock'));
      for (const pid of [owner?.child?.pid, owner?.pid]) if (pid && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
    }
  }
}

class Client {
  readonly events: Array<{ event: keyof Events; payload: unknown }> = [];
  readonly session: ConsoleSession;
  constructor(service: ConsoleService) {
    this.session = service.openSession((event, payload) => this.events.push({ event, payload }));
  }
  call<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
    return this.session.invoke(method, params) as Promise<Results[M]>;
  }
  until(clusterId: string, what: string, ready: (s: ClusterState) => boolean, timeoutMs = 60_000): Promise<ClusterState> {
    return eventually(async () => {
      const s = await this.call('cluster.state', { clusterId });
      return ready(s) ? s : undefined;
    }, what, timeoutMs);
  }
}

const allUp = (s: ClusterState) => s.leader !== '' && s.nodes.every((n) => n.process === 'running' && n.reachable && n.term === s.term);
const mode = (path: string) => statSync(path).mode & 0o777;

/** GET over HTTPS; resolves with the status, rejects when the TLS handshake or the connection fails. */
function httpsGet(address: string, path: string, tls: Partial<TlsMaterial>, token?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request(`https://${address}${path}`, { ...tls, agent: false, headers: token ? { Authorization: `Bearer ${token}` } : {}, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

describe('local clusters with mutual TLS', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService;
  let client: Client;
  let id: string;
  let token: string;
  const pkiDir = () => join(dir.path, 'pki', id);
  /** The saved definition, as the console wrote it. */
  const record = (): ClusterRecord => (JSON.parse(readFileSync(join(dir.path, 'clusters.json'), 'utf8')) as { clusters: ClusterRecord[] }).clusters.find((c) => c.id === id) as ClusterRecord;

  beforeAll(async () => {
    dir = await tempDir();
    service = await ConsoleService.open({
      dataDir: dir.path,
      demoOnFirstRun: false,
      local: localOptions,
      feed: { pollMs: 200, minRefreshMs: 50 },
      membership: { stepTimeoutMs: 60_000, pollMs: 100 },
    });
    client = new Client(service);
  });

  afterAll(async () => {
    await service?.close();
    killLeftovers(dir.path);
    await dir.remove();
  });

  it('creates the cluster with its own CA, kept in the console data dir, and nodes holding only their own certificates', { timeout: SLOW }, async () => {
    const created = await client.call('clusters.create', { name: 'Secure', kind: 'local', size: 3, nodeNames: ['a', 'b', 'c'] });
    id = created.id;
    await client.call('clusters.start', { clusterId: id });
    await client.until(id, 'a leader with every node up', allUp);
    expect(record().tls).toBe(true);
    token = record().token as string;

    expect(mode(join(dir.path, 'pki'))).toBe(0o700);
    expect(mode(pkiDir())).toBe(0o700);
    expect(readdirSync(pkiDir()).sort()).toEqual(['ca.crt', 'ca.key', 'console.crt', 'console.key']);
    for (const file of readdirSync(pkiDir())) expect(mode(join(pkiDir(), file))).toBe(0o600);
    for (const node of ['a', 'b', 'c']) {
      const nodeDir = join(dir.path, 'clusters', id, 'nodes', node);
      for (const file of Object.values(NODE_TLS_FILES)) expect(mode(join(nodeDir, file))).toBe(0o600);
      expect(readdirSync(nodeDir)).not.toContain('ca.key');
    }
  });

  it('refuses plain HTTP and HTTPS without a client certificate on a node\'s client port; the console\'s certificate is accepted', { timeout: SLOW }, async () => {
    const state = await client.until(id, 'every node up', allUp);
    const address = record().nodes.find((n) => n.id === state.leader)?.client as string;
    await expect(fetch(`http://${address}/v1/status`, { headers: { Authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    const { client: consoleTls } = await new ClusterPki(join(dir.path, 'pki')).open(id);
    await expect(httpsGet(address, '/v1/status', { ca: consoleTls.ca }, token)).rejects.toThrow();
    expect(await httpsGet(address, '/v1/status', consoleTls, token)).toBe(200);
  });

  it('serves the console\'s KV operations and status, follows a follower\'s redirect over HTTPS, and streams events', { timeout: SLOW }, async () => {
    const state = await client.until(id, 'every node up', allUp);
    const put = await client.call('kv.put', { clusterId: id, key: 'greeting', value: 'hello' });
    expect(put.index).toBeGreaterThan(0);
    expect(await client.call('kv.get', { clusterId: id, key: 'greeting' })).toEqual({ value: 'hello' });

    // A follower answers 307 naming the leader with http://; the client stays on HTTPS.
    const { client: consoleTls } = await new ClusterPki(join(dir.path, 'pki')).open(id);
    const follower = record().nodes.find((n) => n.id !== state.leader) as { client: string };
    const direct = new RaftdClient(follower.client, token, 5000, undefined, consoleTls);
    await direct.put('redirected', 'yes');
    expect(await direct.get('redirected', false)).toBe('yes');
    expect((await direct.status()).id).toBeTruthy();

    const events: RaftdEvent[] = [];
    const ended: Error[] = [];
    const stop = direct.events((e) => events.push(e), (e) => ended.push(e));
    try {
      await client.call('kv.put', { clusterId: id, key: 'evented', value: '1' });
      await eventually(() => events.length > 0, 'an event over HTTPS', 20_000);
      expect(ended).toEqual([]);
    } finally {
      stop();
    }
  });

  it('adds a node through the guided flow: it gets a certificate issued then and joins over TLS', { timeout: SLOW }, async () => {
    await client.until(id, 'every node up', allUp);
    const { operationId, nodeId } = await client.call('membership.addNode', { clusterId: id });
    const done = await operationFinished(client.events, operationId, 'the add operation', 120_000);
    expect(done.at(-1)?.error).toBeUndefined();
    const state = await client.until(id, 'four voters', (s) => s.members.voters.length === 4 && allUp(s));
    expect(state.members.voters).toContain(nodeId);
    const nodeDir = join(dir.path, 'clusters', id, 'nodes', nodeId);
    for (const file of Object.values(NODE_TLS_FILES)) expect(mode(join(nodeDir, file))).toBe(0o600);
    const address = record().nodes.find((n) => n.id === nodeId)?.client as string;
    await expect(fetch(`http://${address}/v1/status`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
    expect(await client.call('kv.get', { clusterId: id, key: 'greeting' })).toEqual({ value: 'hello' });
  });

  it('deletes the CA with the cluster', { timeout: SLOW }, async () => {
    await client.call('clusters.delete', { clusterId: id });
    expect(existsSync(pkiDir())).toBe(false);
  });
});

describe('a local cluster saved before TLS', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService | undefined;

  afterAll(async () => {
    await service?.close();
    if (dir) {
      killLeftovers(dir.path);
      await dir.remove();
    }
  });

  it('keeps running without TLS: its nodes serve plain HTTP', { timeout: SLOW }, async () => {
    dir = await tempDir();
    const ports = await pickFreePorts(6, new Set());
    const nodes = ['a', 'b', 'c'].map((nodeId, i) => ({ id: nodeId, kind: 'local', peer: `127.0.0.1:${ports[2 * i]}`, client: `127.0.0.1:${ports[2 * i + 1]}` }));
    const old = { id: 'old', name: 'Old', kind: 'local', createdAt: Date.now(), token: 'f'.repeat(32), nodes };
    await writeFile(join(dir.path, 'clusters.json'), JSON.stringify({ version: 1, clusters: [old] }));
    service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, local: localOptions, feed: { pollMs: 200, minRefreshMs: 50 } });
    const client = new Client(service);
    await client.call('clusters.start', { clusterId: 'old' });
    await client.until('old', 'a leader with every node up', allUp);
    await client.call('kv.put', { clusterId: 'old', key: 'k', value: 'v' });
    expect(await client.call('kv.get', { clusterId: 'old', key: 'k' })).toEqual({ value: 'v' });
    const res = await fetch(`http://${nodes[0].client}/v1/status`, { headers: { Authorization: `Bearer ${old.token}` } });
    expect(res.status).toBe(200);
    expect(existsSync(join(dir.path, 'pki'))).toBe(false);
  });
});
