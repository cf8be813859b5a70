// In-memory stores for embedded and simulated nodes. The store object plays the disk: it
// outlives node instances, so a "crash" keeps exactly what was saved (close() is a no-op).
import type { Entry, HardState, Snapshot } from '../raft/types.js';
import { checkCompactIndex, checkSave, copyEntry, LogState } from './log-state.js';
import { checkSnapshot, copySnapshot } from './snapshot-check.js';
import type { LogStore, SnapshotStore } from './types.js';

export class MemoryLogStore implements LogStore {
  private readonly state = new LogState();

  async load(): Promise<{ hardState: HardState; entries: Entry[] }> {
    return this.state.copy();
  }

  async save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    checkSave(hardState, entries);
    if (hardState) this.state.hardState = { ...hardState };
    this.state.append(entries.map(copyEntry));
  }

  async compact(index: number): Promise<void> {
    checkCompactIndex(index);
    this.state.compact(index);
  }

  async close(): Promise<void> {}
}

export class MemorySnapshotStore implements SnapshotStore {
  private snapshot: Snapshot | null = null;

  async load(): Promise<Snapshot | null> {
    return this.snapshot && copySnapshot(this.snapshot);
  }

  async save(snapshot: Snapshot): Promise<void> {
    checkSnapshot(snapshot, this.snapshot?.metadata.index ?? 0);
    this.snapshot = copySnapshot(snapshot);
  }
}
