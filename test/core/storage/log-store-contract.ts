// The LogStore contract, written once and run against every implementation.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EntryType, type Entry, type HardState } from '../../../core/raft/types.js';
import type { LogStore } from '../../../core/storage/types.js';
import { entries, entry } from './helpers.js';

export interface LogStoreHarness {
  readonly store: LogStore;
  /** A process restart: what was saved must survive, and only that. */
  restart(): Promise<void>;
  dispose(): Promise<void>;
}

// Positions are relative to the reference's last index, so runs look like a real log:
// mostly appends, some overwrites of a recent suffix, the odd gap or far compaction.
type Position = { from: 'end'; back: number } | { from: 'start'; index: number };
type Op =
  | { kind: 'save'; hardState?: HardState; at: Position; entries: Omit<Entry, 'index'>[] }
  | { kind: 'compact'; at: Position }
  | { kind: 'restart' };

/** An independent reference: a map from index to entry, as the contract describes it. */
class ReferenceLog {
  hardState: HardState = { term: 0, vote: '', commit: 0 };
  private readonly byIndex = new Map<number, Entry>();

  save(hardState: HardState | undefined, saved: Entry[]): void {
    if (hardState) this.hardState = hardState;
    if (saved.length === 0) return;
    for (const index of [...this.byIndex.keys()]) if (index >= saved[0].index) this.byIndex.delete(index);
    for (const e of saved) this.byIndex.set(e.index, e);
  }

  compact(index: number): void {
    for (const i of [...this.byIndex.keys()]) if (i <= index) this.byIndex.delete(i);
  }

  entries(): Entry[] {
    return [...this.byIndex.values()].sort((a, b) => a.index - b.index);
  }

  resolve(at: Position): number {
    return at.from === 'start' ? at.index : Math.max(0, Math.max(0, ...this.byIndex.keys()) - at.back);
  }
}

