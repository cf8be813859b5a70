export { CorruptionError, type LogStore, type SnapshotStore } from './types.js';
export { MemoryLogStore, MemorySnapshotStore } from './memory.js';
export { FileLogStore, DEFAULT_SEGMENT_BYTES, type FileLogStoreOptions, type WalStats } from './wal.js';
export { readWal, type TornTail } from './wal-reader.js';
export { FileSnapshotStore } from './snapshot-file.js';
