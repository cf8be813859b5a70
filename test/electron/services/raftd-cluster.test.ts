// Real raftd processes driven through the console API: created, killed, paused, restarted, and
// re-attached by a second console after the first one closed.
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import { definedPorts } from '../../../electron/services/local-host.js';
import { readLock } from '../../../core/process/pid-lock.js';
import { isProcessAlive } from '../../../core/process/processes.js';
import type { ClusterState, Events, Method, NodeLogLine, Params, Results } from '../../../electron/shared/api.js';
import { eventually, operationFinished, tempDir } from '../helpers.js';

const SLOW = 240_000;
const rotation = { maxBytes: 2048, keep: 8 };

/** Kills whatever a failed test left running, from the lock files. */
function killLeftovers(dataDir: string): void {
  const clusters = join(dataDir, 'clusters');
  if (!existsSync(clusters)) return;
  for (const cluster of readdirSync(clusters)) {
    const nodes = join(clusters, cluster, 'nodes');
    for (const node of existsSync(nodes) ? readdirSync(nodes) : []) {
      const owner = readLock(join(nodes, node, 'node.lock'));
      for (const pid of [owner?.child?.pid, owner?.pid]) {
        if (pid && isProcessAlive(pid)) process.kill(pid, 'SIGKILL');
      }
    }
  }
}

class Client {
  readonly events: Array<{ event: keyof Events; payload: unknown }> = [];
  readonly session: ConsoleSession;
  constructor(readonly service: ConsoleService) {
    this.session = service.openSession((event, payload) => this.events.push({ event, payload }));
  }
  call<M extends Method>(method: M, params: Params<M>): Promise<Results[M]> {
    return this.session.invoke(method, params) as Promise<Results[M]>;
  }
  state(clusterId: string): Promise<ClusterState> {
    return this.call('cluster.state', { clusterId });
  }
  /** Waits until the cluster state satisfies `ready`. */
  until(clusterId: string, what: string, ready: (s: ClusterState) => boolean, timeoutMs = 60_000): Promise<ClusterState> {
    return eventually(async () => {
      const s = await this.state(clusterId);
      return ready(s) ? s : undefined;
    }, what, timeoutMs);
  }
}

const node = (s: ClusterState, id: string) => s.nodes.find((n) => n.id === id)!;
const allUp = (s: ClusterState) => s.leader !== '' && s.nodes.every((n) => n.process === 'running' && n.reachable && n.term === s.term);

