// The short form of the nemesis, run by `npm test` (the long form: npm run test:nemesis). Real raftd
// processes under kill -9, SIGSTOP, partitions, leadership transfers and membership changes; every
// history must be linearizable with no acknowledged write lost. The last case breaks reads on
// purpose (?stale=1, served by any node) to show the check finds what it is there to find.
import { describe, expect, it } from 'vitest';
import type { Operation, RegisterOp } from './linearizability.js';
import { findLostWrites, passed, runNemesis, summarize, type NemesisReport } from './nemesis.js';

// CI replays fixed choices (timings still vary); local runs draw fresh ones. The seed is printed.
const SEED = process.env.NEMESIS_SEED ? Number(process.env.NEMESIS_SEED) : process.env.CI ? 20261205 : Math.floor(Math.random() * 2 ** 31);
const log = (line: string) => console.log(line);

function expectRealWork(report: NemesisReport): void {
  const ok = (kind: string) => report.history.filter((o) => o.op.kind === kind && o.outcome === 'ok').length;
  // A run that did nothing, or faulted nothing, would pass vacuously.
  expect(ok('read')).toBeGreaterThan(20);
  expect(ok('write')).toBeGreaterThan(20);
  expect(ok('cas')).toBeGreaterThan(5);
  expect(new Set(report.faults.map((f) => f.kind)).size).toBeGreaterThanOrEqual(3);
  expect(report.leaders.size).toBeGreaterThanOrEqual(2);
  expect(report.verdicts.length).toBeGreaterThan(0);
}

describe('lost acknowledged writes', () => {
  const op = (client: number, call: number, ret: number, o: RegisterOp, outcome: Operation['outcome'] = 'ok'): Operation => ({ key: 'k', client, call, ret, outcome, op: o });
  const final = (value: string | null, at = 100) => op(-1, at, at + 1, { kind: 'read', output: value });

  it('are writes acknowledged after the final value was written, or any when the key reads empty', () => {
    const history = [op(0, 0, 1, { kind: 'write', value: 'a' }), op(1, 2, 3, { kind: 'write', value: 'b' }), op(2, 4, 5, { kind: 'cas', from: 'b', to: 'c', output: true })];
    expect(findLostWrites([...history, final('c')])).toEqual([]);
    expect(findLostWrites([...history, final('b')])).toHaveLength(1);
    expect(findLostWrites([...history, final('a')])).toHaveLength(2);
    expect(findLostWrites([...history, final(null)])).toHaveLength(3);
  });

  it('are not writes that overlap the final value\'s, nor failed cas, nor anything when the final value came from an unknown write', () => {
    const overlapping = [op(0, 0, 5, { kind: 'write', value: 'a' }), op(1, 1, 4, { kind: 'write', value: 'b' })];
    expect(findLostWrites([...overlapping, final('a')])).toEqual([]);
    expect(findLostWrites([op(0, 0, 1, { kind: 'write', value: 'a' }), op(1, 2, 3, { kind: 'cas', from: 'x', to: 'y', output: false }), final('a')])).toEqual([]);
    expect(findLostWrites([op(0, 0, 1, { kind: 'write', value: 'a' }), op(1, 2, Infinity, { kind: 'write', value: 'b' }, 'unknown'), final('b')])).toEqual([]);
  });
});

describe('nemesis (short form)', () => {
  it.each([3, 5])('%i raftd nodes under kill -9, pauses, partitions, transfers and membership changes: linearizable, nothing acknowledged lost', async (nodes) => {
    const report = await runNemesis({ nodes, durationMs: 25_000, seed: SEED, log });
    const summary = summarize(report);
    console.log(summary);
    expect(passed(report), summary).toBe(true);
    expect(report.unexpected, summary).toEqual([]);
    expectRealWork(report);
  }, 240_000);

  it('is not vacuous: local (?stale=1) reads under partitions, counted as linearizable, are flagged', async () => {
    const report = await runNemesis({ nodes: 3, durationMs: 12_000, seed: SEED, staleReads: true, faults: ['partition'], log });
    const summary = summarize(report);
    console.log(summary);
    expect(report.faults.length).toBeGreaterThan(0);
    expect(report.verdicts.filter((v) => v.result === 'violation').length, summary).toBeGreaterThan(0);
  }, 180_000);
});
