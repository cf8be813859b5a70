// Leader crash and re-election: a committed write survives the leader that wrote it.
import { check, LEADER_WITHIN_MS, truth, type Scenario } from './scenario.js';

const ids = ['n1', 'n2', 'n3'];

export const leaderCrash: Scenario = {
  id: 'leader-crash',
  title: 'Leader crash and re-election',
  summary:
    'Three servers with PreVote and CheckQuorum, as raftd runs. A leader is elected, a write commits, then the leader crashes. The others notice the silence, elect a new leader in a higher term, and the committed write is still there. The old leader comes back as a follower.',
  nodes: ids,
  preVote: true,
  checkQuorum: true,
  steps: [
    {
      title: 'The first election',
      watch: 'Election timer rings run down; the first to empty asks for pre-votes, then votes.',
      async act(s) {
        await s.until(() => s.leaders().length > 0, LEADER_WITHIN_MS);
        const [leader] = s.leaders();
        if (leader) Object.assign(s.facts, { leader: leader.id, term: leader.term, timeout: s.status(leader.id)?.randomizedElectionTimeout ?? 0 });
        await s.step(50);
      },
      narration: (s) =>
        `${s.facts.leader}'s randomized election timer ran out first. It asked the others for pre-votes (would you vote for me?), then for real votes in term ${s.facts.term}, and won with a majority: 2 of 3. It appended an empty entry of its term and sends heartbeats every tick.`,
      expect: (s) => [check('exactly one server leads', s.leaders().length, 1), check(`${s.facts.leader} leads term ${s.facts.term}, the first after term 1`, s.leaders()[0], { id: s.facts.leader, term: s.facts.term }), truth('its term is past 1', Number(s.facts.term) > 1)],
    },
    {
      title: 'A write commits',
      watch: 'One append per follower carrying x = 1, their answers, then the commit index moving.',
      async act(s) {
        s.propose(String(s.facts.leader), 'x', '1');
        await s.until(() => ids.every((id) => s.value(id, 'x') === '1'), 2000);
        const out = s.write(String(s.facts.leader), 'x', '1');
        if (out.state === 'committed') s.facts.index = out.index;
      },
      narration: (s) =>
        `${s.facts.leader} appended x = 1 at index ${s.facts.index}, sent it to both followers, and committed it once a majority (itself and one follower) had it on disk. The next heartbeats told the followers, and every server applied it.`,
      expect: (s) => [
        check('the write committed', s.write(String(s.facts.leader), 'x', '1').state, 'committed'),
        ...ids.map((id) => check(`${id} applied x = 1`, s.value(id, 'x'), '1')),
      ],
    },
    {
      title: 'The leader crashes',
      watch: "The leader goes grey; no more heartbeats. The followers' rings keep running down.",
      async act(s) {
        await s.crash(String(s.facts.leader));
        await s.step(300);
      },
      narration: (s) =>
        `Heartbeats stop. The followers keep their term (${s.facts.term}), their vote and their log: all of it is on disk. Each counts ticks towards its randomized election timeout; nobody leads for now, which is safe: no write can commit, and none is lost.`,
      expect: (s) => [check('no server leads', s.leaders(), []), ...ids.filter((id) => id !== s.facts.leader).map((id) => check(`${id} still holds x = 1`, s.value(id, 'x'), '1'))],
    },
    {
      title: 'A new leader in a higher term',
      watch: 'The first ring to empty starts a pre-vote, then a vote, in the next term.',
      async act(s) {
        await s.until(() => s.leaders().length > 0, LEADER_WITHIN_MS);
        const [leader] = s.leaders();
        if (leader) Object.assign(s.facts, { next: leader.id, nextTerm: leader.term });
        await s.step(50);
      },
      narration: (s) =>
        `${s.facts.next} timed out first, won the pre-vote and the vote of the other survivor, and leads term ${s.facts.nextTerm}. It could win only because its log was at least as up to date as its voter's: every committed entry, x = 1 included, is on any majority, so a new leader always has them (Leader Completeness).`,
      expect: (s) => [
        check('exactly one server leads', s.leaders().length, 1),
        truth(`the new leader is not the crashed ${s.facts.leader}`, s.facts.next !== undefined && s.facts.next !== s.facts.leader),
        truth(`its term is higher than ${s.facts.term}`, Number(s.facts.nextTerm) > Number(s.facts.term)),
        check('the new leader still has x = 1', s.value(String(s.facts.next), 'x'), '1'),
      ],
    },
    {
      title: 'The old leader comes back',
      watch: 'The restarted node hears a higher term in its first heartbeat and follows.',
      async act(s) {
        await s.restart(String(s.facts.leader));
        await s.until(() => s.status(String(s.facts.leader))?.leader === s.facts.next, 3000);
        await s.step(200);
      },
      narration: (s) =>
        `${s.facts.leader} restarts from its log as a follower of term ${s.facts.term}. The first message from ${s.facts.next} carries term ${s.facts.nextTerm}: it adopts it and follows, and catches up on anything it missed.`,
      expect: (s) => [
        check(`${s.facts.leader} follows ${s.facts.next} in term ${s.facts.nextTerm}`, [s.role(String(s.facts.leader)), s.term(String(s.facts.leader)), s.status(String(s.facts.leader))?.leader], ['follower', s.facts.nextTerm, s.facts.next]),
        check(`${s.facts.leader} holds x = 1`, s.value(String(s.facts.leader), 'x'), '1'),
      ],
    },
  ],
};
