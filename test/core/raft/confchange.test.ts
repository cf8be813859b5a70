import { describe, expect, it } from 'vitest';
import {
  changeConfState,
  confChangeKind,
  createConfState,
  isJoint,
} from '../../../core/raft/confchange.js';
import type { ConfChange, ConfState } from '../../../core/raft/types.js';

const v = (id: string) => ({ type: 'addVoter' as const, id });
const l = (id: string) => ({ type: 'addLearner' as const, id });
const r = (id: string) => ({ type: 'remove' as const, id });

function apply(cs: ConfState, cc: ConfChange): ConfState {
  return changeConfState(cs, cc);
}

describe('one-at-a-time changes', () => {
  const base = createConfState(['1', '2', '3'], ['4']);

  it('adds and removes voters and learners', () => {
    expect(apply(base, { changes: [v('5')] }).voters).toEqual(['1', '2', '3', '5']);
    expect(apply(base, { changes: [r('2')] }).voters).toEqual(['1', '3']);
    expect(apply(base, { changes: [l('5')] }).learners).toEqual(['4', '5']);
    expect(apply(base, { changes: [r('4')] }).learners).toEqual([]);
  });

  it('promotes a learner to voter', () => {
    const cs = apply(base, { changes: [v('4')] });
    expect(cs.voters).toEqual(['1', '2', '3', '4']);
    expect(cs.learners).toEqual([]);
  });

  it('orders ids numerically so every node iterates alike', () => {
    expect(apply(createConfState(['2', '9']), { changes: [v('10')] }).voters).toEqual(['2', '9', '10']);
  });

  it.each<[string, ConfState, ConfChange, RegExp]>([
    ['adding an existing voter', base, { changes: [v('2')] }, /node 2 is already a voter/],
    ['adding an existing learner', base, { changes: [l('4')] }, /node 4 is already a learner/],
    ['removing an unknown node', base, { changes: [r('9')] }, /node 9 is not a member/],
    ['removing the last voter', createConfState(['1']), { changes: [r('1')] }, /without voters/],
    ['demoting the last voter', createConfState(['1']), { changes: [l('1')] }, /without voters/],
    ['leaving when not joint', base, { changes: [] }, /not joint/],
    ['an empty node id', base, { changes: [v('')] }, /non-empty node id/],
  ])('rejects %s with a reason', (_name, cs, cc, reason) => {
    expect(() => apply(cs, cc)).toThrow(reason);
  });

  it('does not change the configuration it rejects a change to', () => {
    const before = structuredClone(base);
    expect(() => apply(base, { changes: [r('9')] })).toThrow();
    expect(base).toEqual(before);
  });
});

describe('joint consensus', () => {
  const base = createConfState(['1', '2', '3']);

  it('is entered by several changes, keeping C_old as the outgoing half', () => {
    const cs = apply(base, { changes: [v('4'), r('1')] });
    expect(isJoint(cs)).toBe(true);
    expect(cs.voters).toEqual(['2', '3', '4']);
    expect(cs.votersOutgoing).toEqual(['1', '2', '3']);
    expect(cs.autoLeave).toBe(true);
  });

  it('is entered by one change with a joint or explicit transition', () => {
    expect(apply(base, { changes: [v('4')], transition: 'joint' }).autoLeave).toBe(true);
    const explicit = apply(base, { changes: [v('4')], transition: 'explicit' });
    expect(isJoint(explicit)).toBe(true);
    expect(explicit.autoLeave).toBe(false);
  });

  it('keeps a demoted voter voting in C_old until the joint configuration is left', () => {
    const joint = apply(base, { changes: [l('3'), v('4')] });
    expect(joint.learnersNext).toEqual(['3']);
    expect(joint.learners).toEqual([]);
    expect(joint.votersOutgoing).toContain('3');
    const left = apply(joint, { changes: [] });
    expect(left).toEqual({ voters: ['1', '2', '4'], votersOutgoing: [], learners: ['3'], learnersNext: [], autoLeave: false });
  });

  it.each<[string, ConfChange, RegExp]>([
    ['entering again', { changes: [v('5'), v('6')] }, /already joint/],
    ['a one-at-a-time change', { changes: [v('5')] }, /configuration is joint/],
  ])('rejects %s while joint', (_name, cc, reason) => {
    const joint = apply(base, { changes: [v('4'), r('1')] });
    expect(() => apply(joint, cc)).toThrow(reason);
  });

  it('rejects the same node twice in one change', () => {
    expect(() => apply(base, { changes: [v('4'), r('4')] })).toThrow(/node 4 appears more than once/);
  });

  it('rejects entering from a configuration without voters', () => {
    expect(() => apply(createConfState([]), { changes: [v('1'), v('2')] })).toThrow(/without voters/);
  });

  it('classifies changes', () => {
    expect(confChangeKind({ changes: [] })).toBe('leave-joint');
    expect(confChangeKind({ changes: [v('1')] })).toBe('simple');
    expect(confChangeKind({ changes: [v('1')], transition: 'explicit' })).toBe('enter-joint');
    expect(confChangeKind({ changes: [v('1'), v('2')] })).toBe('enter-joint');
  });
});
