import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../core/clock.js';

describe('ManualClock', () => {
  it('fires timers in due order only when time advances', () => {
    const clock = new ManualClock();
    const fired: string[] = [];
    clock.every(10, () => fired.push(`every@${clock.now()}`));
    const cancel = clock.after(15, () => fired.push(`after@${clock.now()}`));
    clock.after(25, () => fired.push(`late@${clock.now()}`));
    expect(fired).toEqual([]);
    clock.advance(20);
    expect(fired).toEqual(['every@10', 'after@15', 'every@20']);
    cancel();
    clock.advance(10);
    expect(fired).toEqual(['every@10', 'after@15', 'every@20', 'late@25', 'every@30']);
    expect(clock.now()).toBe(30);
  });
});
