import { describe, expect, it } from 'vitest';
import { changeConfState, createConfState } from '../../../core/raft/confchange.js';
import { ProgressTracker } from '../../../core/raft/tracker.js';

describe('ProgressTracker', () => {
  it('keeps a Progress for exactly the members, learners marked', () => {
    const tracker = new ProgressTracker(8);
    tracker.setConfig(createConfState(['1', '2', '3'], ['4']), 6);
    expect(tracker.ids()).toEqual(['1', '2', '3', '4']);
    expect(tracker.progress('4')!.isLearner).toBe(true);
    expect(tracker.progress('2')!.next).toBe(6);
    tracker.progress('2')!.match = 5;
    tracker.setConfig(changeConfState(tracker.config, { changes: [{ type: 'remove', id: '3' }] }), 9);
    expect(tracker.ids()).toEqual(['1', '2', '4']);
    // Existing members keep their progress.
    expect(tracker.progress('2')!.match).toBe(5);
  });

  it('promotes a learner in place', () => {
    const tracker = new ProgressTracker(8);
    tracker.setConfig(createConfState(['1'], ['2']), 1);
    tracker.progress('2')!.match = 3;
    tracker.setConfig(changeConfState(tracker.config, { changes: [{ type: 'addVoter', id: '2' }] }), 5);
    expect(tracker.progress('2')!.isLearner).toBe(false);
    expect(tracker.progress('2')!.match).toBe(3);
    expect(tracker.voterIds()).toEqual(['1', '2']);
  });

  it('never lets learners count towards commit or votes', () => {
    const tracker = new ProgressTracker(8);
    tracker.setConfig(createConfState(['1', '2', '3'], ['4', '5']), 1);
    tracker.progress('1')!.match = 7;
    tracker.progress('4')!.match = 7;
    tracker.progress('5')!.match = 7;
    expect(tracker.committed()).toBe(0);
    tracker.recordVote('1', true);
    tracker.recordVote('4', true);
    tracker.recordVote('5', true);
    expect(tracker.tallyVotes()).toEqual({ granted: 1, rejected: 0, result: 'pending' });
  });

  it('counts only the first vote of a voter', () => {
    const tracker = new ProgressTracker(8);
    tracker.setConfig(createConfState(['1', '2', '3']), 1);
    tracker.recordVote('2', false);
    tracker.recordVote('2', true);
    tracker.recordVote('3', false);
    expect(tracker.tallyVotes()).toEqual({ granted: 0, rejected: 2, result: 'lost' });
  });

  it('needs recent contact with a quorum of both halves when joint', () => {
    const tracker = new ProgressTracker(8);
    tracker.setConfig(changeConfState(createConfState(['1', '2', '3']), { changes: [{ type: 'addVoter', id: '4' }, { type: 'remove', id: '3' }] }), 1);
    for (const id of tracker.ids()) tracker.progress(id)!.recentActive = false;
    tracker.progress('4')!.recentActive = true;
    // Incoming {1,2,4}: 1 (self) + 4 active. Outgoing {1,2,3}: only 1.
    expect(tracker.quorumActive('1')).toBe(false);
    tracker.progress('2')!.recentActive = true;
    expect(tracker.quorumActive('1')).toBe(true);
  });
});
