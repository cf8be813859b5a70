import { describe, expect, it } from 'vitest';
import { describeMajorityChange, explainOverlap, faultTolerance, majorityOf, quorumStatus } from '../../../renderer/src/logic/quorum';
import { makeNode, makeState } from '../fakeApi';

describe('majority arithmetic', () => {
  it('computes majorities and tolerated failures', () => {
    expect([1, 2, 3, 4, 5, 6].map(majorityOf)).toEqual([1, 2, 2, 3, 3, 4]);
    expect([1, 3, 4, 5].map(faultTolerance)).toEqual([0, 1, 1, 2]);
  });

  it('describes a change as the issue words it', () => {
    expect(describeMajorityChange(5, 6)).toBe('majority 3 of 5 → 4 of 6');
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

describe('quorumStatus', () => {
  it('separates up, suspended and gone voters and ignores learners', () => {
    const state = makeState({
      nodes: [
        makeNode({ id: 'n1', role: 'leader' }),
        makeNode({ id: 'n2', process: 'paused' }),
        makeNode({ id: 'n3', process: 'killed' }),
        makeNode({ id: 'n4', membership: 'learner' }),
      ],
    });
    const q = quorumStatus(state);
    expect(q).toMatchObject({ voters: 3, majority: 2, up: ['n1'], suspended: ['n2'], down: ['n3'], hasQuorum: false, lostForGood: false });
  });

  it('calls a majority lost for good only when dead voters leave too few to ever vote', () => {
    const state = makeState({
      nodes: [makeNode({ id: 'n1' }), makeNode({ id: 'n2', process: 'killed' }), makeNode({ id: 'n3', process: 'crashed' })],
    });
    expect(quorumStatus(state).lostForGood).toBe(true);
  });

  it('counts an unreachable running node as suspended, not up', () => {
    const state = makeState({ nodes: [makeNode({ id: 'n1' }), makeNode({ id: 'n2', reachable: false }), makeNode({ id: 'n3' })] });
    expect(quorumStatus(state)).toMatchObject({ up: ['n1', 'n3'], suspended: ['n2'], hasQuorum: true });
  });
});
