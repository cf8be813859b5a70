// Split vote: two candidates in the same term each get half the votes, nobody wins; randomized
// election timeouts make the next round end with one leader.
import { check, LEADER_WITHIN_MS, truth, type Scenario } from './scenario.js';

const others = ['n2', 'n3', 'n4', 'n5'];

export const splitVote: Scenario = {
  id: 'split-vote',
  title: 'Split vote and randomized timeouts',
  summary:
    'Five servers, Raft as the paper tells it (no PreVote). n1 is down, so a leader needs 3 of the 4 others. Two servers time out at the same moment and split the votes: nobody wins that term. Then each draws a new random timeout, and the first to fire wins.',
  nodes: ['n1', 'n2', 'n3', 'n4', 'n5'],
  preVote: false,
  checkQuorum: false,
  steps: [
    {
      title: 'n1 is down; the others wait',
      watch: 'Four election timer rings running down at their own random speeds.',
      async act(s) {
        await s.crash('n1');
        await s.step(300);
      },
      narration: (s) =>
        `Four followers of term 1, no leader. Each counts ticks towards its own randomized election timeout (${others
          .map((id) => `${id}: ${s.status(id)?.randomizedElectionTimeout} ticks`)
          .join(', ')}; a tick is 100 ms). A majority of five is 3, so with n1 down a leader needs the votes of 3 of the 4.`,
      expect: (s) => [check('no server leads', s.leaders(), []), ...others.map((id) => check(`${id} is a follower of term 1`, [s.role(id), s.term(id)], ['follower', 1]))],
    },
    {
      title: 'n2 and n3 time out at the same moment',
      watch: "Two candidates' vote requests crossing; n4 answers n2, n5 answers n3.",
      async act(s) {
        // Each request reaches a different follower first: n4 hears only n2, n5 only n3.
        s.cut('n2', ['n5']);
        s.cut('n3', ['n4']);
        s.campaign('n2');
        s.campaign('n3');
        await s.step(60);
      },
      narration: () =>
        'Both became candidates of term 2 and voted for themselves. We cut the links n2→n5 and n3→n4 for this round, so n4 voted for n2 and n5 for n3. Each candidate has 2 votes of the 3 it needs, and each refused the other (it had already voted for itself). Split vote: term 2 has no leader. This is safe: a server votes at most once per term, so two candidates can never both reach 3.',
      expect: (s) => [
        check('n2 is a candidate of term 2', [s.role('n2'), s.term('n2')], ['candidate', 2]),
        check('n3 is a candidate of term 2', [s.role('n3'), s.term('n3')], ['candidate', 2]),
        check('n4 voted for n2', s.status('n4')?.vote, 'n2'),
        check('n5 voted for n3', s.status('n5')?.vote, 'n3'),
        check('no server leads', s.leaders(), []),
      ],
    },
    {
      title: 'Randomized timeouts break the tie',
      watch: 'The rings again: whichever empties first wins the next term.',
      async act(s) {
        s.restoreLinks();
        for (const id of others) s.facts[`timeout-${id}`] = s.status(id)?.randomizedElectionTimeout ?? 0;
        await s.until(() => s.leaders().length > 0, LEADER_WITHIN_MS);
        const [leader] = s.leaders();
        if (leader) Object.assign(s.facts, { winner: leader.id, term: leader.term });
        await s.step(100);
      },
      narration: (s) =>
        `The links work again. Every server drew a new random timeout (${others.map((id) => `${id}: ${s.facts[`timeout-${id}`]} ticks`).join(', ')}). ${s.facts.winner} fired first, asked for votes in term ${s.facts.term} and had 3 of them before anyone else woke up. Randomized timeouts make a repeated split unlikely; the term number only grows, so the old split costs nothing but time.`,
      expect: (s) => [
        check('exactly one server leads', s.leaders().length, 1),
        truth(`the leader's term is past the split term 2`, (s.leaders()[0]?.term ?? 0) > 2),
        ...others.filter((id) => id !== s.facts.winner).map((id) => check(`${id} follows ${s.facts.winner}`, s.status(id)?.leader, s.facts.winner)),
      ],
    },
    {
      title: 'n1 comes back',
      watch: 'n1 restarts and follows the leader it hears.',
      async act(s) {
        await s.restart('n1');
        await s.until(() => s.status('n1')?.leader === s.facts.winner, 3000);
      },
      narration: (s) =>
        `n1 restarts as a follower of its old term 1. The first heartbeat from ${s.facts.winner} carries term ${s.facts.term}: n1 adopts it and follows. A returning server never disrupts a leader with a newer term.`,
      expect: (s) => [check(`n1 follows ${s.facts.winner} in term ${s.facts.term}`, [s.role('n1'), s.term('n1'), s.status('n1')?.leader], ['follower', s.facts.term, s.facts.winner])],
    },
  ],
};
