// The ClusterDriver contract, written once and run against every driver (embedded, local raftd
// processes, and remote ones when they land): what the console relies on, whatever runs the nodes.
import { describe, expect, it } from 'vitest';
import type { ClusterDriver } from '../../../electron/services/cluster-driver.js';
import type { ClusterState } from '../../../electron/shared/api.js';

export interface DriverHarness {
  /** A running three-node cluster (n1, n2, n3) with time moving; states it publishes go to `published`. */
  open(): Promise<{ driver: ClusterDriver; published: ClusterState[] }>;
  /** Stops everything the harness started and removes its files. */
  dispose(): Promise<void>;
}

/** Polls `read` until `ok` holds; fails with the last value after `timeoutMs`. */
async function until<T>(read: () => Promise<T>, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline) throw new Error(`condition not met; last value: ${JSON.stringify(value).slice(0, 400)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function driverContract(name: string, harness: () => DriverHarness, timeoutMs = 60_000): void {
  describe(`${name}: the ClusterDriver contract`, () => {
    it('elects a leader, publishes states that say what each node can do, and serves the key-value store and the log', { timeout: timeoutMs }, async () => {
      const h = harness();
      try {
        const { driver, published } = await h.open();
        const state = await until(() => driver.refresh(), (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
        expect(state.clusterId).toBe(driver.clusterId);
        expect(state.nodes.map((n) => n.id).sort()).toEqual(['n1', 'n2', 'n3']);
        expect(state.members.voters.slice().sort()).toEqual(['n1', 'n2', 'n3']);
        expect(state.capabilities).toEqual(driver.capabilities);
        for (const node of state.nodes) {
          // Never an action the driver cannot do; a running node can always be killed and restarted.
          expect(node.actions.every((a) => driver.capabilities.nodeActions.includes(a))).toBe(true);
          expect(node.actions).toEqual(expect.arrayContaining(['kill', 'restart']));
        }
        await until(async () => published.length, (n) => n > 0);

        const put = await driver.kvPut('greeting', 'hello');
        const index = put.index ?? 0;
        expect(put.index).toBeGreaterThan(0);
        expect(await driver.kvGet('greeting', false)).toEqual({ value: 'hello' });
        expect(await driver.kvGet('missing', false)).toEqual({ value: null });
        expect(await driver.kvCas('greeting', 'hello', 'hi')).toMatchObject({ succeeded: true });
        expect(await driver.kvCas('greeting', 'hello', 'again')).toMatchObject({ succeeded: false });
        expect(await driver.kvDelete('greeting')).toMatchObject({ succeeded: true });

        const entries = await until(() => driver.logEntries(state.leader, 1, 100), (es) => es.some((e) => e.index === index));
        expect(entries.find((e) => e.index === index)).toMatchObject({ type: 'normal' });
        expect(await driver.logEntry(state.leader, index)).toMatchObject({ index, decoded: { kind: 'kv', op: 'put', key: 'greeting', value: 'hello' } });
        await expect(driver.logEntry('nobody', 1)).rejects.toMatchObject({ code: 'not-found' });
      } finally {
        await h.dispose();
      }
    });

    it('kills and starts a node, partitions and heals, and moves leadership', { timeout: timeoutMs }, async () => {
      const h = harness();
      try {
        const { driver } = await h.open();
        const before = await until(() => driver.refresh(), (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
        const follower = before.nodes.find((n) => n.id !== before.leader)!.id;

        await driver.node(follower, 'kill');
        const killed = driver.state().nodes.find((n) => n.id === follower)!;
        expect(killed.reachable).toBe(false);
        expect(killed.role).toBe('unknown');
        expect(killed.actions).toContain('start');
        expect(killed.actions).not.toContain('kill');
        await driver.node(follower, 'start');
        await until(() => driver.refresh(), (s) => s.nodes.find((n) => n.id === follower)!.reachable);

        const leader = (await until(() => driver.refresh(), (s) => s.leader !== '')).leader;
        await driver.partition([[leader]]);
        expect(driver.state().partitions).toEqual([[leader], ['n1', 'n2', 'n3'].filter((id) => id !== leader)]);
        await expect(driver.partition([['nobody']])).rejects.toMatchObject({ code: 'invalid-input' });
        // The majority side elects a leader of its own.
        await until(() => driver.refresh(), (s) => s.leader !== '' && s.leader !== leader);
        await driver.heal();
        expect(driver.state().partitions ?? []).toEqual([]);

        const settled = await until(() => driver.refresh(), (s) => s.leader !== '' && s.nodes.every((n) => n.reachable && s.facts.lag[n.id] === 0));
        const target = settled.nodes.find((n) => n.id !== settled.leader)!.id;
        await driver.transferLeader(target);
        await until(() => driver.refresh(), (s) => s.leader === target);
      } finally {
        await h.dispose();
      }
    });

    it('reads and follows its nodes\' logs', { timeout: timeoutMs }, async () => {
      const h = harness();
      try {
        const { driver } = await h.open();
        await until(() => driver.refresh(), (s) => s.leader !== '');
        const lines = await until(() => driver.readLogs(undefined, { limit: 50 }), (ls) => ls.length > 0);
        expect(lines.length).toBeLessThanOrEqual(50);
        expect(lines.every((l) => l.clusterId === driver.clusterId && ['n1', 'n2', 'n3'].includes(l.nodeId))).toBe(true);
        expect(lines.map((l) => l.time)).toEqual(lines.map((l) => l.time).sort((a, b) => a - b));
        const onlyN2 = await driver.readLogs('n2', { limit: 10 });
        expect(onlyN2.every((l) => l.nodeId === 'n2')).toBe(true);
        expect(() => driver.followLogs('nobody', () => undefined)).toThrow();

        const followed: string[] = [];
        const stop = driver.followLogs(undefined, (line) => followed.push(line.nodeId));
        try {
          // Something every node logs: a restart of one of them.
          const { leader } = driver.state();
          const other = ['n1', 'n2', 'n3'].find((id) => id !== leader)!;
          await driver.node(other, 'restart');
          await until(async () => followed, (f) => f.includes(other));
        } finally {
          stop();
        }
      } finally {
        await h.dispose();
      }
    });
  });
}
