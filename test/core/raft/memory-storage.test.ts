import { describe, expect, it } from 'vitest';
import { createConfState } from '../../../core/raft/confchange.js';
import { MemoryStorage } from '../../../core/raft/memory-storage.js';
import { CompactedError, EntryType, UnavailableError, type Entry } from '../../../core/raft/types.js';

function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: EntryType.Normal, data: new Uint8Array(1) }));
}

const termsOf = (s: MemoryStorage) => s.entries(s.firstIndex(), s.lastIndex() + 1).map((e) => e.term);

describe('MemoryStorage', () => {
  it('appends and replaces a conflicting suffix', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1));
    s.append(ents(3, 2));
    expect(termsOf(s)).toEqual([1, 1, 2]);
    s.append(ents(4, 2, 2));
    expect(termsOf(s)).toEqual([1, 1, 2, 2, 2]);
  });

  it('refuses a gap or a non-contiguous batch', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1));
    expect(() => s.append(ents(3, 1))).toThrow(/gap/);
    expect(() => s.append([...ents(2, 1), ...ents(4, 1)])).toThrow(/not contiguous/);
    expect(termsOf(s)).toEqual([1]);
  });

  it('compacts only what a snapshot covers and keeps the term of the last compacted entry', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 2, 2, 3));
    expect(() => s.compact(3)).toThrow(/createSnapshot first/);
    s.createSnapshot(4, createConfState(['1']), new Uint8Array([7]));
    s.compact(3);
    expect(s.firstIndex()).toBe(4);
    expect(s.term(3)).toBe(2);
    expect(() => s.term(2)).toThrow(CompactedError);
    expect(() => s.entries(3, 5)).toThrow(CompactedError);
    expect(() => s.compact(3)).toThrow(CompactedError);
    expect(s.snapshot().metadata).toMatchObject({ index: 4, term: 2 });
  });

  it('replaces everything with an applied snapshot', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1));
    s.applySnapshot({ metadata: { index: 10, term: 4, confState: createConfState(['1', '2']) }, data: new Uint8Array() });
    expect(s.firstIndex()).toBe(11);
    expect(s.lastIndex()).toBe(10);
    expect(s.term(10)).toBe(4);
    expect(s.initialState().confState.voters).toEqual(['1', '2']);
    s.append(ents(11, 4));
    expect(s.lastIndex()).toBe(11);
  });

  it('refuses an older snapshot', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1));
    s.createSnapshot(3, createConfState(['1']), new Uint8Array());
    expect(() => s.createSnapshot(2, createConfState(['1']), new Uint8Array())).toThrow(/not newer/);
    expect(() =>
      s.applySnapshot({ metadata: { index: 3, term: 1, confState: createConfState(['1']) }, data: new Uint8Array() }),
    ).toThrow(/not newer/);
    expect(() => s.createSnapshot(9, createConfState(['1']), new Uint8Array())).toThrow(UnavailableError);
  });

  it('limits entries by size but returns at least one', () => {
    const s = new MemoryStorage();
    s.append(ents(1, 1, 1, 1));
    expect(s.entries(1, 4, 0)).toHaveLength(1);
    expect(s.entries(1, 4, 2)).toHaveLength(2);
  });

  it('hands out copies of the hard state', () => {
    const s = new MemoryStorage();
    s.setHardState({ term: 3, vote: '2', commit: 0 });
    const state = s.initialState().hardState;
    state.term = 9;
    expect(s.initialState().hardState.term).toBe(3);
  });
});
