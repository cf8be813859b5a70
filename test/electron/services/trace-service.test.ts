// Time travel through the console API: an embedded cluster's history is recorded as it is published,
// reads back at a past moment, exports as a trace file and imports as a read-only replay; a bad or
// hostile file is refused with a clear error and leaves everything as it was.
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import type { ClusterState, Method, Params, Results } from '../../../electron/shared/api.js';
import { TRACE_LIMITS } from '../../../electron/shared/trace-format.js';
import { tempDir } from '../helpers.js';

const definition = {
  version: 1,
  clusters: [{ id: 'sim', name: 'Sim', kind: 'embedded', createdAt: 0, seed: 7, nodes: ['a', 'b', 'c'].map((id) => ({ id, kind: 'embedded' })) }],
};

describe('time travel through the console API', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function openConsole(path?: string) {
    let dataDir = path;
    if (!dataDir) {
      const dir = await tempDir();
      cleanup.push(dir.remove);
      dataDir = dir.path;
      await writeFile(join(dataDir, 'clusters.json'), JSON.stringify(definition));
    }
    const service = await ConsoleService.open({ dataDir, embeddedRuns: false });
    let closed = false;
    const close = async () => {
      if (!closed) await service.close();
      closed = true;
    };
    cleanup.push(close);
    const states: ClusterState[] = [];
    const session: ConsoleSession = service.openSession((event, payload) => event === 'cluster.state' && states.push(payload as ClusterState));
    const call = <M extends Method>(method: M, params: Params<M>) => session.invoke(method, params) as Promise<Results[M]>;
    return { service, call, states, dataDir, close };
  }

  /** Steps the simulated clock until a leader is published; returns the states published on the way. */
  async function stepToLeader(call: Awaited<ReturnType<typeof openConsole>>['call'], states: ClusterState[]): Promise<ClusterState> {
    for (let i = 0; i < 400; i++) {
      await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 50 });
      const last = states.at(-1);
      if (last?.leader) return last;
    }
    throw new Error('no leader within 20 simulated seconds');
  }

  it('records what was published, and reads a past moment back read-only', async () => {
    const { call, states } = await openConsole();
    const elected = await stepToLeader(call, states);
    // The first published state with no leader: the moment before the election was decided.
    const before = states.find((s) => !s.leader)!;
    const range = await call('trace.range', { clusterId: 'sim' });
    expect(range).toMatchObject({ replay: false });
    expect(range!.first).toBeLessThanOrEqual(before.at);
    expect(range!.last).toBeGreaterThanOrEqual(elected.at);

    const past = await call('trace.at', { clusterId: 'sim', at: before.at });
    expect(past?.state.leader).toBe('');
    // No leader: an election is on while a majority is up (the console's health rule), else no quorum.
    expect(past?.health).toBe(before.facts.hasQuorum ? 'no-leader' : 'no-quorum');
    expect(past?.state.clock?.now).toBe(before.clock?.now);
    expect(past?.state.nodes.map((n) => [n.id, n.role, n.term])).toEqual(before.nodes.map((n) => [n.id, n.role, n.term]));
    // Nothing to act on in the past.
    expect(past?.state.capabilities.nodeActions).toEqual([]);
    expect(past?.state.nodes.every((n) => n.actions.length === 0)).toBe(true);
    const now = await call('trace.at', { clusterId: 'sim', at: elected.at });
    expect(now?.state.leader).toBe(elected.leader);
    expect(now?.state.term).toBe(elected.term);
    expect(await call('trace.at', { clusterId: 'sim', at: range!.first - 1 })).toBeNull();
    await expect(call('trace.range', { clusterId: 'nope' })).rejects.toThrow(/no cluster "nope"/);
  });

  it("keeps a cluster's trace in its folder under the data dir, and deletes it with the cluster", async () => {
    const { call, states, dataDir } = await openConsole();
    await stepToLeader(call, states);
    const folder = join(dataDir, 'traces', 'sim');
    expect(readdirSync(folder).some((f) => f.endsWith('.ndjson'))).toBe(true);
    await call('clusters.delete', { clusterId: 'sim' });
    expect(existsSync(folder)).toBe(false);
  });

  it('exports a range as a file that imports as a read-only replay, kept across restarts and deleted on request', async () => {
    const { call, states, dataDir, close } = await openConsole();
    const elected = await stepToLeader(call, states);
    const file = await call('trace.export', { clusterId: 'sim' });
    expect(file.filename).toMatch(/^sim-.*\.raft-trace\.ndjson$/);
    expect(file.text.split('\n')[0]).toContain('"format":"raft-console-trace"');
    // An embedded cluster's trace holds every message: the election's votes were sent and delivered.
    const events = file.text.trim().split('\n').slice(1).map((line) => JSON.parse(line)).filter((f) => f.msg).map((f) => f.msg);
    expect(events.filter((m) => m.kind === 'send' && /vote/i.test(m.type)).length).toBeGreaterThan(0);
    expect(events.filter((m) => m.kind === 'deliver').length).toBeGreaterThan(0);

    const replay = await call('trace.import', { content: file.text, encoding: 'text' });
    expect(replay).toMatchObject({ name: 'Sim (replay)', kind: 'embedded', replay: { sourceId: 'sim' } });
    expect(replay.id).not.toBe('sim');
    expect((await call('clusters.list', {})).map((c) => c.id)).toEqual(['sim', replay.id]);
    const range = (await call('trace.range', { clusterId: replay.id }))!;
    expect(range.replay).toBe(true);
    const atElection = await call('trace.at', { clusterId: replay.id, at: elected.at });
    expect(atElection?.state).toMatchObject({ clusterId: replay.id, leader: elected.leader, term: elected.term });
    const start = await call('trace.at', { clusterId: replay.id, at: range.first });
    expect(start?.state.leader).toBe('');
    // A replay takes no actions, and says why.
    await expect(call('node.kill', { clusterId: replay.id, nodeId: 'a' })).rejects.toThrow(/is a replay of a recorded trace: it cannot kill a node/);
    await expect(call('kv.put', { clusterId: replay.id, key: 'k', value: 'v' })).rejects.toThrow(/cannot take writes/);

    // Gzip-compressed, the same file imports as well.
    const zipped = await call('trace.import', { content: gzipSync(file.text).toString('base64'), encoding: 'gzip-base64', name: 'Zipped' });
    expect(zipped.name).toBe('Zipped');

    await close();
    const again = await openConsole(dataDir);
    expect((await again.call('clusters.list', {})).map((c) => c.id)).toEqual(['sim', replay.id, zipped.id].sort((a, b) => (a === 'sim' ? -1 : b === 'sim' ? 1 : a.localeCompare(b))));
    expect((await again.call('trace.at', { clusterId: replay.id, at: elected.at }))?.state.leader).toBe(elected.leader);
    await again.call('clusters.delete', { clusterId: replay.id });
    expect(existsSync(join(dataDir, 'replays', replay.id))).toBe(false);
    expect((await again.call('clusters.list', {})).map((c) => c.id)).toEqual(['sim', zipped.id]);
  });

  it('refuses a malformed or hostile file with a clear error, and keeps nothing of it', async () => {
    const { call, states, dataDir } = await openConsole();
    await stepToLeader(call, states);
    const { text } = await call('trace.export', { clusterId: 'sim' });
    const lines = text.trim().split('\n');
    const header = JSON.parse(lines[0]);
    const withHeader = (over: Record<string, unknown>) => [JSON.stringify({ ...header, ...over }), ...lines.slice(1)].join('\n');
    const key = JSON.parse(lines[1]);
    const withKey = (over: Record<string, unknown>) => [lines[0], JSON.stringify({ ...key, key: { ...key.key, ...over } }), ...lines.slice(2)].join('\n');
    // A small file that inflates to more than the limit.
    const bomb = gzipSync(Buffer.alloc(TRACE_LIMITS.maxBytes + 1024, 0x20), { level: 9 }).toString('base64');
    const cases: Array<[string, Params<'trace.import'>, RegExp]> = [
      ['a newer version', { content: withHeader({ version: 2 }) }, /version 2 cannot be read: this console reads version 1/],
      ['bad JSON', { content: JSON.stringify({ ...header, frames: 1 }) + '\n{"t": 1, "key": {' }, /line 2: not valid JSON/],
      ['not a trace', { content: '{"hello": "world"}' }, /not a Raft Console trace/],
      ['a field out of range', { content: withKey({ term: -5 }) }, /line 2: key\.term: /],
      ['a path-like cluster id', { content: withHeader({ cluster: { ...header.cluster, id: '../../etc' } }) }, /line 1 \(header\): cluster\.id: /],
      ['a path-like node id', { content: withKey({ nodes: [{ ...key.key.nodes[0], id: '../x' }] }) }, /line 2: key\.nodes\.0\.id: /],
      ['a gzip bomb', { content: bomb, encoding: 'gzip-base64' }, /decompresses to more than 64 MiB/],
      ['not gzip', { content: Buffer.from('plain text').toString('base64'), encoding: 'gzip-base64' }, /not valid gzip/],
      ['a huge file', { content: 'x'.repeat(TRACE_LIMITS.maxBytes + 1) }, /larger than 64 MiB/],
    ];
    const before = await call('clusters.list', {});
    for (const [what, params, message] of cases) {
      await expect(call('trace.import', params), what).rejects.toThrow(message);
    }
    expect(await call('clusters.list', {})).toEqual(before);
    expect(existsSync(join(dataDir, 'replays')) ? readdirSync(join(dataDir, 'replays')) : []).toEqual([]);
  });
});
