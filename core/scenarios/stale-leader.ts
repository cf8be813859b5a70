// A partitioned old leader keeps accepting writes that never commit, steps down, and its
// uncommitted entries are replaced once the partition heals.
import { check, LEADER_WITHIN_MS, truth, type Scenario } from './scenario.js';
import type { ScenarioStage } from './stage.js';

const ids = ['n1', 'n2', 'n3', 'n4', 'n5'];
const old = (s: ScenarioStage) => String(s.facts.old);
const minority = (s: ScenarioStage) => String(s.facts.minority).split(',');
const majority = (s: ScenarioStage) => String(s.facts.majority).split(',');

export const staleLeader: Scenario = {
  id: 'stale-leader',
  title: 'A partitioned old leader',
  summary:
    'Five servers with PreVote and CheckQuorum. The leader ends up on the minority side of a partition. It still accepts a write, which can never commit: a majority is out of reach. It steps down, the majority elects a new leader and goes on, and when the partition heals the old leader\'s uncommitted entry is replaced.',
  nodes: ids,
  preVote: true,
  checkQuorum: true,
  steps: [
    {
      title: 'A leader is elected',
      watch: 'The first election, then heartbeats from the leader.',
      async act(s) {
        await s.until(() => s.leaders().length > 0, LEADER_WITHIN_MS);
        const [leader] = s.leaders();
        if (!leader) return;
        const rest = ids.filter((id) => id !== leader.id);
        Object.assign(s.facts, { old: leader.id, oldTerm: leader.term, minority: [leader.id, rest[0]].join(','), majority: rest.slice(1).join(',') });
        await s.until(() => ids.every((id) => s.commit(id) === s.lastIndex(leader.id)), 1000);
      },
      narration: (s) => `${s.facts.old} leads term ${s.facts.oldTerm}; its first entry (the empty one of its term) is committed everywhere.`,
      expect: (s) => [check('exactly one server leads', s.leaders().length, 1)],
    },
    {
      title: 'Partition: the leader is on the minority side',
      watch: "The links across the partition are drawn cut; the old leader's append reaches only its neighbour.",
      async act(s) {
        s.partition([minority(s), majority(s)]);
        s.facts.lostIndex = s.lastIndex(old(s)) + 1;
        s.propose(old(s), 'x', 'lost');
        await s.step(100);
      },
      narration: (s) =>
        `The network splits into {${minority(s).join(', ')}} and {${majority(s).join(', ')}}. ${s.facts.old} still believes it leads and accepts x = lost at index ${s.facts.lostIndex}; it reaches ${minority(s)[1]}, but a write commits only on a majority (3 of 5), and only 2 are on this side. The client is not told "done": the write stays uncommitted.`,
      expect: (s) => [
        check(`${s.facts.old} still leads term ${s.facts.oldTerm}`, [s.role(old(s)), s.term(old(s))], ['leader', s.facts.oldTerm]),
        check(`x = lost is at index ${s.facts.lostIndex} on ${s.facts.old}`, s.entryTerm(old(s), Number(s.facts.lostIndex)), s.facts.oldTerm),
        truth(`index ${s.facts.lostIndex} is not committed`, s.commit(old(s)) < Number(s.facts.lostIndex)),
        check('the write is still pending', s.write(old(s), 'x', 'lost').state, 'pending'),
      ],
    },
    {
      title: 'The old leader steps down',
      watch: "The old leader's role changes by itself after an election timeout.",
      async act(s) {
        await s.until(() => s.role(old(s)) !== 'leader', 3000);
        await s.step(10);
      },
      narration: (s) =>
        `CheckQuorum: a leader that has not heard from a majority for an election timeout steps down. ${s.facts.old} becomes a follower, and the pending write fails with "the write may or may not have been applied": the honest answer, since its fate is not decided by ${s.facts.old}.`,
      expect: (s) => [
        check(`${s.facts.old} is no longer leader`, s.role(old(s)) === 'leader', false),
        check('the write failed', s.write(old(s), 'x', 'lost').state, 'failed'),
        truth(`index ${s.facts.lostIndex} is still not committed`, s.commit(old(s)) < Number(s.facts.lostIndex)),
      ],
    },
    {
      title: 'The majority elects a new leader and writes',
      watch: "On the majority side a ring empties, an election in a higher term, then the write's appends.",
      async act(s) {
        await s.until(() => s.leaders().some((l) => majority(s).includes(l.id)), LEADER_WITHIN_MS);
        const leader = s.leaders().find((l) => majority(s).includes(l.id));
        if (!leader) return;
        Object.assign(s.facts, { next: leader.id, nextTerm: leader.term });
        s.propose(leader.id, 'x', 'kept');
        await s.until(() => s.write(leader.id, 'x', 'kept').state !== 'pending', 2000);
      },
      narration: (s) =>
        `On the majority side the followers stopped hearing heartbeats; ${s.facts.next} timed out first and leads term ${s.facts.nextTerm} with 3 of 5. Its own log has no x = lost. x = kept commits: 3 servers have it.`,
      expect: (s) => [
        check(`${s.facts.next} leads term ${s.facts.nextTerm}`, s.role(String(s.facts.next)), 'leader'),
        truth(`term ${s.facts.nextTerm} is newer than ${s.facts.oldTerm}`, Number(s.facts.nextTerm) > Number(s.facts.oldTerm)),
        check('x = kept committed', s.write(String(s.facts.next), 'x', 'kept').state, 'committed'),
      ],
    },
    {
      title: 'The partition heals',
      watch: "The new leader's appends reach the old one and replace its uncommitted entry.",
      async act(s) {
        s.restoreLinks();
        await s.until(() => ids.every((id) => s.value(id, 'x') === 'kept'), 3000);
      },
      narration: (s) =>
        `${s.facts.old} and ${minority(s)[1]} hear from ${s.facts.next} in term ${s.facts.nextTerm}, follow it, and their entry at index ${s.facts.lostIndex} (term ${s.facts.oldTerm}) conflicts with the leader's: it is dropped and replaced by the leader's entry of term ${s.facts.nextTerm}. Safe, because it was never committed and no client was told it was. Every server now has x = kept.`,
      expect: (s) => [
        ...ids.map((id) => check(`${id} has x = kept`, s.value(id, 'x'), 'kept')),
        check(`index ${s.facts.lostIndex} on ${s.facts.old} is now of term ${s.facts.nextTerm}`, s.entryTerm(old(s), Number(s.facts.lostIndex)), s.facts.nextTerm),
      ],
    },
  ],
};
