import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ClusterDriver } from '../../../electron/services/cluster-driver.js';
import { ConsoleService, health, type ConsoleSession } from '../../../electron/services/console-service.js';
import { EmbeddedDriver } from '../../../electron/services/embedded-driver.js';
import { RaftdCluster } from '../../../electron/services/raftd-cluster.js';
import type { ActivityItem, ClusterState, ClusterSummary } from '../../../electron/shared/api.js';
import { clusterFacts } from '../../../electron/shared/cluster-facts.js';
import { eventually, tempDir } from '../helpers.js';

describe('console service', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const open: ConsoleService[] = [];

  const openConsole = async () => {
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false });
    open.push(service);
    return service;
  };
  const session = (service: ConsoleService): ConsoleSession => service.openSession(() => undefined);

  beforeEach(async () => {
    dir = await tempDir();
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await Promise.all(open.splice(0).map((s) => s.close()));
    await dir.remove();
  });

  it('refuses a second console on the same data directory, and lets one in once the first has closed', async () => {
    const first = await openConsole();
    await expect(ConsoleService.open({ dataDir: dir.path })).rejects.toMatchObject({
      code: 'refused',
      message: `the console data directory ${dir.path} is in use by another process (pid ${process.pid})`,
    });
    await first.close();
    const second = await openConsole();
    expect(second.dataDir).toBe(dir.path);
  });

  it('refuses a second console process on the same data directory', async () => {
    await openConsole();
    const service = fileURLToPath(new URL('../../../electron/services/console-service.ts', import.meta.url));
    const script = `import { ConsoleService } from ${JSON.stringify(service)};
      try { await ConsoleService.open({ dataDir: process.argv[1] }); console.log('opened'); }
      catch (error) { console.log(error.code + ': ' + error.message); process.exit(3); }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, dir.path], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    const code = await new Promise((resolve) => child.on('exit', resolve));
    expect(code).toBe(3);
    expect(output.trim()).toBe(`refused: the console data directory ${dir.path} is in use by another process (pid ${process.pid})`);
  });

  it('takes over the lock a crashed console left behind', async () => {
    const dead = spawnSync(process.execPath, ['-e', '']).pid as number;
    await writeFile(join(dir.path, 'console.lock'), JSON.stringify({ pid: dead, started: null }));
    await expect(openConsole()).resolves.toBeInstanceOf(ConsoleService);
    expect(JSON.parse(await readFile(join(dir.path, 'console.lock'), 'utf8')).pid).toBe(process.pid);
  });

  it('saves cluster definitions and finds them again after a restart', async () => {
    const first = await openConsole();
    const created = await session(first).invoke('clusters.create', { name: 'Three', kind: 'local', size: 3 });
    const again = await session(first).invoke('clusters.create', { name: 'Three', kind: 'local', size: 1 });
    expect(again).toMatchObject({ id: 'three-2' });
    await first.close();

    const second = await openConsole();
    const list = (await session(second).invoke('clusters.list', {})) as Array<{ id: string; nodes: Array<{ peer: string; client: string }> }>;
    expect(list.map((c) => c.id)).toEqual(['three', 'three-2']);
    expect(list[0]).toEqual(created);
    const ports = list.flatMap((c) => c.nodes.flatMap((n) => [n.peer, n.client]));
    expect(new Set(ports).size).toBe(8);
    for (const address of ports) expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('refuses node names that do not fit the size or repeat', async () => {
    const api = session(await openConsole());
    await expect(api.invoke('clusters.create', { name: 'x', kind: 'local', size: 3, nodeNames: ['a', 'b'] })).rejects.toMatchObject({
      code: 'invalid-input',
      message: 'clusters.create: nodeNames lists 2 names for 3 nodes',
    });
    await expect(api.invoke('clusters.create', { name: 'x', kind: 'local', size: 2, nodeNames: ['a', 'a'] })).rejects.toMatchObject({
      message: 'clusters.create: node name "a" is used twice',
    });
    expect(await api.invoke('clusters.list', {})).toEqual([]);
  });

  it('keeps a damaged definitions file aside instead of overwriting it, and says so', async () => {
    await writeFile(join(dir.path, 'clusters.json'), '{"version": 1, "clusters": [{"id": 7}]}');
    const service = await openConsole();
    const activity = (await session(service).invoke('activity.list', {})) as ActivityItem[];
    expect(activity).toHaveLength(1);
    expect(activity[0]).toMatchObject({ action: 'load clusters', outcome: 'failed' });
    const aside = (await readdir(dir.path)).find((f) => f.startsWith('clusters.json.damaged-'));
    expect(aside).toBeDefined();
    expect(activity[0].detail).toContain(aside);
    expect(await readFile(join(dir.path, aside!), 'utf8')).toContain('"id": 7');
  });

  it('answers requests for clusters and nodes that do not exist with not-found', async () => {
    const api = session(await openConsole());
    await expect(api.invoke('node.start', { clusterId: 'nope', nodeId: 'n1' })).rejects.toMatchObject({ code: 'not-found', message: 'no cluster "nope"' });
    await api.invoke('clusters.create', { name: 'c', kind: 'local', size: 1 });
    await expect(api.invoke('node.start', { clusterId: 'c', nodeId: 'n9' })).rejects.toMatchObject({ code: 'not-found', message: 'cluster c has no node "n9"' });
    await expect(api.invoke('embedded.clock', { clusterId: 'c', action: 'step' })).rejects.toMatchObject({ code: 'invalid-input' });
  });

  it("rebuilds only the publishing cluster's summary, and broadcasts the summaries when, and only when, they change", async () => {
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, embeddedRuns: false });
    open.push(service);
    const states: ClusterState[] = [];
    const summaries: ClusterSummary[][] = [];
    const api = service.openSession((event, payload) => {
      if (event === 'cluster.state') states.push(payload as ClusterState);
      if (event === 'clusters.changed') summaries.push(payload as ClusterSummary[]);
    });
    for (const [name, kind] of [['a', 'embedded'], ['b', 'embedded'], ['l', 'local']] as const) await api.invoke('clusters.create', { name, kind, size: 3 });
    await eventually(() => ['a', 'b', 'l'].every((id) => states.some((s) => s.clusterId === id)), 'every cluster publishing once');
    await new Promise((resolve) => setTimeout(resolve, 250));

    // The clusters whose state is built, from here on.
    const stateSpies = [vi.spyOn(EmbeddedDriver.prototype, 'state'), vi.spyOn(RaftdCluster.prototype, 'state')];
    const statesBuilt = () => new Set(stateSpies.flatMap((spy) => spy.mock.contexts.map((driver) => (driver as ClusterDriver).clusterId)));
    const healthIn = (list: ClusterSummary[]) => Object.fromEntries(list.map((c) => [c.id, c.health]));
    const before = healthIn(summaries.at(-1)!);
    expect(before).toEqual({ a: 'no-quorum', b: 'no-quorum', l: 'stopped' });

    /** Steps the cluster's paused clock (each step publishes its state) until it has a leader, then a few more times. */
    const stepPastElection = async (clusterId: string) => {
      states.length = 0;
      summaries.length = 0;
      for (let i = 0; i < 400 && !states.at(-1)?.leader; i++) await api.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 50 });
      expect(states.at(-1)?.leader).not.toBe('');
      for (let i = 0; i < 5; i++) await api.invoke('embedded.clock', { clusterId, action: 'step', stepMs: 10 });
      await new Promise((resolve) => setTimeout(resolve, 250));
      expect(states.every((s) => s.clusterId === clusterId)).toBe(true);
      // One broadcast per change of the cluster's health, each carrying that change.
      const changes = states.map(health).filter((h, i, all) => i === 0 || h !== all[i - 1]);
      if (changes[0] === before[clusterId]) changes.shift();
      expect(summaries.map((list) => healthIn(list)[clusterId])).toEqual(changes);
      expect(states.length).toBeGreaterThan(summaries.length);
    };

    await stepPastElection('a');
    expect(statesBuilt()).toEqual(new Set(['a']));
    expect(healthIn(summaries.at(-1)!)).toEqual({ a: 'healthy', b: 'no-quorum', l: 'stopped' });

    stateSpies.forEach((spy) => spy.mockClear());
    await stepPastElection('b');
    expect(statesBuilt()).toEqual(new Set(['b']));
    expect(healthIn(summaries.at(-1)!)).toEqual({ a: 'healthy', b: 'healthy', l: 'stopped' });
    // What was broadcast is what the list says.
    expect(summaries.at(-1)).toEqual(await api.invoke('clusters.list', {}));
  });
});

describe('cluster health', () => {
  const node = (id: string, reachable = true) => ({ id, reachable, process: 'running', role: id === 'a' ? 'leader' : 'follower', lastIndex: 1 }) as ClusterState['nodes'][number];
  const state = (over: Partial<ClusterState>): ClusterState => {
    const s = { clusterId: 'c', name: 'c', kind: 'local', at: 0, leader: 'a', term: 2, timeline: [], members: { voters: ['a', 'b', 'c'], votersOutgoing: [], learners: [] }, nodes: [node('a'), node('b'), node('c')], ...over } as ClusterState;
    return { ...s, facts: clusterFacts(s) };
  };

  it('is healthy only with a leader, every member reachable and no partition in place', () => {
    expect(health(state({}))).toBe('healthy');
    expect(health(state({ nodes: [node('a'), node('b'), node('c', false)] }))).toBe('degraded');
    expect(health(state({ partitions: [['a', 'b'], ['c']] }))).toBe('degraded');
    expect(health(undefined)).toBe('stopped');
  });

  it('says "no leader" during an election with a majority up, and "no quorum" only when a majority is down', () => {
    expect(health(state({ leader: '' }))).toBe('no-leader');
    expect(health(state({ leader: '', nodes: [node('a'), node('b'), node('c', false)] }))).toBe('no-leader');
    expect(health(state({ leader: '', nodes: [node('a'), node('b', false), node('c', false)] }))).toBe('no-quorum');
  });

  it('says "no quorum" when a majority is down even while a leader is still reported (it cannot commit; CheckQuorum has not demoted it yet)', () => {
    expect(health(state({ nodes: [node('a'), node('b', false), node('c', false)] }))).toBe('no-quorum');
  });

  it('does not count nodes outside the configuration, such as those a forced recovery left behind', () => {
    const recovered = state({ members: { voters: ['a'], votersOutgoing: [], learners: [] }, nodes: [node('a'), node('b', false), node('c', false)] });
    expect(health(recovered)).toBe('healthy');
  });
});
