// The meaning of save/compact, defined once: the memory store is this state, and the WAL
// replays its records through it, so both stores agree by construction.
import { EntryType, type Entry, type HardState } from '../raft/types.js';

const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: '', commit: 0 });

/**
 * The stored log: entries sorted by index. A save removes every entry at or above its first
 * index and adds its own; a gap below it is allowed (a follower appends after an installed
 * snapshot) and the older entries stay until compacted.
 */
export class LogState {
  hardState: HardState = EMPTY_HARD_STATE;
  private entries: Entry[] = [];

  /** Entries must already be checked (see checkSave). */
  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    this.entries.length = this.positionOf(entries[0].index);
    for (const entry of entries) this.entries.push(entry);
  }

  /** Drops every entry with index ≤ `index`. */
  compact(index: number): void {
    const keep = this.positionOf(index + 1);
    if (keep > 0) this.entries = this.entries.slice(keep);
  }

  /** Index of the last stored entry, 0 when there is none. */
  lastIndex(): number {
    return this.entries.length === 0 ? 0 : this.entries[this.entries.length - 1].index;
  }

  /** Deep copies: callers may keep or mutate them. */
  copy(): { hardState: HardState; entries: Entry[] } {
    return { hardState: { ...this.hardState }, entries: this.entries.map(copyEntry) };
  }

  /** The handover after a replay: the entries are fresh objects nobody else holds. */
  take(): { hardState: HardState; entries: Entry[] } {
    const result = { hardState: { ...this.hardState }, entries: this.entries };
    this.entries = [];
    return result;
  }

  /** First position whose entry index is ≥ `index` (binary search; appends hit the end). */
  private positionOf(index: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid].index < index) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

export function copyEntry(entry: Entry): Entry {
  return { term: entry.term, index: entry.index, type: entry.type, data: new Uint8Array(entry.data) };
}

/** Rejects malformed input before anything is stored, with a message naming the fault. */
export function checkSave(hardState: HardState | undefined, entries: Entry[]): void {
  if (hardState !== undefined) {
    if (!isIndex(hardState.term) || !isIndex(hardState.commit) || typeof hardState.vote !== 'string') {
      throw new TypeError(`invalid hard state ${JSON.stringify(hardState)}: term and commit must be integers ≥ 0, vote a string`);
    }
  }
  if (!Array.isArray(entries)) throw new TypeError('entries must be an array');
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (!isIndex(e.index) || e.index === 0 || !isIndex(e.term)) {
      throw new TypeError(`entry ${i}: index must be an integer ≥ 1 and term an integer ≥ 0 (got index ${e.index}, term ${e.term})`);
    }
    if (e.type !== EntryType.Normal && e.type !== EntryType.ConfChange) throw new TypeError(`entry ${e.index}: unknown type ${e.type}`);
    if (!(e.data instanceof Uint8Array)) throw new TypeError(`entry ${e.index}: data must be a Uint8Array`);
    if (i > 0 && e.index !== entries[i - 1].index + 1) {
      throw new RangeError(`entries must have consecutive indexes: ${entries[i - 1].index} is followed by ${e.index}`);
    }
  }
}

export function checkCompactIndex(index: number): void {
  if (!isIndex(index)) throw new TypeError(`compact index must be an integer ≥ 0 (got ${index})`);
}

/** A log index or term: a safe integer ≥ 0. */
export function isIndex(n: unknown): n is number {
  return Number.isSafeInteger(n) && (n as number) >= 0;
}
