// An in-memory LogReader that the driver writes to after persisting (etcd's MemoryStorage).
// Also the storage of tests, the simulation and the embedded demo.
import { createConfState } from './confchange.js';
import { limitSize } from './log.js';
import {
  CompactedError,
  NONE,
  UnavailableError,
  type ConfState,
  type Entry,
  type HardState,
  type LogReader,
  type Snapshot,
} from './types.js';

export class MemoryStorage implements LogReader {
  private hardState: HardState = { term: 0, vote: NONE, commit: 0 };
  private snap: Snapshot;
  /** The entry at compactedIndex() is gone; its term is kept here because App checks need it. */
  private compacted = { index: 0, term: 0 };
  /** entries[i] has index compacted.index + 1 + i. */
  private ents: Entry[] = [];

  /** Empty storage; `confState` gives it a configuration known up front (instead of bootstrap entries). */
  constructor(confState: ConfState = createConfState([])) {
    this.snap = { metadata: { index: 0, term: 0, confState }, data: new Uint8Array() };
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: { ...this.hardState }, confState: this.snap.metadata.confState };
  }

  setHardState(hardState: HardState): void {
    this.hardState = { ...hardState };
  }

  firstIndex(): number {
    return this.compacted.index + 1;
  }

  lastIndex(): number {
    return this.compacted.index + this.ents.length;
  }

  term(i: number): number {
    if (i < this.compacted.index) throw new CompactedError(i);
    if (i > this.lastIndex()) throw new UnavailableError(i);
    return i === this.compacted.index ? this.compacted.term : this.ents[i - this.firstIndex()].term;
  }

  entries(lo: number, hi: number, maxBytes = Infinity): Entry[] {
    if (lo < this.firstIndex()) throw new CompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new UnavailableError(hi - 1);
    const first = this.firstIndex();
    return limitSize(this.ents.slice(lo - first, hi - first), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  /** Add entries, replacing any stored suffix that starts at entries[0].index. */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    for (let i = 1; i < entries.length; i++) {
      if (entries[i].index !== entries[i - 1].index + 1) {
        throw new Error(`entries to append are not contiguous: ${entries[i - 1].index} then ${entries[i].index}`);
      }
    }
    const from = entries[0].index;
    if (from > this.lastIndex() + 1) {
      throw new Error(`appending at ${from} would leave a gap after the last index ${this.lastIndex()}`);
    }
    // Entries already covered by compaction are kept as they are.
    const fresh = from < this.firstIndex() ? entries.slice(this.firstIndex() - from) : entries;
    if (fresh.length === 0) return;
    // In place: appending one entry at a time must not copy the whole log.
    this.ents.length = fresh[0].index - this.firstIndex();
    for (const e of fresh) this.ents.push(e);
  }

  /** Replace everything with a snapshot received from the leader (Ready.snapshot). */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.metadata;
    if (index <= this.snap.metadata.index) {
      throw new Error(`snapshot at ${index} is not newer than the stored one at ${this.snap.metadata.index}`);
    }
    this.snap = snapshot;
    this.compacted = { index, term };
    this.ents = [];
  }

  /** Record a snapshot of the state machine as of `index` (which must be applied); the log is kept until compact(). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.metadata.index) {
      throw new Error(`snapshot at ${index} is not newer than the stored one at ${this.snap.metadata.index}`);
    }
    if (index > this.lastIndex()) throw new UnavailableError(index);
    this.snap = { metadata: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Drop entries up to and including `index`. Only entries covered by the snapshot can go. */
  compact(index: number): void {
    if (index <= this.compacted.index) throw new CompactedError(index);
    if (index > this.snap.metadata.index) {
      throw new Error(
        `cannot compact to ${index}: the snapshot only covers up to ${this.snap.metadata.index}; createSnapshot first`,
      );
    }
    const term = this.term(index);
    this.ents = this.ents.slice(index - this.compacted.index);
    this.compacted = { index, term };
  }
}
