// Figure 8 of the Raft paper: an entry of an older term can sit on a majority and still be
// overwritten, so a leader commits by counting replicas only an entry of its own term.
import { check, truth, type Scenario } from './scenario.js';
import type { ScenarioStage } from './stage.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
/** Five bootstrap entries (one per voter), then n1's empty entry of term 2: the contested index is 7. */
const CONTESTED = 7;

/** Campaigns until `id` leads (a refused term is followed by the next), then runs `then` at once. */
async function winElection(s: ScenarioStage, id: string, then: () => void): Promise<void> {
  for (let attempt = 0; attempt < 4 && s.role(id) !== 'leader'; attempt++) {
    s.campaign(id);
    await s.until(() => s.role(id) === 'leader', 60);
  }
  if (s.role(id) === 'leader') then();
}

export const figure8: Scenario = {
  id: 'figure-8',
  title: 'Figure 8: why only entries of the current term are committed by counting',
  summary:
    'Five servers, Raft as the paper tells it. An entry of term 2 ends up on a majority of servers while its leader leads a later term, and is still overwritten by another leader. That is safe only because Raft never called it committed: a leader commits by counting replicas only an entry of its own term (Raft §5.4.2, Figure 8).',
  nodes: ids,
  preVote: false,
  checkQuorum: false,
  steps: [
    {
      title: 'n1 leads term 2',
      watch: "n1's vote requests (orange) and the answers; then its first append (blue) to everyone.",
      async act(s) {
        await winElection(s, 'n1', () => {});
        await s.until(() => ids.every((id) => s.commit(id) === CONTESTED - 1), 1000);
      },
      narration: () =>
        `n1's election timer fired first; it won term 2 and appended its empty entry at index ${CONTESTED - 1}, committed on every server. Everything up to index ${CONTESTED - 1} is committed for good.`,
      expect: (s) => [check('n1 leads term 2', [s.role('n1'), s.term('n1')], ['leader', 2]), ...ids.map((id) => check(`${id} has committed up to ${CONTESTED - 1}`, s.commit(id), CONTESTED - 1))],
    },
    {
      title: 'A write of term 2 reaches only n2',
      watch: 'The append leaves n1 for all four followers, but the links to n3, n4, n5 are drawn cut: only n2 gets it.',
      async act(s) {
        s.cut('n1', ['n3', 'n4', 'n5']);
        s.propose('n1', 'x', 'term 2');
        await s.until(() => s.entryTerm('n2', CONTESTED) === 2, 200);
      },
      narration: () =>
        `n1 appends x = "term 2" at index ${CONTESTED}, but its messages to n3, n4 and n5 are lost (we cut those links). Only n1 and n2 hold it: 2 of 5, not a majority, so it is not committed.`,
      expect: (s) => [
        ...['n1', 'n2'].map((id) => check(`${id} holds index ${CONTESTED} of term 2`, s.entryTerm(id, CONTESTED), 2)),
        ...['n3', 'n4', 'n5'].map((id) => check(`${id} has no index ${CONTESTED}`, s.entryTerm(id, CONTESTED), 0)),
        check(`n1 has committed up to ${CONTESTED - 1} only`, s.commit('n1'), CONTESTED - 1),
      ],
    },
    {
      title: 'n1 crashes; n5 wins term 3',
      watch: 'n1 goes grey. n5 asks for votes; watch n2 refuse and n3, n4 grant.',
      async act(s) {
        await s.crash('n1');
        s.restoreLinks();
        // n5's entries of term 3 stay with it: it is cut off the moment it wins.
        await winElection(s, 'n5', () => s.isolate('n5'));
        await s.step(30);
      },
      narration: () =>
        `n5 times out and asks for votes in term 3. n3 and n4 grant them (n5's log is as up to date as theirs); n2 refuses, its log is longer (index ${CONTESTED} of term 2). 3 of 5: n5 leads term 3 and appends its empty entry at index ${CONTESTED}, of term 3, but is cut off before sending it anywhere.`,
      expect: (s) => [
        check('n5 leads term 3', [s.role('n5'), s.term('n5')], ['leader', 3]),
        check(`n5 holds index ${CONTESTED} of term 3`, s.entryTerm('n5', CONTESTED), 3),
        check('n3 and n4 voted for n5', [s.status('n3')?.vote, s.status('n4')?.vote], ['n5', 'n5']),
        check(`n2 still holds index ${CONTESTED} of term 2`, s.entryTerm('n2', CONTESTED), 2),
      ],
    },
    {
      title: 'n5 crashes; n1 returns, wins term 4 and replicates index 7 to n3',
      watch: "n1 campaigns twice (term 3 is taken), then sends its log to n3 only. Keep an eye on n1's commit index.",
      async act(s) {
        await s.crash('n5');
        s.restoreLinks();
        await s.restart('n1');
        // Only n3 hears from the new leader.
        await winElection(s, 'n1', () => s.cut('n1', ['n2', 'n4']));
        await s.until(() => s.entryTerm('n3', CONTESTED) === 2, 300);
        await s.step(30);
        s.facts.commitBefore = s.commit('n1');
      },
      narration: () =>
        `n1 restarts and wins term 4 (term 3 was taken: n3 and n4 had voted in it). It appends its own empty entry of term 4 at index ${CONTESTED + 1} and brings n3 up to date: index ${CONTESTED} of term 2 is now on n1, n2 and n3, a majority of five. Counting replicas would call it committed. Raft does not: n1 leads term 4 and commits by counting only an entry of its own term, and its term-4 entry is on n1 and n3 only. n1's commit index stays below ${CONTESTED}.`,
      expect: (s) => [
        check('n1 leads term 4', [s.role('n1'), s.term('n1')], ['leader', 4]),
        ...['n1', 'n2', 'n3'].map((id) => check(`${id} holds index ${CONTESTED} of term 2`, s.entryTerm(id, CONTESTED), 2)),
        truth(`n1 has NOT committed index ${CONTESTED} (its commit index: ${s.commit('n1')})`, s.commit('n1') < CONTESTED),
        check(`index ${CONTESTED + 1} of term 4 is on n1 and n3 only`, ['n1', 'n2', 'n3', 'n4'].map((id) => s.entryTerm(id, CONTESTED + 1)), [4, 0, 4, 0]),
      ],
    },
    {
      title: 'n1 crashes again; n5 returns, wins term 5 and overwrites index 7',
      watch: 'n5 campaigns with a log ending in term 3; then its appends replace index 7 on n2 and n3 (see the log inspector after).',
      async act(s) {
        await s.crash('n1');
        s.restoreLinks();
        await s.restart('n5');
        await winElection(s, 'n5', () => {});
        await s.until(() => ['n2', 'n3', 'n4', 'n5'].every((id) => s.entryTerm(id, CONTESTED) === 3 && s.commit(id) >= CONTESTED + 1), 1000);
      },
      narration: () =>
        `n5 restarts and wins term 5 with the votes of n2 and n4: its last entry is of term 3, newer than their term 2. n3 refuses (its last entry is of term 4), but 3 of 5 suffice. n5 sends its log: index ${CONTESTED} of term 2, stored on a majority a moment ago, is overwritten on n2 and n3 by n5's entry of term 3. No harm done: nobody had called it committed. Had n1's entry of term 4 reached a majority first, that would have committed index ${CONTESTED} with it, and n5 could never have won: a majority would have held a log newer than n5's.`,
      expect: (s) => [
        check('n5 leads term 5', [s.role('n5'), s.term('n5')], ['leader', 5]),
        ...['n2', 'n3', 'n4', 'n5'].map((id) => check(`${id} holds index ${CONTESTED} of term 3`, s.entryTerm(id, CONTESTED), 3)),
        truth(`index ${CONTESTED} was never committed before term 5`, Number(s.facts.commitBefore) < CONTESTED),
      ],
    },
    {
      title: 'n1 comes back and agrees',
      watch: 'n1 restarts and is brought in line by n5.',
      async act(s) {
        await s.restart('n1');
        await s.until(() => s.entryTerm('n1', CONTESTED) === 3 && s.commit('n1') >= CONTESTED + 1, 1000);
      },
      narration: () =>
        `n1 follows n5, its entries of terms 2 and 4 from index ${CONTESTED} on are replaced, and every server's log is the same again. The write x = "term 2" was never acknowledged to its client: its proposal failed when n1 crashed.`,
      expect: (s) => [
        ...ids.map((id) => check(`${id} holds index ${CONTESTED} of term 3`, s.entryTerm(id, CONTESTED), 3)),
        truth('no server holds x = "term 2"', ids.every((id) => s.value(id, 'x') !== 'term 2')),
      ],
    },
  ],
};
