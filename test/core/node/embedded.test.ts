// The driver (RaftNode) and the embedded cluster: real consensus, in-memory stores and network,
// simulated time. Everything here is deterministic for a seed.
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedCluster } from '../../../core/node/embedded.js';
import { encodeMemberContext } from '../../../core/service/state-machine.js';

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const bytes = (s: string) => new TextEncoder().encode(s);

let cluster: EmbeddedCluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

async function untilLeader(c: EmbeddedCluster, maxMs = 10_000): Promise<string> {
  for (let t = 0; t < maxMs; t += 100) {
    const leader = c.leader();
    if (leader) return leader;
    await c.step(100);
  }
  throw new Error('no leader elected');
}

/** Step simulated time while a promise is pending (proposals need ticks and message delivery). */
async function during<T>(c: EmbeddedCluster, promise: Promise<T>, maxMs = 10_000): Promise<T> {
  let settled = false;
  const tracked = promise.finally(() => (settled = true));
  for (let t = 0; t < maxMs && !settled; t += 10) await c.step(10);
  return tracked;
}

describe('EmbeddedCluster', () => {
  it('elects one leader and replicates writes to every node', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 3 });
    const leader = await untilLeader(cluster);
    const out = await during(cluster, cluster.propose({ op: 'put', key: 'x', value: bytes('1') }));
    expect(out.index).toBeGreaterThan(0);
    expect(out.result.succeeded).toBe(true);
    await cluster.step(500);
    for (const id of cluster.ids()) {
      expect(text(cluster.stateMachine(id).kv.get('x')), id).toBe('1');
      expect(cluster.node(id)!.status().leader).toBe(leader);
    }
  });

  it('replays exactly for the same seed', async () => {
    const trace = async (seed: number) => {
      const c = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed });
      const events: string[] = [];
      c.on((e) => e.type === 'role' && events.push(`${e.at} ${e.node} ${e.role} t${e.term}`));
      await c.step(3000);
      const stats = c.ids().map((id) => c.node(id)!.status()).map((s) => `${s.id}:${s.role}:${s.term}:${s.commitIndex}`);
      await c.close();
      return { events, stats };
    };
    const first = await trace(11);
    expect(first.events.length).toBeGreaterThan(0);
    expect(await trace(11)).toEqual(first);
  });

  it('elects a new leader in a higher term when the leader crashes, and the old one catches up on restart', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 5 });
    const first = await untilLeader(cluster);
    const term = cluster.node(first)!.status().term;
    await during(cluster, cluster.propose({ op: 'put', key: 'before', value: bytes('crash') }));
    await cluster.crash(first);
    const second = await untilLeader(cluster);
    expect(second).not.toBe(first);
    expect(cluster.node(second)!.status().term).toBeGreaterThan(term);
    await during(cluster, cluster.propose({ op: 'put', key: 'after', value: bytes('crash') }));
    await cluster.restart(first);
    await cluster.step(2000);
    expect(text(cluster.stateMachine(first).kv.get('before'))).toBe('crash');
    expect(text(cluster.stateMachine(first).kv.get('after'))).toBe('crash');
  });

  it('restarts a leader that snapshotted past the commit index its log store last recorded', async () => {
    // A leader's commit-only hard state changes are never written, so its stored commit stays behind
    // the snapshots it takes; a snapshot holds only committed entries, so it vouches for its index.
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 6, snapshotThreshold: 10 });
    const leader = await untilLeader(cluster);
    for (let i = 0; i < 30; i++) await during(cluster, cluster.propose({ op: 'put', key: `k${i}`, value: bytes(String(i)) }));
    expect(cluster.node(leader)!.status().snapshotIndex).toBeGreaterThan(20);
    await cluster.crash(leader);
    await cluster.restart(leader);
    expect(cluster.node(leader)!.status().commitIndex).toBeGreaterThanOrEqual(cluster.node(leader)!.status().snapshotIndex);
    await untilLeader(cluster);
    await during(cluster, cluster.propose({ op: 'put', key: 'after', value: bytes('restart') }));
    await cluster.step(2000);
    expect(text(cluster.stateMachine(leader).kv.get('k29'))).toBe('29');
    expect(text(cluster.stateMachine(leader).kv.get('after'))).toBe('restart');
  });

  it('serves linearizable read barriers on the leader and refuses proposals to followers', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 8 });
    const leader = await untilLeader(cluster);
    const write = await during(cluster, cluster.propose({ op: 'put', key: 'k', value: bytes('v') }));
    const applied = await during(cluster, cluster.node(leader)!.readBarrier());
    expect(applied).toBeGreaterThanOrEqual(write.index);
    const follower = cluster.ids().find((id) => id !== leader)!;
    await expect(cluster.node(follower)!.propose(bytes('x'))).rejects.toThrow();
  });

  it('keeps one ReadIndex round in flight: reads arriving meanwhile share the next one', async () => {
    // Heartbeats every 2 s, so the only heartbeats in the window below are read rounds.
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 8, heartbeatTicks: 20, electionTicks: 60 });
    const leader = await untilLeader(cluster);
    const write = await during(cluster, cluster.propose({ op: 'put', key: 'k', value: bytes('v') }));
    let heartbeats = 0;
    cluster.network.onEvent((e) => e.kind === 'send' && e.from === leader && e.type === 'Heartbeat' && heartbeats++);
    for (let t = 0; t < 3000 && heartbeats === 0; t += 5) await cluster.step(5);
    heartbeats = 0;

    const node = cluster.node(leader)!;
    const first = Array.from({ length: 5 }, () => node.readBarrier());
    await cluster.step(1); // the first round goes out and travels (latency ≥ 5 ms)
    const second = Array.from({ length: 5 }, () => node.readBarrier());
    await cluster.step(1);
    expect(heartbeats).toBe(2); // one round, to both followers
    const applied = await during(cluster, Promise.all([...first, ...second]));
    expect(Math.min(...applied)).toBeGreaterThanOrEqual(write.index);
    expect(heartbeats).toBe(4);
  });

  it('adds a node as learner, promotes it, and it votes and holds the data', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 13, snapshotThreshold: 20 });
    const leader = await untilLeader(cluster);
    for (let i = 0; i < 30; i++) await during(cluster, cluster.propose({ op: 'put', key: `k${i}`, value: bytes(`v${i}`) }));
    await cluster.addEmptyNode('d');
    const node = cluster.node(leader)!;
    await during(cluster, node.changeMembership({ changes: [{ type: 'addLearner', id: 'd' }], context: encodeMemberContext({ d: cluster.address('d') }) }));
    await cluster.step(2000);
    expect(text(cluster.stateMachine('d').kv.get('k29'))).toBe('v29');
    expect(cluster.node('d')!.status().snapshotIndex).toBeGreaterThan(0); // caught up through a snapshot
    const promoted = await during(cluster, node.changeMembership({ changes: [{ type: 'addVoter', id: 'd' }] }));
    expect(promoted.confState.voters).toContain('d');
    await cluster.step(500);
    expect(cluster.node('d')!.status().confState.voters).toContain('d');
  });

  it('removes the leader itself: the change resolves, it steps down, and the others elect a new leader', async () => {
    cluster = await EmbeddedCluster.create({ ids: ['a', 'b', 'c'], seed: 21 });
    const leader = await untilLeader(cluster);
    const removal = await during(cluster, cluster.node(leader)!.changeMembership({ changes: [{ type: 'remove', id: leader }] }));
    expect(removal.confState.voters).not.toContain(leader);
    await cluster.step(3000);
    const next = cluster.leader();
    expect(next).not.toBe('');
    expect(next).not.toBe(leader);
    expect(cluster.node(leader)!.status().role).not.toBe('leader');
    const out = await during(cluster, cluster.propose({ op: 'put', key: 'after', value: bytes('removal') }));
    expect(out.term).toBeGreaterThan(0);
  });
});
