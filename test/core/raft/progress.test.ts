import { describe, expect, it } from 'vitest';
import { Progress } from '../../../core/raft/progress.js';

function progressAt(state: 'probe' | 'replicate' | 'snapshot', match: number, next: number): Progress {
  const pr = new Progress(next, 4);
  pr.match = match;
  if (state === 'replicate') {
    pr.becomeReplicate();
    pr.next = next;
  } else if (state === 'snapshot') {
    pr.becomeSnapshot(next - 1);
  }
  return pr;
}

describe('Progress', () => {
  it('sends one probe at a time', () => {
    const pr = progressAt('probe', 0, 5);
    expect(pr.isPaused()).toBe(false);
    pr.sentEntries(2);
    expect(pr.isPaused()).toBe(true);
    expect(pr.next).toBe(5);
    // The probe is answered.
    expect(pr.maybeUpdate(6)).toBe(true);
    expect(pr.isPaused()).toBe(false);
    expect(pr.next).toBe(7);
  });

  it('pipelines in replicate state until the inflight window is full', () => {
    const pr = progressAt('replicate', 4, 5);
    for (let i = 0; i < 4; i++) {
      expect(pr.isPaused()).toBe(false);
      pr.sentEntries(2);
    }
    expect(pr.next).toBe(13);
    expect(pr.isPaused()).toBe(true);
    pr.maybeUpdate(8);
    pr.inflights.freeLE(8);
    pr.sentEntries(0);
    expect(pr.isPaused()).toBe(false);
  });

  it('ignores stale acknowledgements', () => {
    const pr = progressAt('replicate', 7, 10);
    expect(pr.maybeUpdate(6)).toBe(false);
    expect(pr.match).toBe(7);
    expect(pr.next).toBe(10);
  });

  it('backs off on a rejection in replicate state, but not for a stale one', () => {
    const pr = progressAt('replicate', 5, 10);
    expect(pr.maybeDecrTo(4, 4)).toBe(false);
    expect(pr.maybeDecrTo(8, 8)).toBe(true);
    expect(pr.next).toBe(6);
  });

  it('in probe state follows the hint, never below match + 1, and only for the probe just sent', () => {
    const pr = progressAt('probe', 2, 10);
    expect(pr.maybeDecrTo(7, 3)).toBe(false); // answers an older probe
    expect(pr.maybeDecrTo(9, 4)).toBe(true);
    expect(pr.next).toBe(5);
    expect(pr.maybeDecrTo(4, 0)).toBe(true);
    expect(pr.next).toBe(3);
  });

  it('sends nothing while a snapshot is in flight and resumes after it', () => {
    const pr = progressAt('snapshot', 3, 21);
    expect(pr.pendingSnapshot).toBe(20);
    expect(pr.isPaused()).toBe(true);
    pr.becomeProbe();
    expect(pr.state).toBe('probe');
    expect(pr.next).toBe(21);
  });

  it('falls back to match + 1 when probing after replicate', () => {
    const pr = progressAt('replicate', 5, 12);
    pr.becomeProbe();
    expect(pr.next).toBe(6);
    expect(pr.inflights.count).toBe(0);
  });
});
