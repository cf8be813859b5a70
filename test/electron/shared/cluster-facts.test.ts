// The facts the console derives from a cluster's state, each checked against its definition:
// majority = ⌊voters/2⌋+1; failures tolerated = voters up − majority; lag = leader's last index −
// the last index the node holds; "no leader" vs "no quorum" by whether a majority is up.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import type { ClusterState, Method, NodeView, Params, Results } from '../../../electron/shared/api.js';

import { clusterFacts, failuresTolerated, lagBehindLeader, majoritySide, successorTo } from '../../../electron/shared/cluster-facts.js';
import { tempDir } from '../helpers.js';

function node(id: string, over: Partial<NodeView> = {}): NodeView {
  return {
    id,
    kind: 'embedded',
    process: 'running',
    reachable: true,
    lastSeen: 1,
    role: 'follower',
    membership: 'voter',
    term: 2,
    vote: '',
    leader: 'n1',
    commitIndex: 7,
    appliedIndex: 7,
    lastIndex: 7,
    firstIndex: 1,
    snapshotIndex: 0,
    actions: [],
    logTail: [],
    ...over,
  };
}

function state(nodes: NodeView[], leader = 'n1', voters = nodes.filter((n) => n.membership === 'voter').map((n) => n.id)): Pick<ClusterState, 'leader' | 'members' | 'nodes'> {
  return { leader, nodes, members: { voters, votersOutgoing: [], learners: nodes.filter((n) => n.membership === 'learner').map((n) => n.id) } };
}

describe('cluster facts', () => {
  it('counts only voters that are up toward the failures tolerated', () => {
    const all = clusterFacts(state([node('n1', { role: 'leader' }), node('n2'), node('n3'), node('n4'), node('n5')]));
    // 5 voters, majority 3: 5 up tolerate 2 more failures.
    expect(all).toMatchObject({ voters: 5, majority: 3, failuresTolerated: 2, hasQuorum: true, leadership: 'leader' });
    const oneDown = clusterFacts(state([node('n1', { role: 'leader' }), node('n2'), node('n3'), node('n4'), node('n5', { process: 'killed', reachable: false })]));
    // 4 up, majority 3: one more voter may fail (the one already down does not count as tolerated).

    expect(oneDown.failuresTolerated).toBe(1);
    expect(oneDown.votersDown).toEqual(['n5']);
    expect(failuresTolerated(3)).toBe(1);
    expect(failuresTolerated(3, 2)).toBe(0);
    expect(failuresTolerated(4)).toBe(1);
  });

  it('says "electing" when no one leads but a majority is up, and "no-quorum" only when a majority is down', () => {
    const electing = clusterFacts(state([node('n1', { role: 'candidate' }), node('n2'), node('n3', { process: 'crashed', reachable: false })], ''));
    expect(electing).toMatchObject({ leadership: 'electing', hasQuorum: true, votersUp: ['n1', 'n2'] });
    const lost = clusterFacts(state([node('n1', { role: 'candidate' }), node('n2', { process: 'paused', reachable: false }), node('n3', { process: 'crashed', reachable: false })], ''));
    expect(lost).toMatchObject({ leadership: 'no-quorum', hasQuorum: false, failuresTolerated: 0, votersSuspended: ['n2'], votersDown: ['n3'], quorumLostForGood: false });
    const gone = clusterFacts(state([node('n1'), node('n2', { process: 'killed', reachable: false }), node('n3', { process: 'crashed', reachable: false })], ''));
    expect(gone.quorumLostForGood).toBe(true);
  });

  it('needs a majority of both halves while joint', () => {
    const nodes = [node('n1', { role: 'leader' }), node('n2'), node('n3'), node('n4', { process: 'killed', reachable: false }), node('n5', { process: 'killed', reachable: false })];
    // C_old = n1 n2 n3 (all up), C_new = n1 n4 n5 (one of three up): no majority of C_new.
    const facts = clusterFacts({ leader: 'n1', nodes, members: { voters: ['n1', 'n4', 'n5'], votersOutgoing: ['n1', 'n2', 'n3'], learners: [] } });
    expect(facts).toMatchObject({ voters: 3, majority: 2, votersOutgoing: 3, majorityOutgoing: 2, hasQuorum: false, failuresTolerated: 0 });
  });

  it("measures lag as the leader's last index minus the last index the node holds", () => {
    const leader = node('n1', { role: 'leader', lastIndex: 7 });
    // The leader's match index is 0 right after an election until the node answers: what the node holds counts.
    expect(lagBehindLeader(leader, node('n3', { lastIndex: 6, matchIndex: 0 }))).toBe(1);
    expect(lagBehindLeader(leader, node('n3', { lastIndex: 6 }))).toBe(1);
    expect(lagBehindLeader(leader, node('n3', { lastIndex: 2, matchIndex: 2 }))).toBe(5);
    expect(lagBehindLeader(leader, node('n3', { lastIndex: 7, matchIndex: 7 }))).toBe(0);
    expect(lagBehindLeader(leader, leader)).toBe(0);
  });

  it('calls the lag of a node that is not up, or of any node without a leader, unknown', () => {
    const facts = clusterFacts(state([node('n1', { role: 'leader' }), node('n2', { process: 'crashed', reachable: false, lastIndex: 0 }), node('n3', { reachable: false })]));
    expect(facts.lag).toEqual({ n1: 0, n2: null, n3: null });
    const leaderless = clusterFacts(state([node('n1'), node('n2', { lastIndex: 3 })], ''));
    expect(leaderless.lag).toEqual({ n1: null, n2: null });
  });

  it('orders who could take over by how much of the log they hold, only voters that are up', () => {
    const facts = clusterFacts(
      state([
        node('n1', { role: 'leader', lastIndex: 9 }),
        node('n2', { lastIndex: 5 }),
        node('n3', { lastIndex: 8 }),
        node('n4', { lastIndex: 9, process: 'paused', reachable: false }),
        node('n5', { lastIndex: 9, membership: 'learner' }),
      ]),
    );
    expect(facts.takeoverOrder).toEqual(['n1', 'n3', 'n2']);
    expect(successorTo(facts, 'n1')).toBe('n3');
  });

  it('finds the side of a proposed partition that keeps a majority of voters', () => {
    expect(majoritySide([['a', 'c'], ['b']], ['a', 'b', 'c'])).toBe(0);
    expect(majoritySide([['a'], ['b'], ['c']], ['a', 'b', 'c'])).toBeUndefined();
  });
});

