// Followers told their leader is gone (by their transport) forget it: a successor is elected
// within one election timeout instead of up to two, and a leader that is in fact alive keeps
// its place.
import { describe, expect, it } from 'vitest';
import { cluster, type Network } from './harness.js';

const status = (net: Network, id: string) => net.node(id).raw.status();
const T = 10; // harness electionTick

/** Tick the given nodes together, one tick at a time, letting them talk in between. */
function tickTogether(net: Network, ids: string[], ticks: number): void {
  for (let i = 0; i < ticks; i++) {
    for (const id of ids) net.tick(id);
    net.stabilize(ids);
  }
}

describe('forgetting a lost leader', () => {
  it('lets the survivors elect a successor within one election timeout', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const net = cluster(['1', '2', '3'], { preVote: true, checkQuorum: true }, seed);
      net.elect('1');
      net.partition(['1'], ['2', '3']); // as if 1 crashed
      net.node('2').raw.forgetLeader();
      net.node('3').raw.forgetLeader();
      expect(status(net, '2').softState.leader).toBe('');
      // Ticks until each campaigns.
      const remaining = ['2', '3'].map((id) => status(net, id).randomizedElectionTimeout! - status(net, id).electionElapsed!);
      expect(Math.max(...remaining)).toBeLessThanOrEqual(T);
      expect(Math.min(...remaining)).toBeGreaterThanOrEqual(1);
      // Both timing out in the same tick splits the vote, with or without forgetting.
      if (remaining[0] === remaining[1]) continue;
      tickTogether(net, ['2', '3'], Math.min(...remaining));
      expect(['2', '3'], `seed ${seed}`).toContain(net.leader());
      expect(status(net, net.leader()!).hardState.term).toBe(3);
    }
  });

  it('without it, the survivors may wait up to two election timeouts', () => {
    const waits: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const net = cluster(['1', '2', '3'], { preVote: true, checkQuorum: true }, seed);
      net.elect('1');
      net.partition(['1'], ['2', '3']);
      let ticks = 0;
      while (net.leader() === '1' || net.leader() === undefined || status(net, net.leader()!).hardState.term === 2) {
        tickTogether(net, ['2', '3'], 1);
        ticks++;
      }
      waits.push(ticks);
    }
    expect(Math.max(...waits)).toBeGreaterThan(T);
  });

  it('keeps a live leader: the others, still hearing from it, refuse the pre-vote', () => {
    const net = cluster(['1', '2', '3'], { preVote: true, checkQuorum: true });
    net.elect('1');
    net.node('2').raw.forgetLeader(); // a false alarm: only 2's connection dropped
    for (let i = 0; i < 3 * T; i++) {
      for (const id of net.ids()) net.tick(id);
      net.stabilize();
    }
    expect(net.leader()).toBe('1');
    expect(status(net, '1').hardState.term).toBe(2);
    expect(status(net, '2').softState.leader).toBe('1');
  });

  it('is a no-op on a leader, and on a follower that knows no leader', () => {
    const net = cluster(['1', '2', '3']);
    net.elect('1');
    net.node('1').raw.forgetLeader();
    expect(status(net, '1').softState).toEqual({ role: 'leader', leader: '1' });
    net.partition(['1'], ['2', '3']);
    net.node('2').raw.forgetLeader();
    const elapsed = status(net, '2').electionElapsed;
    net.node('2').raw.forgetLeader();
    expect(status(net, '2').electionElapsed).toBe(elapsed);
  });
});
