import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  jointCommittedIndex,
  jointVoteResult,
  majorityCommittedIndex,
  majoritySize,
  majorityVoteResult,
} from '../../../core/raft/quorum.js';

const acked = (matches: Record<string, number>) => (id: string) => matches[id];

describe('majority', () => {
  it('needs more than half of the voters', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(majoritySize)).toEqual([1, 2, 2, 3, 3, 4, 4]);
  });

  it('commits the highest index a majority has acknowledged', () => {
    expect(majorityCommittedIndex(['1', '2', '3'], acked({ 1: 5, 2: 3, 3: 1 }))).toBe(3);
    expect(majorityCommittedIndex(['1', '2', '3', '4'], acked({ 1: 5, 2: 3, 3: 1, 4: 4 }))).toBe(3);
    // A voter never heard from counts as 0.
    expect(majorityCommittedIndex(['1', '2', '3'], acked({ 1: 5 }))).toBe(0);
  });

  it('matches a brute-force definition for any acknowledgements', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(50), { minLength: 1, maxLength: 9 }), (matches) => {
        const ids = matches.map((_, i) => String(i));
        const committed = majorityCommittedIndex(ids, (id) => matches[Number(id)]);
        const reachedBy = (index: number) => matches.filter((m) => m >= index).length;
        expect(reachedBy(committed)).toBeGreaterThanOrEqual(majoritySize(matches.length));
        expect(reachedBy(committed + 1)).toBeLessThan(majoritySize(matches.length));
      }),
    );
  });

  it('tallies votes as pending until a majority is reached or impossible', () => {
    const ids = ['1', '2', '3', '4', '5'];
    const votes = new Map<string, boolean>([['1', true], ['2', true]]);
    expect(majorityVoteResult(ids, votes)).toBe('pending');
    votes.set('3', true);
    expect(majorityVoteResult(ids, votes)).toBe('won');
    const against = new Map<string, boolean>([['1', true], ['2', false], ['3', false]]);
    expect(majorityVoteResult(ids, against)).toBe('pending');
    against.set('4', false);
    expect(majorityVoteResult(ids, against)).toBe('lost');
  });

  it('lets an empty configuration never decide a joint one', () => {
    expect(majorityCommittedIndex([], acked({}))).toBe(Infinity);
    expect(majorityVoteResult([], new Map())).toBe('won');
  });
});

describe('joint', () => {
  it('commits only what a majority of both halves has', () => {
    const matches = acked({ 1: 9, 2: 9, 3: 2, 4: 1, 5: 7 });
    // Incoming {1,2,3} alone would commit 9; outgoing {3,4,5} holds it back to 2.
    expect(jointCommittedIndex({ voters: ['1', '2', '3'], votersOutgoing: ['3', '4', '5'] }, matches)).toBe(2);
    expect(jointCommittedIndex({ voters: ['1', '2', '3'], votersOutgoing: [] }, matches)).toBe(9);
  });

  it('loses if either half loses and wins only if both win', () => {
    const config = { voters: ['1', '2', '3'], votersOutgoing: ['1', '4', '5'] };
    const votes = new Map<string, boolean>([['1', true], ['2', true]]);
    expect(jointVoteResult(config, votes)).toBe('pending');
    votes.set('4', true);
    expect(jointVoteResult(config, votes)).toBe('won');
    const split = new Map<string, boolean>([['1', true], ['2', true], ['4', false], ['5', false]]);
    expect(jointVoteResult(config, split)).toBe('lost');
  });
});
