// The checker on hand-made histories whose verdicts follow from the definition of linearizability
// (every operation takes effect at one instant between its invocation and its completion, in an
// order a single register could have produced), and on large generated ones.
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../core/random.js';
import { checkHistory, checkKey, type Operation, type RegisterOp, type RegisterValue } from './linearizability.js';

let client = 0;
const ok = (call: number, ret: number, op: RegisterOp, key = 'k'): Operation => ({ key, client: client++, call, ret, outcome: 'ok', op });
const unknown = (call: number, op: RegisterOp, key = 'k'): Operation => ({ key, client: client++, call, ret: Infinity, outcome: 'unknown', op });
const failed = (call: number, ret: number, op: RegisterOp, key = 'k'): Operation => ({ key, client: client++, call, ret, outcome: 'failed', op });
const read = (output: RegisterValue): RegisterOp => ({ kind: 'read', output });
const write = (value: string): RegisterOp => ({ kind: 'write', value });
const cas = (from: RegisterValue, to: string, output?: boolean): RegisterOp => ({ kind: 'cas', from, to, output });
const verdict = (ops: Operation[]) => checkKey('k', ops).result;

describe('linearizability checker, by the definition', () => {
  it('accepts a sequential history a register produces', () => {
    expect(verdict([ok(0, 1, read(null)), ok(2, 3, write('a')), ok(4, 5, read('a')), ok(6, 7, cas('a', 'b', true)), ok(8, 9, cas('a', 'c', false)), ok(10, 11, read('b'))])).toBe('linearizable');
  });

  it('flags a stale read: a value overwritten before the read began', () => {
    expect(verdict([ok(0, 1, write('a')), ok(2, 3, write('b')), ok(4, 5, read('a'))])).toBe('violation');
  });

  it('flags a lost acknowledged write', () => {
    expect(verdict([ok(0, 1, write('a')), ok(2, 3, read(null))])).toBe('violation');
  });

  it('flags a read of a value nobody wrote, and a cas whose reported outcome the register cannot give', () => {
    expect(verdict([ok(0, 1, read('ghost'))])).toBe('violation');
    expect(verdict([ok(0, 1, cas(null, 'a', false))])).toBe('violation');
    expect(verdict([ok(0, 1, write('a')), ok(2, 3, cas('a', 'b', false))])).toBe('violation');
  });

  it('lets overlapping operations take effect in either order', () => {
    const writes = [ok(0, 10, write('a')), ok(1, 9, write('b'))];
    expect(verdict([...writes, ok(11, 12, read('a'))])).toBe('linearizable');
    expect(verdict([...writes, ok(11, 12, read('b'))])).toBe('linearizable');
    // A read overlapping a write may see the old value or the new one.
    expect(verdict([ok(0, 1, write('a')), ok(2, 6, write('b')), ok(3, 4, read('a')), ok(5, 7, read('b'))])).toBe('linearizable');
    // A cas overlapping a write may fail or succeed.
    expect(verdict([ok(0, 1, write('a')), ok(2, 6, write('b')), ok(3, 7, cas('a', 'c', false)), ok(8, 9, read('b'))])).toBe('linearizable');
    expect(verdict([ok(0, 1, write('a')), ok(2, 6, write('b')), ok(3, 7, cas('a', 'c', true)), ok(8, 9, read('b'))])).toBe('linearizable');
  });

  it('flags a read that goes back in time after another read saw the newer value', () => {
    expect(verdict([ok(0, 1, write('a')), ok(2, 10, write('b')), ok(3, 4, read('b')), ok(5, 6, read('a'))])).toBe('violation');
  });

  it('an unknown write may have taken effect, or not, but only after its invocation and only once', () => {
    const before = [ok(0, 1, write('a'))];
    expect(verdict([...before, unknown(2, write('b')), ok(10, 11, read('b'))])).toBe('linearizable');
    expect(verdict([...before, unknown(2, write('b')), ok(10, 11, read('a'))])).toBe('linearizable');
    expect(verdict([...before, unknown(2, write('b')), ok(10, 11, read('a')), ok(12, 13, read('b'))])).toBe('linearizable');
    expect(verdict([...before, unknown(2, write('b')), ok(10, 11, read('b')), ok(12, 13, read('a'))])).toBe('violation');
    // Not before it was invoked.
    expect(verdict([...before, ok(2, 3, read('b')), unknown(5, write('b'))])).toBe('violation');
    // An unknown cas takes effect as the register decides, or not at all.
    expect(verdict([...before, unknown(2, cas('a', 'c')), ok(10, 11, read('c'))])).toBe('linearizable');
    expect(verdict([...before, unknown(2, cas('x', 'c')), ok(10, 11, read('c'))])).toBe('violation');
  });

  it('ignores failed operations and unknown reads: they never took effect', () => {
    expect(verdict([ok(0, 1, write('a')), failed(2, 3, write('b')), ok(4, 5, read('b'))])).toBe('violation');
    expect(verdict([ok(0, 1, write('a')), failed(2, 3, write('b')), unknown(4, read('zzz')), ok(4, 5, read('a'))])).toBe('linearizable');
  });

  it('checks keys independently, and explains a violation with the operations around it', () => {
    const verdicts = checkHistory([ok(0, 1, write('a'), 'x'), ok(2, 3, read('a'), 'x'), ok(0, 1, write('a'), 'y'), ok(2, 3, write('b'), 'y'), ok(4, 5, read('a'), 'y')]);
    expect(verdicts.map((v) => [v.key, v.result])).toEqual([
      ['x', 'linearizable'],
      ['y', 'violation'],
    ]);
    expect(verdicts[1].explanation).toContain('read -> "a"');
  });
});

