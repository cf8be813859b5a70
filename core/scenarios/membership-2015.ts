// The single-server membership bug Diego Ongaro reported in 2015, and its fix: a new leader makes
// no configuration change until it has committed an entry of its own term.
import { check, LEADER_WITHIN_MS, truth, type Scenario } from './scenario.js';
import type { ScenarioStage } from './stage.js';

const voters = ['n1', 'n2', 'n3', 'n4'];
const survivors = ['n2', 'n3', 'n4'];
const leader = (s: ScenarioStage) => String(s.facts.leader);

export const membership2015: Scenario = {
  id: 'membership-2015',
  title: 'The 2015 single-server membership bug',
  summary:
    'Four voters and a learner, with PreVote and CheckQuorum. An old leader\'s configuration change is left half replicated; a new leader wants to change the configuration too. Without a rule, the two changes could produce configurations whose majorities share no server. The core refuses the change until the new leader has committed an entry of its own term, and that entry is what keeps the old leader from ever coming back.',
  nodes: voters,
  preVote: true,
  checkQuorum: true,
  steps: [
    {
      title: 'n1 leads; n5 joins as a learner',
      watch: 'n1 is elected, then n5 appears and receives the log without voting.',
      async act(s) {
        // The bootstrap configuration is applied on the first tick; until then no one may campaign.
        await s.until(() => (s.status('n1')?.appliedIndex ?? 0) >= voters.length, 200);
        s.campaign('n1');
        await s.until(() => s.role('n1') === 'leader' && s.commit('n1') === s.lastIndex('n1'), 500);
        await s.addEmptyNode('n5');
        s.change('learner', 'n1', 'addLearner', 'n5');
        await s.until(() => s.changeOutcome('learner').state !== 'pending', 1000);
        await s.until(() => s.lastIndex('n5') === s.lastIndex('n1') && s.commit('n5') === s.commit('n1'), 1000);
      },
      narration: () =>
        'n1 leads term 2 of C0 = {n1, n2, n3, n4}. n5 was added as a learner: it receives the log but does not vote, and has caught up.',
      expect: (s) => [
        check('n1 leads term 2', [s.role('n1'), s.term('n1')], ['leader', 2]),
        check('the configuration is voters n1–n4, learner n5', [s.conf('n1')?.voters, s.conf('n1')?.learners], [voters, ['n5']]),
      ],
    },
    {
      title: 'n1 starts promoting n5; only n5 gets the entry',
      watch: "n1's links to n2, n3, n4 are drawn cut; the promotion reaches n5 alone.",
      async act(s) {
        s.cut('n1', survivors);
        s.change('promote', 'n1', 'promote', 'n5');
        s.facts.k = s.lastIndex('n1');
        await s.until(() => s.lastIndex('n5') === Number(s.facts.k), 200);
      },
      narration: (s) =>
        `n1 appends C1 = {n1, n2, n3, n4, n5} at index ${s.facts.k} (promote n5), but reaches only n5 (we cut its links to n2, n3, n4). In C1 a majority is 3 of 5, for instance {n1, n4, n5}. The entry is not committed: C0's majority (3 of 4) does not have it.`,
      expect: (s) => [
        ...['n1', 'n5'].map((id) => check(`${id} holds C1 at index ${s.facts.k}`, s.entryTerm(id, Number(s.facts.k)), 2)),
        ...survivors.map((id) => check(`${id} does not`, s.entryTerm(id, Number(s.facts.k)), 0)),
        truth(`index ${s.facts.k} is not committed`, s.commit('n1') < Number(s.facts.k)),
      ],
    },
    {
      title: 'n1 crashes; the new leader tries a change at once',
      watch: 'A survivor wins the election and at once asks to remove n1: watch for the refusal below.',
      async act(s) {
        await s.crash('n1');
        s.restoreLinks();
        await s.until(() => s.leaders().length > 0, LEADER_WITHIN_MS);
        const [elected] = s.leaders();
        if (!elected) return;
        const [with1, without] = survivors.filter((id) => id !== elected.id);
        Object.assign(s.facts, { leader: elected.id, term: elected.term, with1, without });
        // At once: before its own first entry can have committed.
        s.change('early', elected.id, 'remove', 'n1');
        await s.step(1);
      },
      narration: (s) => {
        const out = s.changeOutcome('early');
        return `${s.facts.leader} won term ${s.facts.term} with votes of C0 (3 of 4). It knows nothing of C1. It asks at once to remove n1, and the core refuses: "${out.state === 'refused' ? out.reason : out.state}". Why: had it gone ahead, C2 = {n2, n3, n4} could commit with 2 of 3, ${s.facts.leader} and ${s.facts.with1}, while ${s.facts.without} never hears of term ${s.facts.term}. Then n1 could return and win a later term with n1, ${s.facts.without} and n5, a majority of C1 that shares no server with C2's, and overwrite the committed C2. That is the bug of 2015 (in the paper's form, where a server uses the newest configuration in its log).`;
      },
      expect: (s) => [
        truth(`one of n2, n3, n4 leads (${s.facts.leader})`, survivors.includes(leader(s))),
        check('the change is refused', s.changeOutcome('early').state, 'refused'),
        truth(
          'because the leader has not committed an entry of its term',
          (() => {
            const out = s.changeOutcome('early');
            return out.state === 'refused' && out.reason.includes('has not yet committed an entry of its term');
          })(),
        ),
      ],
    },
    {
      title: 'After its first commit, the change goes through',
      watch: "The new leader's empty entry commits first; then the removal is proposed and committed.",
      async act(s) {
        await s.until(() => s.commit(leader(s)) >= s.lastIndex(leader(s)), 500);
        s.change('after', leader(s), 'remove', 'n1');
        await s.until(() => s.changeOutcome('after').state !== 'pending', 1000);
        await s.until(() => ['n2', 'n3', 'n4', 'n5'].every((id) => s.entryTerm(id, Number(s.facts.k)) === Number(s.facts.term)), 500);
      },
      narration: (s) =>
        `${s.facts.leader}'s empty entry of term ${s.facts.term} is committed: it is on a majority of C0, so at least two of n2, n3, n4 now hold an entry of term ${s.facts.term}. Now n1's removal is accepted and committed. n5's copy of C1 (index ${s.facts.k}, term 2) conflicted with the leader's log and was replaced: the half-done promotion is gone.`,
      expect: (s) => [
        check('the removal is applied', s.changeOutcome('after').state, 'applied'),
        check('voters are n2, n3, n4', s.conf(leader(s))?.voters, survivors),
        ...['n2', 'n3', 'n4', 'n5'].map((id) => check(`${id} holds index ${s.facts.k} of term ${s.facts.term}`, s.entryTerm(id, Number(s.facts.k)), s.facts.term)),
      ],
    },
    {
      title: 'n1 returns and cannot win',
      watch: 'n1 restarts and campaigns; nobody follows it.',
      async act(s) {
        await s.restart('n1');
        for (let i = 0; i < 3; i++) {
          s.campaign('n1');
          await s.step(300);
        }
      },
      narration: (s) =>
        `n1 restarts with C1 still in its log (uncommitted, of term 2) and campaigns. Nobody follows: the voters hear from ${s.facts.leader} (PreVote and CheckQuorum ignore a campaign while the leader is alive), and each of them holds an entry of term ${s.facts.term}, newer than n1's last entry of term 2, so none would vote for it anyway. That is exactly what the rule bought: the new leader's first commit put its term on a majority before any change.`,
      expect: (s) => [
        check(`${s.facts.leader} still leads term ${s.facts.term}`, [s.role(leader(s)), s.term(leader(s))], ['leader', s.facts.term]),
        check('n1 does not lead', s.role('n1') === 'leader', false),
      ],
    },
  ],
};
