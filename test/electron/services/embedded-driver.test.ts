// The embedded demo cluster through the console API: it is there on first run and elects a leader
// by itself; with the clock paused it moves only when stepped, and the same seed replays exactly.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import type { ClusterState, Method, Params, Results } from '../../../electron/shared/api.js';
import { eventually, operationFinished, tempDir } from '../helpers.js';

const definition = (seed: number) => ({
  version: 1,
  clusters: [{ id: 'sim', name: 'Sim', kind: 'embedded', createdAt: 0, seed, nodes: ['a', 'b', 'c'].map((id) => ({ id, kind: 'embedded' })) }],
});

describe('embedded cluster', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function openConsole(options: { seed?: number; runs?: boolean } = {}) {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    if (options.seed !== undefined) await writeFile(join(dir.path, 'clusters.json'), JSON.stringify(definition(options.seed)));
    const service = await ConsoleService.open({ dataDir: dir.path, embeddedRuns: options.runs ?? false, membership: { pollMs: 20 } });
    cleanup.push(() => service.close());
    const events: Array<{ event: string; payload: unknown }> = [];
    const session: ConsoleSession = service.openSession((event, payload) => events.push({ event, payload }));
    const call = <M extends Method>(method: M, params: Params<M>) => session.invoke(method, params) as Promise<Results[M]>;
    return { service, call, events };
  }

  /** Steps simulated time until the state satisfies `ready` (at most `maxMs` of it). */
  async function stepUntil(call: Awaited<ReturnType<typeof openConsole>>['call'], ready: (s: ClusterState) => boolean, maxMs = 20_000): Promise<ClusterState> {
    for (let t = 0; t <= maxMs; t += 50) {
      const state = await call('cluster.state', { clusterId: 'sim' });
      if (ready(state)) return state;
      await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 50 });
    }
    throw new Error(`condition not reached within ${maxMs} simulated ms`);
  }

  it('opens on first run with a live demo cluster that elects a leader by itself', async () => {
    const { call } = await openConsole({ runs: true });
    const [demo] = await call('clusters.list', {});
    expect(demo).toMatchObject({ name: 'Demo', kind: 'embedded' });
    expect(demo.nodes).toHaveLength(3);
    const state = await eventually(async () => {
      const s = await call('cluster.state', { clusterId: demo.id });
      return s.leader ? s : undefined;
    }, 'a leader in the demo');
    expect(state.clock?.running).toBe(true);
    expect(state.nodes.filter((n) => n.role === 'leader')).toHaveLength(1);
  });

  it('moves only when stepped, and replays exactly for the same seed', async () => {
    const run = async () => {
      const { call } = await openConsole({ seed: 42 });
      const start = await call('cluster.state', { clusterId: 'sim' });
      expect(start.clock).toEqual({ now: 0, running: false, speed: 1 });
      const states: unknown[] = [];
      for (let i = 0; i < 60; i++) {
        await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 50 });
        const { at: _at, nodes, ...rest } = await call('cluster.state', { clusterId: 'sim' });
        states.push({ ...rest, nodes: nodes.map(({ lastSeen: _seen, ...n }) => n) });
      }
      return states as Array<Omit<ClusterState, 'at'>>;
    };
    const first = await run();
    expect(first.at(-1)?.clock?.now).toBe(3000);
    expect(first.at(-1)?.leader).not.toBe('');
    expect(first.some((s) => (s.messages ?? []).length > 0)).toBe(true);
    expect(await run()).toEqual(first);
  });

  it("writes each embedded node's log lines to its log file, readable and searchable like a local node's", async () => {
    const { call } = await openConsole({ seed: 5 });
    const state = await stepUntil(call, (s) => s.leader !== '');
    await call('node.kill', { clusterId: 'sim', nodeId: state.leader });
    const leaderLines = await eventually(async () => {
      const lines = await call('nodeLogs.read', { clusterId: 'sim', nodeId: state.leader, limit: 100 });
      return lines.some((l) => /crashed/.test(l.msg)) ? lines : undefined;
    }, 'the crash in the log');
    expect(leaderLines.some((l) => l.msg.includes(`${state.leader} became leader`) && l.level === 'info')).toBe(true);
    expect(leaderLines.find((l) => /crashed/.test(l.msg))?.level).toBe('warn');
    const all = await call('nodeLogs.read', { clusterId: 'sim', search: 'became candidate', limit: 100 });
    expect(all.length).toBeGreaterThan(0);
    expect(all.every((l) => l.msg.includes('became candidate'))).toBe(true);
  });

  it('shows every message in flight with its type, and drops one on request', async () => {
    const { call } = await openConsole({ seed: 7 });
    const state = await stepUntil(call, (s) => (s.messages ?? []).length > 0);
    const message = state.messages![0];
    expect(message.type).toMatch(/^[A-Z][A-Za-z]+$/);
    expect(message.deliverAt).toBeGreaterThanOrEqual(message.sentAt);
    expect(message.summary).toContain(message.type);
    await call('embedded.dropMessage', { clusterId: 'sim', messageId: message.id });
    const after = await call('cluster.state', { clusterId: 'sim' });
    expect(after.messages!.map((m) => m.id)).not.toContain(message.id);
    await expect(call('embedded.dropMessage', { clusterId: 'sim', messageId: message.id })).rejects.toMatchObject({
      code: 'not-found',
      message: `message ${message.id} is no longer in flight`,
    });
  });

  it('partitions, crashes and restarts nodes', async () => {
    const { call } = await openConsole({ seed: 5 });
    const elected = await stepUntil(call, (s) => s.leader !== '');
    const old = elected.leader;
    const others = elected.nodes.map((n) => n.id).filter((id) => id !== old);
    await call('fault.partition', { clusterId: 'sim', groups: [[old], others] });
    const split = await stepUntil(call, (s) => others.includes(s.leader));
    expect(split.partitions).toEqual([[old], others]);
    expect(split.timeline.some((t) => t.kind === 'fault' && t.detail.startsWith('partition'))).toBe(true);
    await call('fault.heal', { clusterId: 'sim' });

    const victim = split.leader;
    await call('node.kill', { clusterId: 'sim', nodeId: victim });
    const crashed = await call('cluster.state', { clusterId: 'sim' });
    expect(crashed.nodes.find((n) => n.id === victim)).toMatchObject({ process: 'crashed', reachable: false, role: 'unknown' });
    await stepUntil(call, (s) => s.leader !== '' && s.leader !== victim);
    await call('node.start', { clusterId: 'sim', nodeId: victim });
    const back = await stepUntil(call, (s) => s.nodes.every((n) => n.reachable && n.term === s.term));
    // The history says the node came back, not only that it went down.
    const faults = back.timeline.filter((t) => t.kind === 'fault').map((t) => t.detail);
    expect(faults.slice(-2)).toEqual([`${victim} crashed`, `${victim} started`]);
    await expect(call('node.pause', { clusterId: 'sim', nodeId: victim })).rejects.toMatchObject({ code: 'invalid-input', message: expect.stringContaining('pause the clock') });
  });

  it('commits writes as time is stepped, and decodes entries', async () => {
    const { call } = await openConsole({ seed: 9 });
    await stepUntil(call, (s) => s.leader !== '');
    const put = call('kv.put', { clusterId: 'sim', key: 'color', value: 'blue' });
    let settled = false;
    void put.finally(() => (settled = true)).catch(() => undefined);
    for (let i = 0; i < 400 && !settled; i++) await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 10 });
    const { index } = await put;
    const state = await call('cluster.state', { clusterId: 'sim' });
    const entry = await call('log.entry', { clusterId: 'sim', nodeId: state.leader, index: index! });
    expect(entry).toMatchObject({ index, type: 'normal', decoded: { kind: 'kv', op: 'put', key: 'color', value: 'blue' } });
    const read = call('kv.get', { clusterId: 'sim', key: 'color' });
    settled = false;
    void read.finally(() => (settled = true)).catch(() => undefined);
    for (let i = 0; i < 400 && !settled; i++) await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 10 });
    expect(await read).toEqual({ value: 'blue' });
  });

  it('runs the guided add-node sequence while time runs', async () => {
    const { call, events } = await openConsole({ seed: 3 });
    await call('embedded.clock', { clusterId: 'sim', action: 'run', speed: 5 });
    await eventually(async () => (await call('cluster.state', { clusterId: 'sim' })).leader || undefined, 'a leader');
    const { operationId, nodeId } = await call('membership.addNode', { clusterId: 'sim' });
    await expect(call('membership.addNode', { clusterId: 'sim' })).rejects.toMatchObject({
      code: 'conflict',
      message: `sim: "Add ${nodeId}" is still in progress; one change at a time`,
    });
    const final = (await operationFinished(events, operationId, 'the add sequence', 60_000)).at(-1);
    expect(final?.error).toBeUndefined();
    expect(final).toMatchObject({ done: true, fraction: 1 });
    const state = await call('cluster.state', { clusterId: 'sim' });
    expect(state.members.voters.sort()).toEqual(['a', 'b', 'c', nodeId].sort());
    expect((await call('clusters.list', {}))[0].nodes.map((n) => n.id)).toContain(nodeId);
  });

  it('replaces a voter through joint consensus (the advanced path)', async () => {
    const { call, events } = await openConsole({ seed: 4 });
    await call('embedded.clock', { clusterId: 'sim', action: 'run', speed: 5 });
    await eventually(async () => (await call('cluster.state', { clusterId: 'sim' })).leader || undefined, 'a leader');
    const { operationId } = await call('membership.joint', { clusterId: 'sim', addVoters: ['d'], removeVoters: ['a'] });
    const final = (await operationFinished(events, operationId, 'the joint change', 60_000)).at(-1);
    expect(final?.error).toBeUndefined();
    expect(final).toMatchObject({ done: true, fraction: 1 });
    const state = await call('cluster.state', { clusterId: 'sim' });
    expect(state.members).toMatchObject({ votersOutgoing: [] });
    expect(state.members.voters.sort()).toEqual(['b', 'c', 'd']);
    expect(state.nodes.map((n) => n.id).sort()).toEqual(['b', 'c', 'd']);
    expect(state.timeline.some((t) => t.kind === 'membership')).toBe(true);
    await expect(call('membership.joint', { clusterId: 'sim', addVoters: [], removeVoters: ['b', 'c', 'd'] })).rejects.toMatchObject({
      code: 'refused',
      message: 'the new configuration would have no voters',
    });
  });
});