describe('cluster facts of a real embedded cluster', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  async function openCluster() {
    const dir = await tempDir();
    cleanup.push(dir.remove);
    const ids = ['n1', 'n2', 'n3'];
    await writeFile(join(dir.path, 'clusters.json'), JSON.stringify({ version: 1, clusters: [{ id: 'sim', name: 'Sim', kind: 'embedded', createdAt: 0, seed: 7, nodes: ids.map((id) => ({ id, kind: 'embedded' })) }] }));
    const service = await ConsoleService.open({ dataDir: dir.path, embeddedRuns: false });
    cleanup.push(() => service.close());
    const session = service.openSession(() => {});
    const call = <M extends Method>(method: M, params: Params<M>) => session.invoke(method, params) as Promise<Results[M]>;
    const state = () => call('cluster.state', { clusterId: 'sim' });
    /** Steps simulated time (paused clock) until `ready`, or fails after `maxMs` of it. */
    const stepUntil = async (ready: (s: ClusterState) => boolean, maxMs = 20_000) => {
      for (let t = 0; t <= maxMs; t += 20) {
        const s = await state();
        if (ready(s)) return s;
        await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 20 });
      }
      throw new Error(`not reached within ${maxMs} simulated ms`);
    };
    /** Runs a request that needs simulated time to pass, stepping the clock until it answers. */
    const withTime = async <T>(request: Promise<T>): Promise<T> => {
      let done = false;
      const settled = request.finally(() => (done = true));
      for (let i = 0; i < 1000 && !done; i++) await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 20 });
      return settled;
    };
    return { call, state, stepUntil, withTime };
  }

  const node = (s: ClusterState, id: string) => s.nodes.find((n) => n.id === id)!;
  const allCaughtUp = (s: ClusterState) => s.leader !== '' && s.nodes.every((n) => n.lastIndex === node(s, s.leader).lastIndex && n.matchIndex === n.lastIndex);

  it('finds a node one entry behind to be 1 behind, even right after a new leader was elected while it was down', async () => {
    const { call, state, stepUntil, withTime } = await openCluster();
    let s = await stepUntil(allCaughtUp);
    const [other, lagging] = s.nodes.map((n) => n.id).filter((id) => id !== s.leader);

    // A partition: one write reaches the leader and `other`, not `lagging`.
    await call('fault.partition', { clusterId: 'sim', groups: [[lagging], s.nodes.map((n) => n.id).filter((id) => id !== lagging)] });
    await withTime(call('kv.put', { clusterId: 'sim', key: 'k', value: 'v' }));
    s = await state();
    expect(node(s, s.leader).lastIndex - node(s, lagging).lastIndex).toBe(1);
    expect(s.facts.lag[lagging]).toBe(1);
    await call('fault.heal', { clusterId: 'sim' });
    s = await stepUntil(allCaughtUp);
    expect(s.facts.lag[lagging]).toBe(0);

    // Down, its lag is unknown; one voter of three down leaves no failure to spare.
    await call('node.kill', { clusterId: 'sim', nodeId: lagging });
    s = await state();
    expect(s.facts.lag[lagging]).toBeNull();
    expect(s.facts).toMatchObject({ votersUp: expect.arrayContaining([s.leader, other]), failuresTolerated: 0, leadership: 'leader' });

    // Leadership moves while it is down: the new leader's term starts with one entry it never saw, and the
    // new leader knows nothing of it yet (match index 0) until it answers.
    await withTime(call('membership.transferLeader', { clusterId: 'sim', to: other }));
    s = await stepUntil((x) => x.leader === other && node(x, other).commitIndex === node(x, other).lastIndex);
    await call('node.start', { clusterId: 'sim', nodeId: lagging });
    s = await state();
    expect(node(s, other).lastIndex - node(s, lagging).lastIndex).toBe(1);
    expect(s.facts.lag[lagging]).toBe(1);
  });

  it("shows a crashed node's last known state, marked not reachable, not term 0 and commit 0", async () => {
    const { call, state, stepUntil } = await openCluster();
    const before = await stepUntil(allCaughtUp);
    const victim = before.nodes.find((n) => n.id !== before.leader)!;
    await call('node.kill', { clusterId: 'sim', nodeId: victim.id });
    await call('embedded.clock', { clusterId: 'sim', action: 'step', stepMs: 500 });
    const after = node(await state(), victim.id);
    expect(after).toMatchObject({ process: 'crashed', reachable: false, role: 'unknown' });
    // What it reported last while up, and when (simulated time, as the cluster's clock counts).
    expect(after).toMatchObject({ term: victim.term, commitIndex: victim.commitIndex, lastIndex: victim.lastIndex, lastSeen: before.clock!.now });
    expect(after.term).toBeGreaterThan(0);
    expect(after.logTail).toEqual(victim.logTail);
  });

  it('says "no leader" while a majority is up to elect one, and "no quorum" only once a majority is down', async () => {
    const { call, state, stepUntil } = await openCluster();
    const first = await stepUntil(allCaughtUp);
    await call('node.kill', { clusterId: 'sim', nodeId: first.leader });
    let s = await state();
    expect(s.leader).toBe('');
    expect(s.facts).toMatchObject({ leadership: 'electing', hasQuorum: true });
    expect((await call('clusters.list', {}))[0].health).toBe('no-leader');

    const second = s.nodes.find((n) => n.id !== first.leader)!.id;
    await call('node.kill', { clusterId: 'sim', nodeId: second });
    s = await state();
    expect(s.facts).toMatchObject({ leadership: 'no-quorum', hasQuorum: false, failuresTolerated: 0 });
    expect((await call('clusters.list', {}))[0].health).toBe('no-quorum');
  });
});