describe('local clusters of raftd processes', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let service: ConsoleService;
  let client: Client;
  const open = () =>
    ConsoleService.open({
      dataDir: dir.path,
      demoOnFirstRun: false,
      local: { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '400'], rotation },
      feed: { pollMs: 200, minRefreshMs: 50 },
      membership: { stepTimeoutMs: 60_000, pollMs: 100 },
    });

  beforeAll(async () => {
    dir = await tempDir();
    service = await open();
    client = new Client(service);
  });

  afterAll(async () => {
    await service?.close();
    killLeftovers(dir.path);
    await dir.remove();
  });

  it('creates a cluster with free ports and the given names, starts it, and a leader is elected', { timeout: SLOW }, async () => {
    const created = await client.call('clusters.create', { name: 'Local', kind: 'local', size: 3, nodeNames: ['a', 'b', 'c'] });
    expect(created.id).toBe('local');
    const addresses = created.nodes.flatMap((n) => [n.peer, n.client]);
    expect(addresses.every((a) => a?.startsWith('127.0.0.1:'))).toBe(true);
    expect(new Set(addresses).size).toBe(6);
    await client.call('clusters.start', { clusterId: 'local' });
    const state = await client.until('local', 'a leader with every node up', allUp);
    expect(state.members.voters.sort()).toEqual(['a', 'b', 'c']);
    expect(state.nodes.every((n) => n.logTail.some((e) => e.type === 'config'))).toBe(true);
    const summaries = await client.call('clusters.list', {});
    expect(summaries[0].health).toBe('healthy');
    expect(client.events.some((e) => e.event === 'cluster.state')).toBe(true);

    const put = await client.call('kv.put', { clusterId: 'local', key: 'greeting', value: 'hello' });
    expect(put.index).toBeGreaterThan(0);
    expect(await client.call('kv.get', { clusterId: 'local', key: 'greeting' })).toEqual({ value: 'hello' });
    expect(await client.call('kv.get', { clusterId: 'local', key: 'missing' })).toEqual({ value: null });
    const entries = await client.call('log.entries', { clusterId: 'local', nodeId: 'a', from: 1, limit: 100 });
    expect(entries.some((e) => e.summary.includes('greeting'))).toBe(true);
  });

  it('reports why a node could not start, in raftd\'s words', { timeout: SLOW }, async () => {
    await client.call('clusters.create', { name: 'Broken', kind: 'local', size: 1 });
    const dataDir = join(dir.path, 'clusters/broken/nodes/n1/data');
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, 'meta.json'), JSON.stringify({ id: 'someone-else', clusterId: 'broken', initialMembers: {}, createdAt: '' }));
    await expect(client.call('node.start', { clusterId: 'broken', nodeId: 'n1' })).rejects.toMatchObject({
      code: 'unavailable',
      message: `node n1 did not start: raftd exited with code 1: raftd: data dir ${dataDir} belongs to node someone-else, not n1`,
    });
    const state = await client.state('broken');
    expect(state.nodes[0]).toMatchObject({ process: 'crashed', reachable: false });
    await client.call('clusters.delete', { clusterId: 'broken' });
  });

  it('kills the leader: it shows as killed and unreachable, never as leader, and another node takes over', { timeout: SLOW }, async () => {
    const before = await client.until('local', 'a leader', allUp);
    const old = before.leader;
    await client.call('node.kill', { clusterId: 'local', nodeId: old });
    const after = await client.until('local', 'a new leader', (s) => s.leader !== '' && s.leader !== old);
    expect(node(after, old)).toMatchObject({ process: 'killed', reachable: false, role: 'unknown' });
    expect(after.timeline.some((t) => t.kind === 'leader-lost')).toBe(true);
    expect(after.timeline.filter((t) => t.kind === 'leader-elected').length).toBeGreaterThanOrEqual(2);

    await client.call('node.start', { clusterId: 'local', nodeId: old });
    const back = await client.until('local', `${old} back`, allUp);
    // The history says the node came back, not only that it was killed.
    expect(back.timeline.filter((t) => t.kind === 'fault').map((t) => t.detail).slice(-2)).toEqual([`${old} killed (SIGKILL)`, `${old} started`]);
    // Nothing acknowledged was lost across the crash.
    expect(await client.call('kv.get', { clusterId: 'local', key: 'greeting' })).toEqual({ value: 'hello' });
  });

  it('pauses a node with SIGSTOP and resumes it with SIGCONT', { timeout: SLOW }, async () => {
    const state = await client.until('local', 'a leader', allUp);
    const follower = state.nodes.find((n) => n.id !== state.leader)!.id;
    await client.call('node.pause', { clusterId: 'local', nodeId: follower });
    const paused = await client.until('local', `${follower} paused`, (s) => node(s, follower).process === 'paused');
    expect(node(paused, follower).reachable).toBe(false);
    await client.call('node.resume', { clusterId: 'local', nodeId: follower });
    await client.until('local', `${follower} resumed`, allUp);
  });

  it('partitions through the fault endpoint and heals', { timeout: SLOW }, async () => {
    const state = await client.until('local', 'a leader', allUp);
    const isolated = state.leader;
    const others = state.nodes.map((n) => n.id).filter((id) => id !== isolated);
    await client.call('fault.partition', { clusterId: 'local', groups: [[isolated], others] });
    const split = await client.until('local', 'a leader on the majority side', (s) => others.includes(s.leader));
    expect(split.partitions).toEqual([[isolated], others]);
    await client.call('fault.heal', { clusterId: 'local' });
    await client.until('local', 'one term again', (s) => allUp(s) && s.partitions === undefined);
  });

  it('writes each node\'s output to rotating log files, readable and followed live', { timeout: SLOW }, async () => {
    const live: NodeLogLine[] = [];
    const unsubscribe = service.openSession((event, payload) => {
      if (event === 'nodeLogs.line') live.push(payload as NodeLogLine);
    });
    await unsubscribe.invoke('nodeLogs.subscribe', { clusterId: 'local', nodeId: 'b' });
    await client.call('node.restart', { clusterId: 'local', nodeId: 'b' });
    await client.until('local', 'b back', allUp);
    await eventually(() => live.some((l) => l.msg.startsWith('raftd started')), 'live lines of the restart');
    unsubscribe.close();

    const files = readdirSync(join(dir.path, 'clusters/local/nodes/b/logs'));
    expect(files).toContain('raftd.log');
    expect(files).toContain('raftd.log.1');
    const lines = await client.call('nodeLogs.read', { clusterId: 'local', nodeId: 'b', limit: 10_000 });
    const starts = lines.filter((l) => l.msg.startsWith('raftd started'));
    expect(starts.length).toBeGreaterThanOrEqual(2);
    expect(lines.some((l) => l.msg === 'raftd exited with code 0')).toBe(true);
    expect(lines.map((l) => l.time)).toEqual([...lines.map((l) => l.time)].sort((x, y) => x - y));
    const warnings = await client.call('nodeLogs.read', { clusterId: 'local', levels: ['warn', 'error'], search: 'fault', limit: 100 });
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.every((l) => l.level === 'warn' || l.level === 'error')).toBe(true);
  });

  it('re-attaches after a console restart: running nodes are found, not started twice', { timeout: SLOW }, async () => {
    const before = await client.until('local', 'a leader', allUp);
    const pids = Object.fromEntries(before.nodes.map((n) => [n.id, readLock(join(dir.path, `clusters/local/nodes/${n.id}/node.lock`))?.child?.pid]));
    const follower = before.nodes.find((n) => n.id !== before.leader)!.id;
    const rest = before.nodes.map((n) => n.id).filter((id) => id !== follower);
    await client.call('fault.partition', { clusterId: 'local', groups: [[follower], rest] });
    await service.close();
    for (const pid of Object.values(pids)) expect(isProcessAlive(pid!)).toBe(true);

    service = await open();
    client = new Client(service);
    // The partition the nodes still apply is found too, then healed.
    const split = await client.until('local', 'the partition seen again', (s) => (s.partitions ?? []).length === 2);
    expect(split.partitions!.map((g) => [...g].sort()).sort()).toEqual([[follower], rest.sort()].sort());
    await client.call('fault.heal', { clusterId: 'local' });
    const after = await client.until('local', 'the re-attached cluster', (s) => allUp(s) && s.partitions === undefined);
    expect(after.leader).not.toBe('');
    await expect(client.call('node.start', { clusterId: 'local', nodeId: 'a' })).rejects.toMatchObject({
      code: 'conflict',
      message: `node a is already running (pid ${pids.a})`,
    });
    await client.call('clusters.start', { clusterId: 'local' });
    const again = Object.fromEntries(after.nodes.map((n) => [n.id, readLock(join(dir.path, `clusters/local/nodes/${n.id}/node.lock`))?.child?.pid]));
    expect(again).toEqual(pids);
  });

  it('adds a node as a learner, waits for it to catch up, promotes it, and confirms the configuration', { timeout: SLOW }, async () => {
    await client.until('local', 'a leader', allUp);
    const plan = await client.call('membership.plan', { clusterId: 'local', change: 'add' });
    expect(plan).toMatchObject({ safe: true, before: { voters: 3, majority: 2 } });
    const { operationId, nodeId } = await client.call('membership.addNode', { clusterId: 'local' });
    expect(nodeId).toBe('n1');
    const done = await operationFinished(client.events, operationId, 'the add operation', 120_000);
    expect(done.at(-1)?.error).toBeUndefined();
    expect(done.at(-1)).toMatchObject({ done: true, fraction: 1 });
    const steps = done.map((p) => p.step);
    expect(steps.indexOf('adding as learner')).toBeLessThan(steps.indexOf('promoting n1 to voter; cancel is no longer possible'));
    const state = await client.until('local', 'four voters', (s) => s.members.voters.length === 4 && allUp(s));
    expect(state.members.voters.sort()).toEqual(['a', 'b', 'c', 'n1']);
  });

  it('refuses a removal that would leave no quorum, with the reason', { timeout: SLOW }, async () => {
    const state = await client.until('local', 'a leader', allUp);
    const followers = state.nodes.filter((n) => n.id !== state.leader).map((n) => n.id);
    // 4 voters with two stopped: removing a third node would leave 3 voters needing 2, with 1 reachable.
    await client.call('node.stop', { clusterId: 'local', nodeId: followers[0] });
    await client.call('node.stop', { clusterId: 'local', nodeId: followers[1] });
    const target = followers[2];
    await client.until('local', 'two nodes down', (s) => s.nodes.filter((n) => n.reachable).length === 2);
    await expect(client.call('membership.removeNode', { clusterId: 'local', nodeId: target })).rejects.toMatchObject({ code: 'refused' });
    const plan = await client.call('membership.plan', { clusterId: 'local', change: 'remove', nodeId: target });
    expect(plan.safe).toBe(false);
    expect(plan.reason).toMatch(/reachable/);
    await client.call('clusters.start', { clusterId: 'local' });
    await client.until('local', 'everyone back', allUp);
  });

  it('removes the leader by transferring leadership first', { timeout: SLOW }, async () => {
    const state = await client.until('local', 'a leader', allUp);
    const leader = state.leader;
    const { operationId } = await client.call('membership.removeNode', { clusterId: 'local', nodeId: leader });
    const done = await operationFinished(client.events, operationId, 'the remove operation', 120_000);
    expect(done.at(-1)?.error).toBeUndefined();
    expect(done.some((p) => p.step.startsWith('transferring leadership'))).toBe(true);
    const after = await client.until('local', 'three voters', (s) => s.members.voters.length === 3 && s.leader !== '' && s.leader !== leader);
    expect(after.nodes.map((n) => n.id)).not.toContain(leader);
    expect(after.members.voters).not.toContain(leader);
  });

  it('restarts the whole cluster with new processes', { timeout: SLOW }, async () => {
    const before = await client.until('local', 'a leader', allUp);
    const pidOf = (id: string) => readLock(join(dir.path, `clusters/local/nodes/${id}/node.lock`))?.child?.pid;
    const pids = before.nodes.map((n) => pidOf(n.id));
    await client.call('clusters.restart', { clusterId: 'local' });
    const after = await client.until('local', 'the restarted cluster', allUp);
    const fresh = after.nodes.map((n) => pidOf(n.id));
    for (const [i, pid] of pids.entries()) expect(fresh[i]).not.toBe(pid);
    expect(await client.call('kv.get', { clusterId: 'local', key: 'greeting' })).toEqual({ value: 'hello' });
  });

  it('stops the cluster and deletes it with its files', { timeout: SLOW }, async () => {
    await client.call('clusters.stop', { clusterId: 'local' });
    const stopped = await client.state('local');
    expect(stopped.nodes.every((n) => n.process === 'stopped')).toBe(true);
    expect((await client.call('clusters.list', {}))[0].health).toBe('stopped');
    await client.call('clusters.delete', { clusterId: 'local' });
    expect(existsSync(join(dir.path, 'clusters/local'))).toBe(false);
    expect(await client.call('clusters.list', {})).toEqual([]);
  });
});

describe('definedPorts', () => {
  it('lists the ports of every defined node, running or not, across clusters', () => {
    const node = (id: string, peer?: string, client?: string) => ({ id, kind: 'local' as const, peer, client });
    const clusters = [
      { id: 'a', name: 'A', kind: 'local' as const, createdAt: 0, nodes: [node('n1', '127.0.0.1:7001', '127.0.0.1:8001')] },
      { id: 'b', name: 'B', kind: 'embedded' as const, createdAt: 0, nodes: [node('n1'), node('n2', '127.0.0.1:7002', '127.0.0.1:8002')] },
    ];
    expect([...definedPorts(clusters)].sort()).toEqual([7001, 7002, 8001, 8002]);
  });
});
