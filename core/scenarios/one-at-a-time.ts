// The safe ways to grow a cluster, against the same partition that split the two-at-once scenario:
// one server at a time (consecutive configurations share a majority member), then joint consensus.
import { all, learnersJoin, left, oldVoters, right } from './growing.js';
import { check, LEADER_WITHIN_MS, truth, type Scenario } from './scenario.js';
import type { ScenarioStage } from './stage.js';

const c1 = ['n1', 'n2', 'n3', 'n4'];
const majorityOf = (group: string[], voters: string[] | undefined) => !!voters && group.filter((id) => voters.includes(id)).length > voters.length / 2;
const leaderIds = (s: ScenarioStage) => s.leaders().map((l) => l.id);

export const oneAtATime: Scenario = {
  id: 'one-at-a-time',
  title: 'One server at a time, and joint consensus',
  summary:
    'The same start as "Adding two servers at once": three voters and two learners, Raft as the paper tells it, and the same partition. This time n4 is promoted alone, through the checked path raftd uses. Now no side of the partition holds two majorities: only one leader is elected, and after healing there is one history. Then n5 joins through joint consensus.',
  nodes: oldVoters,
  preVote: false,
  checkQuorum: false,
  steps: [
    learnersJoin(
      'As before: n3 leads term 2 of C_old = {n1, n2, n3}; n4 and n5 are learners that have caught up.',
    ),
    {
      title: 'Promote n4 alone',
      watch: "One configuration entry; n3's links to n1, then to n2, are drawn cut.",
      async act(s) {
        s.cut('n3', ['n1']);
        s.facts.k = s.lastIndex('n3') + 1;
        s.change('promote-n4', 'n3', 'promote', 'n4');
        await s.until(() => s.commit('n3') >= Number(s.facts.k), 200);
        // As in the unsafe scenario, n2 does not learn that it is committed.
        s.cut('n3', ['n2']);
        await s.until(() => s.conf('n4')?.voters.length === 4, 500);
      },
      narration: (s) =>
        `n3 appends "promote n4" at index ${s.facts.k}; n2 stores it and n3 commits it with 2 of C_old, then applies C1 = {n1, n2, n3, n4}. As before n1 never got it and n2 does not learn it is committed, so n1 and n2 still use C_old. n4 applies C1. A second change now would have to commit under C1, with a majority that must include n1 or n2.`,
      expect: (s) => [
        ...['n3', 'n4'].map((id) => check(`${id} uses C1 (4 voters)`, s.conf(id)?.voters, c1)),
        ...left.map((id) => check(`${id} uses C_old (3 voters)`, s.conf(id)?.voters, oldVoters)),
      ],
    },
    {
      title: 'The same partition',
      watch: 'The partition splits {n1, n2} from {n3, n4, n5}, as in the unsafe scenario.',
      async act(s) {
        s.restoreLinks();
        s.partition([left, right]);
      },
      narration: () =>
        '{n1, n2} is still a majority of C_old (2 of 3). But on the right, C1 = {n1, n2, n3, n4} needs 3 of 4, and {n3, n4} are only 2 of its voters (n5 is a learner): no majority. Any majority of C_old and any majority of C1 share a server, and here that server is on the left.',
      expect: (s) => [
        truth('{n1, n2} is a majority of the configuration n1 and n2 use', left.every((id) => majorityOf(left, s.conf(id)?.voters))),
        truth('{n3, n4, n5} is NOT a majority of the configuration n3 and n4 use', ['n3', 'n4'].every((id) => !majorityOf(right, s.conf(id)?.voters))),
      ],
    },
    {
      title: 'Elections on both sides: one leader',
      watch: 'n2 and n4 campaign at once; only one of them can reach a majority.',
      async act(s) {
        s.campaign('n2');
        s.campaign('n4');
        let proposed = false;
        await s.until(() => {
          if (!proposed && s.role('n2') === 'leader') {
            s.propose('n2', 'x', 'left');
            proposed = true;
          }
          return proposed && s.write('n2', 'x', 'left').state !== 'pending';
        }, 1000);
        await s.step(200);
      },
      narration: (s) => {
        const w = s.write('n2', 'x', 'left');
        return `n2 wins term 3 with n1 (2 of C_old) and commits x = left${w.state === 'committed' ? ` at index ${w.index}` : ''}. n4 campaigns too, gets n3's vote, and stops there: 2 of C1's 4 voters. No second leader, no second history.`;
      },
      expect: (s) => [
        check('only n2 leads', leaderIds(s), ['n2']),
        check('x = left committed', s.write('n2', 'x', 'left').state, 'committed'),
        check('n4 does not lead', s.role('n4') === 'leader', false),
        check('n3 voted for n4 in term 3', [s.status('n3')?.vote, s.term('n3')], ['n4', 3]),
      ],
    },
    {
      title: 'Heal: one history',
      watch: 'The partition heals; terms settle and everyone converges on one log.',
      async act(s) {
        s.restoreLinks();
        await s.until(() => s.leaders().length === 1 && all.every((id) => s.value(id, 'x') === 'left'), LEADER_WITHIN_MS);
        const [leader] = s.leaders();
        if (leader) Object.assign(s.facts, { leader: leader.id, term: leader.term });
      },
      narration: (s) =>
        `The partition heals. Terms settle (${s.facts.leader} leads term ${s.facts.term}), every server follows one leader, and all five hold x = left: the one value that was committed.`,
      expect: (s) => [check('exactly one server leads', s.leaders().length, 1), ...all.map((id) => check(`${id} has x = left`, s.value(id, 'x'), 'left'))],
    },
    {
      title: 'n5 joins through joint consensus',
      watch: 'Two configuration entries: C_old,new, then C_new.',
      async act(s) {
        const leader = String(s.facts.leader);
        await s.until(() => s.commit(leader) === s.lastIndex(leader) && (s.status(leader)?.appliedIndex ?? 0) === s.commit(leader), 1000);
        const node = s.cluster.service(leader);
        if (!node) return;
        s.facts.sawJoint = 0;
        let done = false;
        node.joint([{ id: 'n5', ...s.cluster.address('n5') }], []).then(
          () => (done = true),
          (e: Error) => (s.facts.jointError = e.message),
        );
        await s.until(() => {
          if ((s.conf(leader)?.votersOutgoing.length ?? 0) > 0) s.facts.sawJoint = 1;
          return done && all.every((id) => s.conf(id)?.voters.length === 5 && s.conf(id)?.votersOutgoing.length === 0);
        }, 2000);
      },
      narration: (s) =>
        `${s.facts.leader} proposes C_old,new: voters {n1, n2, n3, n4} AND {n1, …, n5}. While it is in force, every election and every commit needs a majority of each, so no decision can be made by one configuration alone. Once C_old,new commits, the leader proposes C_new alone; once that commits, the cluster has five voters. Two changes, never two independent majorities.`,
      expect: (s) => [
        truth('the joint configuration C_old,new was in force on the way', s.facts.sawJoint === 1),
        ...all.map((id) => check(`${id} uses the five voters, joint configuration left`, [s.conf(id)?.voters, s.conf(id)?.votersOutgoing], [all, []])),
      ],
    },
  ],
};