const hardStateArb = fc.record({ term: fc.nat(20), vote: fc.constantFrom('', 'n1', 'n2', 'ñødé-3'), commit: fc.nat(40) });
const positionArb: fc.Arbitrary<Position> = fc.oneof(
  { weight: 8, arbitrary: fc.nat(4).map((back) => ({ from: 'end' as const, back })) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 80 }).map((index) => ({ from: 'start' as const, index })) },
);
const entryArb = fc.record({
  term: fc.nat(9),
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: fc.uint8Array({ maxLength: 700, size: 'max' }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      kind: fc.constant('save' as const),
      hardState: fc.option(hardStateArb, { nil: undefined }),
      at: positionArb,
      entries: fc.array(entryArb, { maxLength: 6 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('compact' as const), at: positionArb }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
);

export function describeLogStoreContract(name: string, create: () => Promise<LogStoreHarness>, propertyRuns: number): void {
  describe(`${name} (LogStore contract)`, () => {
    async function withStore(fn: (h: LogStoreHarness) => Promise<void>): Promise<void> {
      const h = await create();
      try {
        await fn(h);
      } finally {
        await h.dispose();
      }
    }

    it('starts empty', () =>
      withStore(async (h) => {
        expect(await h.store.load()).toEqual({ hardState: { term: 0, vote: '', commit: 0 }, entries: [] });
      }));

    it('round-trips hard state and entries, data as plain bytes', () =>
      withStore(async (h) => {
        const saved = [entry(1, 1, 0), entry(2, 1, 3), { index: 3, term: 2, type: EntryType.ConfChange, data: new Uint8Array([0, 255, 0]) }];
        await h.store.save({ term: 2, vote: 'n1', commit: 1 }, saved);
        await h.restart();
        const loaded = await h.store.load();
        expect(loaded).toEqual({ hardState: { term: 2, vote: 'n1', commit: 1 }, entries: saved });
        for (const e of loaded.entries) expect(Object.getPrototypeOf(e.data)).toBe(Uint8Array.prototype);
      }));

    it('keeps the hard state when only entries are saved, and the entries when only the hard state is', () =>
      withStore(async (h) => {
        await h.store.save({ term: 1, vote: 'a', commit: 0 }, entries(1, 3));
        await h.store.save(undefined, entries(4, 5));
        await h.store.save({ term: 3, vote: '', commit: 5 }, []);
        await h.restart();
        expect(await h.store.load()).toEqual({ hardState: { term: 3, vote: '', commit: 5 }, entries: entries(1, 5) });
      }));

    it('replaces the stored suffix from the first saved index', () =>
      withStore(async (h) => {
        await h.store.save(undefined, entries(1, 6, 1));
        await h.store.save(undefined, entries(3, 4, 2));
        await h.restart();
        expect((await h.store.load()).entries).toEqual([...entries(1, 2, 1), ...entries(3, 4, 2)]);
      }));

    it('drops entries up to the compaction index, across restarts, and appends after it', () =>
      withStore(async (h) => {
        await h.store.save({ term: 1, vote: 'a', commit: 8 }, entries(1, 10));
        await h.store.compact(7);
        await h.restart();
        expect(await h.store.load()).toEqual({ hardState: { term: 1, vote: 'a', commit: 8 }, entries: entries(8, 10) });
        await h.store.save(undefined, entries(11, 12));
        await h.restart();
        expect((await h.store.load()).entries).toEqual(entries(8, 12));
      }));

    it('starts over after a snapshot beyond the log: compact past the end, then save after a gap', () =>
      withStore(async (h) => {
        await h.store.save(undefined, entries(1, 5));
        await h.store.compact(20);
        await h.store.save(undefined, entries(21, 22, 3));
        await h.restart();
        expect((await h.store.load()).entries).toEqual(entries(21, 22, 3));
      }));

    it('keeps entries below a gap until they are compacted', () =>
      withStore(async (h) => {
        await h.store.save(undefined, entries(1, 3));
        await h.store.save(undefined, entries(10, 11));
        await h.restart();
        expect((await h.store.load()).entries).toEqual([...entries(1, 3), ...entries(10, 11)]);
        await h.store.compact(9);
        expect((await h.store.load()).entries).toEqual(entries(10, 11));
      }));

    it('rejects bad input with a clear error and loses nothing', () =>
      withStore(async (h) => {
        await h.store.save({ term: 1, vote: 'a', commit: 1 }, entries(1, 3));
        await expect(h.store.save(undefined, [entry(4), entry(6)])).rejects.toThrow(/consecutive indexes: 4 is followed by 6/);
        await expect(h.store.save(undefined, [entry(0)])).rejects.toThrow(/index must be an integer ≥ 1/);
        await expect(h.store.save({ term: -1, vote: 'a', commit: 0 }, [])).rejects.toThrow(/invalid hard state/);
        await expect(h.store.save(undefined, [{ ...entry(4), data: 'text' as unknown as Uint8Array }])).rejects.toThrow(/Uint8Array/);
        await expect(h.store.compact(1.5)).rejects.toThrow(/compact index/);
        await h.restart();
        expect(await h.store.load()).toEqual({ hardState: { term: 1, vote: 'a', commit: 1 }, entries: entries(1, 3) });
        await h.store.save(undefined, entries(4, 4));
        expect((await h.store.load()).entries).toEqual(entries(1, 4));
      }));

    it('hands out copies and keeps its own', () =>
      withStore(async (h) => {
        const saved = entries(1, 2);
        await h.store.save({ term: 1, vote: 'a', commit: 0 }, saved);
        saved[0].data[0] ^= 0xff;
        const first = await h.store.load();
        first.entries[1].data[0] ^= 0xff;
        first.hardState.term = 99;
        expect(await h.store.load()).toEqual({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 2) });
      }));

    it('matches the reference log for any sequence of saves, compactions and restarts', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60, size: 'max' }), (ops) =>
          withStore(async (h) => {
            const reference = new ReferenceLog();
            // Calls between restarts are issued without waiting, so they share batches.
            let inFlight: Promise<void>[] = [];
            const settle = async () => {
              await Promise.all(inFlight);
              inFlight = [];
            };
            for (const op of ops) {
              if (op.kind === 'save') {
                const first = reference.resolve(op.at) + 1;
                const saved = op.entries.map((e, i) => ({ ...e, index: first + i }));
                inFlight.push(h.store.save(op.hardState, saved));
                reference.save(op.hardState, saved);
              } else if (op.kind === 'compact') {
                const index = reference.resolve(op.at);
                inFlight.push(h.store.compact(index));
                reference.compact(index);
              } else {
                await settle();
                await h.restart();
              }
            }
            await settle();
            await h.restart();
            expect(await h.store.load()).toEqual({ hardState: reference.hardState, entries: reference.entries() });
          }),
        ),
        { numRuns: propertyRuns },
      );
    });
  });
}
