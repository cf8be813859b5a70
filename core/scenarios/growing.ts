// The start both growing scenarios share ("two at once" and "one at a time"): three voters, two learners
// that have caught up, and the same two sides a partition will split them into.
import { check, type ScenarioStep } from './scenario.js';

export const oldVoters = ['n1', 'n2', 'n3'];
export const all = ['n1', 'n2', 'n3', 'n4', 'n5'];
export const left = ['n1', 'n2'];
export const right = ['n3', 'n4', 'n5'];

/** n3 leads {n1, n2, n3}; n4 and n5 join as learners and catch up. */
export function learnersJoin(narration: string): ScenarioStep {
  return {
    title: 'n3 leads {n1, n2, n3}; n4 and n5 join as learners',
    watch: 'n3 is elected; n4 and n5 appear and catch up as learners.',
    async act(s) {
      await s.until(() => (s.status('n3')?.appliedIndex ?? 0) >= oldVoters.length, 200);
      s.campaign('n3');
      await s.until(() => s.role('n3') === 'leader' && s.commit('n3') === s.lastIndex('n3'), 500);
      for (const id of ['n4', 'n5']) {
        await s.addEmptyNode(id);
        s.change(`learner-${id}`, 'n3', 'addLearner', id);
        await s.until(() => s.changeOutcome(`learner-${id}`).state !== 'pending', 1000);
      }
      await s.until(() => all.every((id) => s.commit(id) === s.lastIndex('n3') && s.lastIndex(id) === s.lastIndex('n3')), 1000);
    },
    narration: () => narration,
    expect: (s) => [
      check('n3 leads term 2', [s.role('n3'), s.term('n3')], ['leader', 2]),
      check('C_old: voters n1, n2, n3; learners n4, n5', [s.conf('n3')?.voters, s.conf('n3')?.learners], [oldVoters, ['n4', 'n5']]),
    ],
  };
}
