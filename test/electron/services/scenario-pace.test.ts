// The console's pacer: each slice of simulated time waits in wall-clock time (so people see messages fly)
// until the step has used its wall-clock budget; after that the step finishes at once.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { wallClockPacer } from '../../../electron/services/scenarios/scenario-runs.js';

describe('wallClockPacer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits simulated ms / speed of wall-clock time, within the step budget only', async () => {
    vi.useFakeTimers();
    const pacer = wallClockPacer({ speed: 0.05, maxWallMs: 1000 });
    pacer.stepStarted();
    let done = false;
    void pacer.after(5).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(99);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(done).toBe(true);
    // Past the budget: no more waiting in this step.
    vi.setSystemTime(Date.now() + 1000);
    let late = false;
    void pacer.after(5).then(() => (late = true));
    await Promise.resolve();
    await Promise.resolve();
    expect(late).toBe(true);
    // A new step has a new budget.
    pacer.stepStarted();
    let fresh = false;
    void pacer.after(5).then(() => (fresh = true));
    await Promise.resolve();
    expect(fresh).toBe(false);
    await vi.advanceTimersByTimeAsync(100);
    expect(fresh).toBe(true);
  });
});
