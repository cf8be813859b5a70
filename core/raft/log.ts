// raftLog (etcd's): the durable log as storage reports it, plus the entries and snapshot that
// raft has accepted but the driver has not yet persisted (the "unstable" part).
import { CompactedError, UnavailableError, type Entry, type LogReader, type Snapshot } from './types.js';

/** Bytes of entry data, the unit of every size limit. */
export function entriesSize(entries: readonly Entry[]): number {
  let size = 0;
  for (const e of entries) size += e.data.length;
  return size;
}

/** The longest prefix within maxBytes, but never less than one entry. */
export function limitSize(entries: Entry[], maxBytes: number): Entry[] {
  let size = 0;
  for (let i = 0; i < entries.length; i++) {
    size += entries[i].data.length;
    if (i > 0 && size > maxBytes) return entries.slice(0, i);
  }
  return entries;
}

/** Entries and snapshot not yet persisted. entries[i] has index offset + i. */
class Unstable {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];

  constructor(public offset: number) {}

  firstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.metadata.index + 1 : undefined;
  }

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.metadata.index;
  }

  term(i: number): number | undefined {
    if (i < this.offset) {
      return this.snapshot && this.snapshot.metadata.index === i ? this.snapshot.metadata.term : undefined;
    }
    const last = this.lastIndex();
    if (last === undefined || i > last) return undefined;
    return this.entries[i - this.offset].term;
  }

  /** Entries up to (i, t) are durable. A term mismatch means they were replaced meanwhile: keep them. */
  stableTo(i: number, t: number): void {
    if (i < this.offset || this.term(i) !== t) return;
    this.entries = this.entries.slice(i + 1 - this.offset);
    this.offset = i + 1;
  }

  stableSnapTo(i: number): void {
    if (this.snapshot && this.snapshot.metadata.index === i) this.snapshot = undefined;
  }

  restore(s: Snapshot): void {
    this.offset = s.metadata.index + 1;
    this.entries = [];
    this.snapshot = s;
  }

  truncateAndAppend(entries: Entry[]): void {
    const from = entries[0].index;
    if (from <= this.offset) {
      // Replaces everything unstable (and a durable suffix, which the driver overwrites).
      this.offset = from;
      this.entries = entries.slice();
    } else {
      this.entries.length = Math.min(this.entries.length, from - this.offset);
      for (const e of entries) this.entries.push(e);
    }
  }

  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}

export class RaftLog {
  private readonly unstable: Unstable;
  /** Highest index known to be committed. */
  committed: number;
  /** Highest index applied by the driver (advance()). */
  applied: number;

  constructor(
    private readonly storage: LogReader,
    /** Bound on the data of the committed entries handed out in one Ready. */
    private readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex();
    this.unstable = new Unstable(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
  }

  firstIndex(): number {
    return this.unstable.firstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  /** Last index already durable (the leader counts only these towards commit). */
  lastStableIndex(): number {
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.lastIndex();
  }

  /** Term of entry i; the entry just before firstIndex() still has a known term. */
  term(i: number): number {
    if (i < this.firstIndex() - 1) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    return this.unstable.term(i) ?? this.storage.term(i);
  }

  /**
   * Term of entry i, or undefined when it is compacted or not there yet. Checked without throwing:
   * this runs for every message, and building an Error costs a stack trace.
   */
  termIfKnown(i: number): number | undefined {
    if (i < this.firstIndex() - 1 || i > this.lastIndex()) return undefined;
    return this.unstable.term(i) ?? this.storage.term(i);
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  matchTerm(i: number, term: number): boolean {
    return this.termIfKnown(i) === term;
  }

  /** Election restriction: a candidate whose last entry is (index, term) is at least as up to date as us. */
  isUpToDate(index: number, term: number): boolean {
    const ourTerm = this.lastTerm();
    return term > ourTerm || (term === ourTerm && index >= this.lastIndex());
  }

  /** Append without checks (the leader's own entries). Returns the new last index. */
  append(entries: Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    if (entries[0].index - 1 < this.committed) {
      throw new Error(`appending at ${entries[0].index} would overwrite committed entries (committed ${this.committed})`);
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  /**
   * A follower's append: if our log has (prevIndex, prevTerm), add `entries` (truncating only at a real
   * conflict), commit up to min(leaderCommit, last new index) and return that last new index
   * (prevIndex + entries.length). Undefined when the log does not match.
   */
  maybeAppend(prevIndex: number, prevTerm: number, leaderCommit: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`entry ${conflict} conflicts with a committed entry (committed ${this.committed})`);
      }
      this.append(entries.slice(conflict - (prevIndex + 1)));
    }
    this.commitTo(Math.min(leaderCommit, lastNew));
    return lastNew;
  }

  /** Index of the first entry whose term differs from ours (or that we lack); 0 when all are present. */
  findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index ≤ `index` whose term is ≤ `term`, with that term: everything after it cannot match
   * a log whose entry at `index` has `term`. Lets a leader skip a whole term per round trip.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      const ours = this.termIfKnown(i);
      if (ours === undefined) return { index: i, term: 0 };
      if (ours <= term) return { index: i, term: ours };
    }
    return { index: 0, term: 0 };
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`commit index ${index} is past the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Commit up to `index` if that entry is of `term` (Raft commits only entries of the current term by counting). */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termIfKnown(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`applied index ${index} is outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
  }

  stableTo(index: number, term: number): void {
    this.unstable.stableTo(index, term);
  }

  stableSnapTo(index: number): void {
    this.unstable.stableSnapTo(index);
  }

  restore(s: Snapshot): void {
    this.committed = s.metadata.index;
    this.unstable.restore(s);
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries.slice();
  }

  pendingSnapshot(): Snapshot | undefined {
    return this.unstable.snapshot;
  }

  hasNextCommittedEntries(): boolean {
    return !this.unstable.snapshot && this.applied < this.committed;
  }

  /** Committed entries not yet applied, bounded in size; none while a snapshot waits to be applied. */
  nextCommittedEntries(): Entry[] {
    if (!this.hasNextCommittedEntries()) return [];
    return this.slice(this.applied + 1, this.committed + 1, this.maxApplyBytes);
  }

  snapshot(): Snapshot {
    return this.unstable.snapshot ?? this.storage.snapshot();
  }

  /** Entries from i to the end, at most maxBytes (but at least one). */
  entriesFrom(i: number, maxBytes: number): Entry[] {
    if (i > this.lastIndex()) return [];
    return this.slice(i, this.lastIndex() + 1, maxBytes);
  }

  /** Entries in [lo, hi), at most maxBytes (but at least one); throws CompactedError below firstIndex. */
  slice(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    if (lo >= hi) return [];
    let result: Entry[] = [];
    const offset = this.unstable.offset;
    if (lo < offset) {
      const stored = this.storage.entries(lo, Math.min(hi, offset), maxBytes);
      // Storage stopped early because of the size limit: so do we.
      if (stored.length < Math.min(hi, offset) - lo) return stored;
      result = stored;
    }
    if (hi > offset) {
      const fresh = this.unstable.slice(Math.max(lo, offset), hi);
      result = result.length > 0 ? result.concat(fresh) : fresh;
    }
    return limitSize(result, maxBytes);
  }
}
