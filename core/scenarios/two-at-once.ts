// Adding two servers at once: for a moment C_old and C_new have majorities that share no server,
// and two leaders commit different values at the same index. The core refuses this; the scenario
// takes a deliberately unsafe path (ScenarioStage.changeUnsafe, labelled TEACHING ONLY) to show it.
import { all, learnersJoin, left, oldVoters, right } from './growing.js';
import { check, truth, type Scenario } from './scenario.js';

export const twoAtOnce: Scenario = {
  id: 'two-at-once',
  title: 'Adding two servers at once',
  summary:
    'Three voters and two learners, Raft as the paper tells it. Both learners are promoted in one go, growing {n1, n2, n3} to five voters. The core refuses that (one change at a time); this scenario alone takes a deliberately unsafe path around the check, to show why: for a moment {n1, n2} is a majority of the old configuration and {n3, n4, n5} of the new one, two leaders are elected in the same term, and each commits a different value at the same index.',
  nodes: oldVoters,
  preVote: false,
  checkQuorum: false,
  steps: [
    learnersJoin(
      'n3 leads term 2 of C_old = {n1, n2, n3}. n4 and n5 joined as learners and caught up: they receive the log but do not vote.',
    ),
    {
      title: 'Both learners promoted at once (the unsafe path)',
      watch: 'Two configuration entries leave n3 back to back; its links to n1, then n2, are drawn cut.',
      async act(s) {
        s.cut('n3', ['n1']);
        s.facts.k = s.lastIndex('n3') + 1;
        s.changeUnsafe('promote-n4', 'n3', 'promote', 'n4');
        s.changeUnsafe('promote-n5', 'n3', 'promote', 'n5');
        // raftd's path, asked for any further change now, refuses: one change at a time.
        s.change('checked', 'n3', 'remove', 'n1');
        await s.until(() => s.commit('n3') >= Number(s.facts.k) + 1, 200);
        // n2 has both entries but must not learn they are committed.
        s.cut('n3', ['n2']);
        await s.until(() => ['n4', 'n5'].every((id) => s.conf(id)?.voters.length === 5), 500);
      },
      narration: (s) => {
        const checked = s.changeOutcome('checked');
        return `n3 appends "promote n4" and "promote n5" at indexes ${s.facts.k} and ${Number(s.facts.k) + 1} together, skipping the rule that raftd's path enforces (asked for another change now it answers: "${checked.state === 'refused' ? checked.reason : checked.state}"). n1 gets nothing (we cut n3→n1); n2 stores both and acknowledges, so n3 commits them with 2 of C_old and applies C_new = {n1, …, n5}. Then n3→n2 is cut too, before n2 learns they are committed: n2 still uses C_old. n4 and n5 apply C_new.`;
      },
      expect: (s) => [
        truth(
          'the checked path refuses a change while one is pending',
          (() => {
            const out = s.changeOutcome('checked');
            return out.state === 'refused' && out.reason.includes('may still be pending');
          })(),
        ),
        ...right.map((id) => check(`${id} uses C_new (5 voters)`, s.conf(id)?.voters, all)),
        ...left.map((id) => check(`${id} uses C_old (3 voters)`, s.conf(id)?.voters, oldVoters)),
        check(`n2 holds both changes, n1 neither`, [s.entryTerm('n2', Number(s.facts.k) + 1), s.entryTerm('n1', Number(s.facts.k))], [2, 0]),
      ],
    },
    {
      title: 'A partition along the seam',
      watch: 'The partition splits {n1, n2} from {n3, n4, n5}.',
      async act(s) {
        s.restoreLinks();
        s.partition([left, right]);
      },
      narration: () =>
        'The network splits into {n1, n2} and {n3, n4, n5}. On the left, both use C_old = {n1, n2, n3}: {n1, n2} is 2 of 3, a majority. On the right, all three use C_new = {n1, …, n5}: {n3, n4, n5} is 3 of 5, a majority. The two majorities share no server. With one change at a time this cannot happen: any 2 of {n1, n2, n3} and any 3 of {n1, n2, n3, n4} share a server.',
      expect: (s) => {
        const majorityOf = (group: string[], voters: string[] | undefined) => !!voters && group.filter((id) => voters.includes(id)).length > voters.length / 2;
        return [
          truth('{n1, n2} is a majority of the configuration n1 and n2 use', left.every((id) => majorityOf(left, s.conf(id)?.voters))),
          truth('{n3, n4, n5} is a majority of the configuration n3, n4 and n5 use', right.every((id) => majorityOf(right, s.conf(id)?.voters))),
          truth('the two majorities share no server', !left.some((id) => right.includes(id))),
        ];
      },
    },
    {
      title: 'Two leaders of term 3',
      watch: 'n2 and n4 campaign at once, and both win.',
      async act(s) {
        s.campaign('n2');
        s.campaign('n4');
        const proposed = new Set<string>();
        // Each writes x the moment it leads (before its own first commit can apply C_new on the left).
        await s.until(() => {
          for (const [id, value] of [['n2', 'left'], ['n4', 'right']] as const) {
            if (!proposed.has(id) && s.role(id) === 'leader') {
              s.propose(id, 'x', value);
              proposed.add(id);
            }
          }
          return proposed.size === 2;
        }, 300);
      },
      narration: () =>
        'n2 and n4 time out together. n2 asks n1 (its log is longer than n1\'s: n1 grants) and has 2 of C_old. n4 asks n3 and n5 and has 3 of C_new. Both lead term 3. Each accepts a write: x = left on n2, x = right on n4.',
      expect: (s) => [check('n2 leads term 3', [s.role('n2'), s.term('n2')], ['leader', 3]), check('n4 leads term 3', [s.role('n4'), s.term('n4')], ['leader', 3])],
    },
    {
      title: 'Both commit, at the same index',
      watch: "Each leader's appends on its own side, and both commit indexes moving.",
      async act(s) {
        await s.until(() => s.write('n2', 'x', 'left').state !== 'pending' && s.write('n4', 'x', 'right').state !== 'pending', 1000);
        await s.until(() => s.value('n1', 'x') === 'left' && right.every((id) => s.value(id, 'x') === 'right'), 500);
      },
      narration: (s) => {
        const l = s.write('n2', 'x', 'left');
        const r = s.write('n4', 'x', 'right');
        const where = (w: typeof l) => (w.state === 'committed' ? `index ${w.index} of term ${w.term}` : w.state);
        return `x = left committed at ${where(l)} with {n1, n2}; x = right committed at ${where(r)} with {n3, n4, n5}. Two clients were told "done" for different values at the same position: State Machine Safety is broken, for good. This is why a configuration changes one server at a time (consecutive configurations always share a majority member), or through joint consensus C_old,new, in which every election and every commit needs a majority of C_old AND a majority of C_new. The core enforces both; only this scenario can step around them.`;
      },
      expect: (s) => {
        const l = s.write('n2', 'x', 'left');
        const r = s.write('n4', 'x', 'right');
        return [
          check('x = left committed', l.state, 'committed'),
          check('x = right committed', r.state, 'committed'),
          truth('at the same index and term', l.state === 'committed' && r.state === 'committed' && l.index === r.index && l.term === r.term),
          check('n1 and n2 applied x = left', left.map((id) => s.value(id, 'x')), ['left', 'left']),
          check('n3, n4 and n5 applied x = right', right.map((id) => s.value(id, 'x')), ['right', 'right', 'right']),
        ];
      },
    },
  ],
};
