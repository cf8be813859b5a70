// Durable storage, split by concern as in hashicorp/raft. Hard state shares the log's
// write-ahead file so that one record and one fdatasync cover both (group commit).
import type { Entry, HardState, Snapshot } from '../raft/types.js';

export interface LogStore {
  /** What survived: the last hard state and every entry written after the last compaction. */
  load(): Promise<{ hardState: HardState; entries: Entry[] }>;
  /**
   * Durably (fdatasync) persist a hard state and/or entries in one write. Entries replace any
   * stored entries from entries[0].index on. Calls made while a sync is in progress share the next sync.
   */
  save(hardState: HardState | undefined, entries: Entry[]): Promise<void>;
  /** Entries up to and including `index` are covered by a snapshot and may be dropped. */
  compact(index: number): Promise<void>;
  close(): Promise<void>;
}

export interface SnapshotStore {
  load(): Promise<Snapshot | null>;
  /** Atomic and durable: a crash leaves either the old or the new snapshot, never a mix. */
  save(snapshot: Snapshot): Promise<void>;
}

/** Thrown when stored data is damaged anywhere but a torn tail; never silently skipped. */
export class CorruptionError extends Error {
  constructor(
    public readonly file: string,
    public readonly offset: number,
    detail: string,
  ) {
    super(`corrupted record in ${file} at offset ${offset}: ${detail}`);
    this.name = 'CorruptionError';
  }
}
