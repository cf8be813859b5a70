// The plan shown before each membership step, from the same cluster facts the dashboard shows.
import { describe, expect, it } from 'vitest';
import { planChange } from '../../../electron/services/membership.js';
import type { ClusterState, NodeView } from '../../../electron/shared/api.js';
import { clusterFacts } from '../../../electron/shared/cluster-facts.js';

const node = (id: string, over: Partial<NodeView> = {}) =>
  ({ id, kind: 'embedded', process: 'running', reachable: true, role: id === 'n1' ? 'leader' : 'follower', membership: 'voter', lastIndex: 9, commitIndex: 9, ...over }) as NodeView;

function state(nodes: NodeView[]): ClusterState {
  const s = {
    clusterId: 'c',
    name: 'c',
    kind: 'embedded',
    at: 0,
    leader: 'n1',
    term: 2,
    timeline: [],
    nodes,
    members: { voters: nodes.filter((n) => n.membership === 'voter').map((n) => n.id), votersOutgoing: [], learners: nodes.filter((n) => n.membership === 'learner').map((n) => n.id) },
  } as unknown as ClusterState;
  return { ...s, facts: clusterFacts(s) };
}

describe('membership plan', () => {
  const three = state([node('n1'), node('n2'), node('n3')]);

  it('says a node id that exists is taken, before anything is called safe', () => {
    const plan = planChange(three, 'add', 'n2', 10);
    expect(plan).toMatchObject({ safe: false, reason: 'n2 already exists in this cluster; choose another name' });
    expect(planChange(three, 'add', 'n4', 10).safe).toBe(true);
  });

  it('measures a learner by its lag: the leader\'s last index minus what it holds', () => {
    const learner = (lastIndex: number) => state([node('n1'), node('n2'), node('n3'), node('n4', { membership: 'learner', lastIndex, matchIndex: 0 })]);
    // 9 − 0 would be "9 behind" by the leader's match index alone; it holds 8, so it is 1 behind.
    expect(planChange(learner(8), 'promote', 'n4', 0).reason).toBe('n4 is 1 entry behind; a voter that cannot keep up would weaken the quorum (threshold 0)');
    expect(planChange(learner(9), 'promote', 'n4', 0).safe).toBe(true);
  });

  it('counts only voters that are up', () => {
    const oneDown = state([node('n1'), node('n2'), node('n3', { process: 'killed', reachable: false })]);
    // Removing n2 leaves n1 and n3, majority 2, and only n1 is up.
    expect(planChange(oneDown, 'remove', 'n2', 10)).toMatchObject({ safe: false, after: { voters: 2, majority: 2 } });
  });
});
