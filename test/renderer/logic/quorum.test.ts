import { describe, expect, it } from 'vitest';
import { describeClusterSize, describeMajorityChange, explainOverlap, majoritySize } from '../../../renderer/src/logic/quorum';

describe('majority arithmetic', () => {
  it('computes majorities', () => {
    expect([1, 2, 3, 4, 5, 6].map(majoritySize)).toEqual([1, 2, 2, 3, 3, 4]);
  });

  it('describes a change as the issue words it', () => {
    expect(describeMajorityChange(5, 6)).toBe('majority 3 of 5 → 4 of 6');
    // Adding a learner changes no vote: no arrow from a majority to the same one.
    expect(describeMajorityChange(3, 3)).toBe('majority stays 2 of 3');
  });

  it('describes a cluster size with properly counted nouns', () => {
    // 2 voters: majority 2, so no failure is survived; 1 node survives none either.
    expect(describeClusterSize(2)).toBe('majority 2 of 2: survives 0 failed nodes. An even size survives no more failures than 1 node does.');
    expect(describeClusterSize(3)).toBe('majority 2 of 3: survives 1 failed node.');
    expect(describeClusterSize(4)).toBe('majority 3 of 4: survives 1 failed node. An even size survives no more failures than 3 nodes do.');
  });

  it('shows one-server changes overlap and two-server jumps do not', () => {
    const one = explainOverlap(['a', 'b', 'c'], ['a', 'b', 'c', 'd']);
    expect(one.overlaps).toBe(true);
    expect(one.text).toContain('2 + 3 = 5 > 4');
    const two = explainOverlap(['a', 'b', 'c'], ['a', 'b', 'c', 'd', 'e']);
    expect(two.overlaps).toBe(false);
    expect(two.text).toContain('joint consensus');
  });
});