/** A history a linearizable register produces: each operation takes effect at a random instant in its interval. */
function generate(seed: number, count: number, clients: number, keys: number, unknownRate: number): Operation[] {
  const random = seededRandom(seed);
  const state = new Map<string, RegisterValue>();
  const history: Operation[] = [];
  const lastRead = new Map<string, RegisterValue>();
  // Each client runs operations back to back; effects are applied in time order.
  const pending: { at: number; apply: () => void }[] = [];
  const free = Array.from({ length: clients }, () => random() * 5);
  let seq = 0;
  for (let i = 0; i < count; i++) {
    const c = free.indexOf(Math.min(...free));
    const call = free[c];
    const ret = call + 1 + random() * 20;
    const key = `k${Math.floor(random() * keys)}`;
    const isUnknown = random() < unknownRate;
    const effective = !isUnknown || random() < 0.5;
    const at = call + random() * (ret - call);
    const r = random();
    const o: Operation = { key, client: c, call, ret: isUnknown ? Infinity : ret, outcome: isUnknown ? 'unknown' : 'ok', op: read(null) };
    if (r < 0.5) {
      o.op = { kind: 'read' };
      pending.push({ at, apply: () => ((o.op as { output?: RegisterValue }).output = state.get(key) ?? null) });
    } else if (r < 0.8) {
      const value = `v${++seq}`;
      o.op = write(value);
      if (effective) pending.push({ at, apply: () => state.set(key, value) });
    } else {
      const from = lastRead.get(key) ?? null;
      const to = `v${++seq}`;
      const op: Extract<RegisterOp, { kind: 'cas' }> = { kind: 'cas', from, to };
      o.op = op;
      pending.push({
        at,
        apply: () => {
          const succeeds = (state.get(key) ?? null) === from;
          op.output = succeeds;
          if (succeeds && effective) state.set(key, to);
        },
      });
    }
    history.push(o);
    // Unknown operations leave their client free again after a timeout.
    free[c] = ret + random() * 2;
    // Apply every effect due before the earliest time any client can still invoke.
    const horizon = Math.min(...free);
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && pending[0].at <= horizon) pending.shift()!.apply();
    if (o.op.kind === 'read' && o.op.output !== undefined) lastRead.set(key, o.op.output);
  }
  pending.sort((a, b) => a.at - b.at).forEach((p) => p.apply());
  return history;
}

describe('linearizability checker, at scale', () => {
  it('accepts 40,000 operations of 8 concurrent clients on 4 keys, with unknown outcomes, within a bounded search', () => {
    const history = generate(11, 40_000, 8, 4, 0.01);
    const verdicts = checkHistory(history, { maxSteps: 20 * history.length });
    expect(verdicts.map((v) => v.result)).toEqual(['linearizable', 'linearizable', 'linearizable', 'linearizable']);
    expect(verdicts.reduce((n, v) => n + v.operations, 0)).toBeGreaterThan(39_000);
  }, 120_000);

  it('finds one planted stale read among 20,000 operations on one key', () => {
    const history = generate(5, 20_000, 6, 1, 0.005);
    expect(checkKey('k0', history, { maxSteps: 20 * history.length }).result).toBe('linearizable');
    // A read that returns the value of a write that was overwritten, in real time, before the read began.
    const writes = history.filter((o) => o.outcome === 'ok' && o.op.kind === 'write');
    const reads = history.filter((o) => o.outcome === 'ok' && o.op.kind === 'read');
    let planted = false;
    for (let w = 1; w < writes.length && !planted; w++) {
      const [older, newer] = [writes[w - 1], writes[w]];
      if (!(older.ret < newer.call)) continue;
      const later = reads.find((r) => r.call > newer.ret + 50);
      if (!later) continue;
      // Nothing else may write the older value again: values are unique, so only `older` wrote it.
      (later.op as { output?: RegisterValue }).output = (older.op as { value: string }).value;
      planted = true;
    }
    expect(planted).toBe(true);
    const result = checkKey('k0', history, { maxSteps: 50 * history.length });
    expect(result.result).toBe('violation');
    expect(result.explanation).toMatch(/none of these can come next/);
  }, 120_000);
});
