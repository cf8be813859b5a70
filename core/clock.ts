// Time for the drivers around the pure core. Tests and the embedded demo use ManualClock.

export type Cancel = () => void;

export interface Clock {
  now(): number;
  /** Call fn every `ms` milliseconds until cancelled. */
  every(ms: number, fn: () => void): Cancel;
  /** Call fn once after `ms` milliseconds unless cancelled. */
  after(ms: number, fn: () => void): Cancel;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref?.();
    return () => clearInterval(t);
  },
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

interface Timer {
  due: number;
  seq: number;
  period: number;
  fn: () => void;
  cancelled: boolean;
}

/** Time moves only when advance() is called; timers fire in due order, ties in creation order. */
export class ManualClock implements Clock {
  private time = 0;
  private seq = 0;
  private timers: Timer[] = [];

  now(): number {
    return this.time;
  }

  every(ms: number, fn: () => void): Cancel {
    return this.add(ms, ms, fn);
  }

  after(ms: number, fn: () => void): Cancel {
    return this.add(ms, 0, fn);
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (!next) break;
      this.time = next.due;
      if (next.period > 0) next.due += next.period;
      else next.cancelled = true;
      next.fn();
      this.timers = this.timers.filter((t) => !t.cancelled);
    }
    this.time = end;
  }

  private nextDue(end: number): Timer | undefined {
    let best: Timer | undefined;
    for (const t of this.timers) {
      if (t.cancelled || t.due > end) continue;
      if (!best || t.due < best.due || (t.due === best.due && t.seq < best.seq)) best = t;
    }
    return best;
  }

  private add(ms: number, period: number, fn: () => void): Cancel {
    const timer: Timer = { due: this.time + ms, seq: this.seq++, period, fn, cancelled: false };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }
}
