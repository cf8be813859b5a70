import { describe, expect, it } from 'vitest';
import { RaftLog, limitSize } from '../../../core/raft/log.js';
import { MemoryStorage } from '../../../core/raft/memory-storage.js';
import { createConfState } from '../../../core/raft/confchange.js';
import { CompactedError, EntryType, type Entry } from '../../../core/raft/types.js';

/** Entries with the given terms at indices from, from+1, ... */
function ents(from: number, ...terms: number[]): Entry[] {
  return terms.map((term, i) => ({ term, index: from + i, type: EntryType.Normal, data: new Uint8Array([from + i]) }));
}

function logWith(stored: Entry[], unstable: Entry[] = []): RaftLog {
  const storage = new MemoryStorage();
  storage.append(stored);
  const log = new RaftLog(storage, Infinity);
  log.append(unstable);
  return log;
}

const terms = (log: RaftLog) => log.slice(log.firstIndex(), log.lastIndex() + 1).map((e) => e.term);

describe('follower append rules (maybeAppend)', () => {
  it('refuses when the log has no entry (prevIndex, prevTerm)', () => {
    const log = logWith(ents(1, 1, 2, 3));
    expect(log.maybeAppend(3, 2, 3, ents(4, 4))).toBeUndefined();
    expect(log.maybeAppend(4, 3, 3, ents(5, 4))).toBeUndefined();
    expect(terms(log)).toEqual([1, 2, 3]);
  });

  it('never truncates on a stale or duplicate append', () => {
    const log = logWith(ents(1, 1, 2, 3, 3));
    // A delayed App carrying entries 2..3 that the log already has.
    expect(log.maybeAppend(1, 1, 0, ents(2, 2, 3))).toBe(3);
    expect(terms(log)).toEqual([1, 2, 3, 3]);
  });

  it('acknowledges prevIndex + len(entries), not its own last index', () => {
    const log = logWith(ents(1, 1, 2, 3, 3, 3));
    expect(log.maybeAppend(2, 2, 0, ents(3, 3))).toBe(3);
    expect(log.maybeAppend(1, 1, 0, [])).toBe(1);
  });

  it('truncates at the first real conflict and appends the rest', () => {
    const log = logWith(ents(1, 1, 2, 2, 2));
    expect(log.maybeAppend(2, 2, 0, ents(3, 2, 4, 4))).toBe(5);
    expect(terms(log)).toEqual([1, 2, 2, 4, 4]);
  });

  it('commits min(leaderCommit, last new index)', () => {
    const log = logWith(ents(1, 1, 1, 1, 1, 1));
    log.maybeAppend(1, 1, 9, ents(2, 1));
    expect(log.committed).toBe(2);
    log.maybeAppend(2, 1, 4, ents(3, 1, 1));
    expect(log.committed).toBe(4);
  });

  it('refuses to overwrite a committed entry', () => {
    const log = logWith(ents(1, 1, 1, 1));
    log.commitTo(3);
    expect(() => log.maybeAppend(1, 1, 3, ents(2, 2))).toThrow(/conflicts with a committed entry/);
  });
});

describe('RaftLog', () => {
  it('finds the conflict hint one term at a time', () => {
    // Terms:        1  1  2  2  2  5  5
    const log = logWith(ents(1, 1, 1, 2, 2, 2, 5, 5));
    expect(log.findConflictByTerm(7, 4)).toEqual({ index: 5, term: 2 });
    expect(log.findConflictByTerm(7, 5)).toEqual({ index: 7, term: 5 });
    expect(log.findConflictByTerm(4, 1)).toEqual({ index: 2, term: 1 });
    expect(log.findConflictByTerm(4, 0)).toEqual({ index: 0, term: 0 });
  });

  it('judges up-to-dateness by last term, then last index', () => {
    const log = logWith(ents(1, 1, 2, 2));
    expect(log.isUpToDate(1, 3)).toBe(true);
    expect(log.isUpToDate(3, 2)).toBe(true);
    expect(log.isUpToDate(2, 2)).toBe(false);
    expect(log.isUpToDate(9, 1)).toBe(false);
  });

  it('reads across durable and unstable entries, within a size limit', () => {
    const log = logWith(ents(1, 1, 1, 1), ents(4, 2, 2));
    expect(log.lastStableIndex()).toBe(3);
    expect(log.slice(2, 6).map((e) => e.index)).toEqual([2, 3, 4, 5]);
    expect(log.slice(2, 6, 2).map((e) => e.index)).toEqual([2, 3]);
    expect(log.slice(4, 6, 0).map((e) => e.index)).toEqual([4]);
  });

  it('marks entries stable only if they were not replaced meanwhile', () => {
    const log = logWith([], ents(1, 1, 1));
    log.append(ents(2, 2));
    log.stableTo(2, 1); // the Ready carried (2, term 1), since replaced by term 2
    expect(log.unstableEntries().map((e) => e.index)).toEqual([1, 2]);
    log.stableTo(2, 2);
    expect(log.unstableEntries()).toEqual([]);
  });

  it('hands out committed entries once, in size-bounded batches', () => {
    const storage = new MemoryStorage();
    storage.append(ents(1, 1, 1, 1));
    const log = new RaftLog(storage, 1);
    log.commitTo(3);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([1]);
    log.appliedTo(1);
    expect(log.nextCommittedEntries().map((e) => e.index)).toEqual([2]);
    log.appliedTo(3);
    expect(log.hasNextCommittedEntries()).toBe(false);
  });

  it('restores from a snapshot: committed jumps, older entries are gone', () => {
    const log = logWith(ents(1, 1, 1));
    log.restore({ metadata: { index: 10, term: 3, confState: createConfState(['1']) }, data: new Uint8Array() });
    expect(log.committed).toBe(10);
    expect(log.firstIndex()).toBe(11);
    expect(log.lastIndex()).toBe(10);
    expect(log.term(10)).toBe(3);
    expect(() => log.term(9)).toThrow(CompactedError);
    // Nothing to apply until the snapshot itself is applied.
    expect(log.hasNextCommittedEntries()).toBe(false);
  });

  it('refuses a commit index past its last entry', () => {
    const log = logWith(ents(1, 1));
    expect(() => log.commitTo(2)).toThrow(/past the last index/);
  });
});

describe('limitSize', () => {
  it('keeps at least one entry', () => {
    expect(limitSize(ents(1, 1, 1, 1), 0)).toHaveLength(1);
    expect(limitSize(ents(1, 1, 1, 1), 2)).toHaveLength(2);
    expect(limitSize(ents(1, 1, 1, 1), 100)).toHaveLength(3);
  });
});
