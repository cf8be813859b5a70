// FileLogStore: the write-ahead log of a raftd node (format and recovery rule: wal-format.ts).
//
// Group commit: save() and compact() encode their operation at once and queue it; one writer
// takes everything queued, writes it as ONE frame with one writev that is on disk when it returns
// (the active segment is open with O_DSYNC: write and fdatasync in one call, one trip to libuv's
// thread pool instead of two), and only then resolves every caller. Calls arriving meanwhile
// form the next batch.
//
// Segments are zero-filled when created (the next one in the background), so a batch write
// only overwrites allocated blocks: on ext4/xfs fdatasync then flushes data without metadata,
// and a full disk can only fail segment creation, never a write into the log.
//
// Failures: if a new segment cannot be created (ENOSPC...), nothing was written; the pending
// calls reject and the store stays usable, so saving again after space is freed works. If a
// write or fdatasync of the log itself fails, the pending calls reject and the store refuses
// every later call: after a failed fdatasync the page cache no longer tells what is on disk,
// so only reopening (which replays the disk) is safe.
import { constants } from 'node:fs';
import { open, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { makeDirDurable, PRIVATE_FILE_MODE, syncDir, writeFully } from './files.js';
import { checkCompactIndex, checkSave } from './log-state.js';
import type { LogStore } from './types.js';
import { encodeOp, encodeSegmentHeader, frameBytes, frameParts, OpKind, RecordType, segmentName } from './wal-format.js';
import { replayWal, type SegmentFile, type TornTail } from './wal-reader.js';

export const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
const MIN_SEGMENT_BYTES = 4096;
const NEXT_SEGMENT_FILE = 'next-segment.tmp';
/** Undefined where the platform has no O_DSYNC (Windows): there writes are followed by fdatasync. */
const O_DSYNC: number | undefined = constants.O_DSYNC;

export interface FileLogStoreOptions {
  /** Size of a segment file; a new one starts when a batch would not fit. Default 64 MiB. */
  segmentBytes?: number;
  /** Told when open() repaired a torn tail left by a crash (raftd logs it). Default: process.emitWarning. */
  onWarning?: (message: string, tornTail: TornTail) => void;
}

export interface WalStats {
  /** fdatasync/fsync calls issued since open (batches, segment creation, directory). */
  syncs: number;
  /** save() and compact() operations made durable. */
  records: number;
  /** Bytes of batch frames written. */
  bytes: number;
  /** Milliseconds spent in batch writes, each durable when it returns (write + fdatasync). */
  syncMs: number;
}

interface Pending {
  encoded: Buffer;
  hardState: HardState | undefined;
  /** Index of the last entry saved, if any. */
  lastIndex: number | undefined;
  compactIndex: number | undefined;
  resolve: () => void;
  reject: (error: Error) => void;
}

interface ActiveSegment extends SegmentFile {
  /** Opened by openSynced(): see writeSynced(). */
  handle: FileHandle;
  size: number;
  /** Where the next frame goes. */
  end: number;
}

interface PreparedFile {
  path: string;
  handle: FileHandle;
  size: number;
}

export class FileLogStore implements LogStore {
  static async open(dir: string, options: FileLogStoreOptions = {}): Promise<FileLogStore> {
    const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < MIN_SEGMENT_BYTES) {
      throw new RangeError(`segmentBytes must be an integer ≥ ${MIN_SEGMENT_BYTES} (got ${segmentBytes})`);
    }
    await makeDirDurable(dir);
    const store = new FileLogStore(dir, segmentBytes);
    await store.recover(options.onWarning ?? ((message) => process.emitWarning(message, 'WalRepair')));
    return store;
  }

  private readonly queue: Pending[] = [];
  private flushScheduled = false;
  /** Serializes batch writes, segment changes, reloads and close. */
  private chain: Promise<unknown> = Promise.resolve();
  private active!: ActiveSegment;
  /** Older segments, oldest first. */
  private readonly segments: SegmentFile[] = [];
  private durableHardState!: HardState;
  /** Index of the last entry durably saved: the next segment starts above it. */
  private durableLastIndex = 0;
  private nextSegment: Promise<PreparedFile> | undefined;
  /** What open() replayed, handed to the first load() unless a write came first. */
  private recovered: { hardState: HardState; entries: Entry[] } | undefined;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private readonly counters: WalStats = { syncs: 0, records: 0, bytes: 0, syncMs: 0 };

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
  ) {}

  stats(): WalStats {
    return { ...this.counters };
  }

  load(): Promise<{ hardState: HardState; entries: Entry[] }> {
    const recovered = this.recovered;
    this.recovered = undefined;
    if (recovered) return Promise.resolve(recovered);
    return this.exclusive(async () => {
      this.checkUsable();
      return (await replayWal(this.dir)).state.take();
    });
  }

  save(hardState: HardState | undefined, entries: Entry[]): Promise<void> {
    try {
      this.checkUsable();
      checkSave(hardState, entries);
    } catch (error) {
      return Promise.reject(error);
    }
    if (!hardState && entries.length === 0) return Promise.resolve();
    const encoded = encodeOp({ kind: OpKind.Save, hardState, entries });
    const lastIndex = entries.length > 0 ? entries[entries.length - 1].index : undefined;
    return this.enqueue(encoded, hardState, lastIndex, undefined);
  }

  compact(index: number): Promise<void> {
    try {
      this.checkUsable();
      checkCompactIndex(index);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.enqueue(encodeOp({ kind: OpKind.Compact, index }), undefined, undefined, index);
  }

  /** Waits for queued operations, then releases the files. */
  close(): Promise<void> {
    this.closing ??= this.exclusive(async () => {
      while (this.queue.length > 0) await this.flush();
      const prepared = await this.takeBackgroundSegment();
      if (prepared) await discard(prepared);
      await this.active.handle.close();
    });
    return this.closing;
  }

  // --- open -------------------------------------------------------------------------------

  private async recover(onWarning: NonNullable<FileLogStoreOptions['onWarning']>): Promise<void> {
    // Leftovers of a crash while creating a segment: never part of the log.
    for (const name of await readdir(this.dir)) {
      if (name.endsWith('.tmp')) await unlink(join(this.dir, name));
    }
    const replay = await replayWal(this.dir);
    this.durableHardState = replay.state.hardState;
    this.durableLastIndex = replay.state.lastIndex();
    this.recovered = replay.state.take();
    const newest = replay.segments.pop();
    this.segments.push(...replay.segments);
    if (!newest) {
      this.active = await this.installSegment(1, 1, 0);
      return;
    }
    const handle = await openSynced(newest.path);
    this.active = { ...newest, handle, size: replay.size, end: replay.end };
    if (replay.torn) {
      await zeroFill(handle, replay.torn.offset, replay.torn.dirtyEnd);
      await this.sync(handle);
      const { file, offset, detail } = replay.torn;
      onWarning(`repaired a torn write at the end of ${file}: dropped the record at offset ${offset} (${detail})`, { file, offset, detail });
    }
  }

  // --- group commit -----------------------------------------------------------------------

  private enqueue(encoded: Buffer, hardState: HardState | undefined, lastIndex: number | undefined, compactIndex: number | undefined): Promise<void> {
    this.recovered = undefined;
    return new Promise((resolve, reject) => {
      this.queue.push({ encoded, hardState, lastIndex, compactIndex, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    void this.exclusive(() => this.flush());
  }

  /** Writes one batch. Never throws: failures reject the pending calls. */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    if (this.queue.length === 0) return;
    let batch = this.takeBatch();
    if (batch.length === 0) {
      try {
        await this.rollOver(frameBytes(this.queue[0].encoded.length));
      } catch (error) {
        this.rejectAll(this.queue.splice(0), error as Error);
        return;
      }
      batch = this.takeBatch();
    }
    const { handle, path, end } = this.active;
    let bytes: number;
    try {
      bytes = await this.writeSynced(handle, frameParts(RecordType.Batch, batch.map((p) => p.encoded)), end);
    } catch (error) {
      this.failure = new Error(`write-ahead log ${path} failed at offset ${end}: ${(error as Error).message}`, { cause: error });
      this.rejectAll([...batch, ...this.queue.splice(0)], this.failure);
      return;
    }
    this.active.end += bytes;
    this.counters.bytes += bytes;
    this.counters.records += batch.length;
    let compactTo: number | undefined;
    for (const p of batch) {
      if (p.hardState) this.durableHardState = p.hardState;
      if (p.lastIndex !== undefined) this.durableLastIndex = p.lastIndex;
      if (p.compactIndex !== undefined) compactTo = Math.max(compactTo ?? 0, p.compactIndex);
    }
    for (const p of batch) if (p.compactIndex === undefined) p.resolve();
    if (compactTo !== undefined) await this.settleCompactions(batch, compactTo);
    if (!this.nextSegment && this.active.end > this.active.size / 2) this.prepareInBackground();
    if (this.queue.length > 0) this.scheduleFlush();
  }

  /** The queued operations that fit in the active segment, oldest first. */
  private takeBatch(): Pending[] {
    const room = this.active.size - this.active.end;
    let payload = 0;
    let count = 0;
    while (count < this.queue.length && frameBytes(payload + this.queue[count].encoded.length) <= room) {
      payload += this.queue[count].encoded.length;
      count++;
    }
    return this.queue.splice(0, count);
  }

  private rejectAll(pending: Pending[], error: Error): void {
    for (const p of pending) p.reject(error);
  }

  private checkUsable(): void {
    if (this.failure) throw new Error(`write-ahead log in ${this.dir} is unusable after an earlier failure; reopen it to recover`, { cause: this.failure });
    if (this.closing) throw new Error(`write-ahead log in ${this.dir} is closed`);
  }

  // --- segments ---------------------------------------------------------------------------

  /** Deletes older segments whose entries are all ≤ compactTo; the compactions are already durable. */
  private async settleCompactions(batch: Pending[], compactTo: number): Promise<void> {
    let outcome: Error | undefined;
    try {
      // Oldest first, the directory synced after each, so a crash leaves a contiguous run.
      while (this.segments.length > 0 && (this.segments[1] ?? this.active).firstIndex - 1 <= compactTo) {
        await unlink(this.segments[0].path);
        await this.syncDir();
        this.segments.shift();
      }
    } catch (error) {
      outcome = new Error(`log compacted to ${compactTo}, but deleting old segments failed: ${(error as Error).message}`, { cause: error });
    }
    for (const p of batch) {
      if (p.compactIndex === undefined) continue;
      if (outcome) p.reject(outcome);
      else p.resolve();
    }
  }

  private async rollOver(batchBytes: number): Promise<void> {
    const firstIndex = Math.max(this.active.firstIndex, this.durableLastIndex + 1);
    const next = await this.installSegment(this.active.seq + 1, firstIndex, batchBytes);
    const old = this.active;
    this.active = next;
    this.segments.push({ seq: old.seq, firstIndex: old.firstIndex, path: old.path });
    await old.handle.close().catch(() => undefined); // fully synced already
  }

  /**
   * Puts a zero-filled file with a synced header in place as segment `seq`. Fails without
   * changing the log unless the final directory sync fails, which makes the store unusable.
   */
  private async installSegment(seq: number, firstIndex: number, batchBytes: number): Promise<ActiveSegment> {
    const header = encodeSegmentHeader({ seq, firstIndex, hardState: this.durableHardState });
    const headerBytes = frameBytes(header.length);
    const size = Math.max(this.segmentBytes, headerBytes + batchBytes);
    const path = join(this.dir, segmentName(seq, firstIndex));
    let prepared: PreparedFile | undefined;
    let handle: FileHandle | undefined;
    try {
      prepared = await this.takeBackgroundSegment();
      if (!prepared || prepared.size < size) {
        if (prepared) await discard(prepared);
        prepared = await this.prepareFile(size);
      }
      await writeFully(prepared.handle, frameParts(RecordType.SegmentHeader, [header]), 0);
      await this.sync(prepared.handle);
      handle = await openSynced(prepared.path);
      await rename(prepared.path, path);
    } catch (error) {
      await handle?.close().catch(() => undefined);
      if (prepared) await discard(prepared);
      throw new Error(`cannot start write-ahead log segment ${path}: ${(error as Error).message}; nothing was written`, { cause: error });
    }
    await prepared.handle.close().catch(() => undefined); // zero-filled and synced already
    try {
      await this.syncDir();
    } catch (error) {
      this.failure = new Error(`cannot sync directory ${this.dir} after creating ${path}: ${(error as Error).message}`, { cause: error });
      throw this.failure;
    }
    return { seq, firstIndex, path, handle, size: prepared.size, end: headerBytes };
  }

  private prepareInBackground(): void {
    const next = this.prepareFile(this.segmentBytes);
    next.catch(() => undefined); // a failure is retried when the segment is needed
    this.nextSegment = next;
  }

  private async takeBackgroundSegment(): Promise<PreparedFile | undefined> {
    const next = this.nextSegment;
    this.nextSegment = undefined;
    return next?.catch(() => undefined);
  }

  private async prepareFile(size: number): Promise<PreparedFile> {
    const path = join(this.dir, NEXT_SEGMENT_FILE);
    const handle = await open(path, 'w+', PRIVATE_FILE_MODE);
    try {
      await zeroFill(handle, 0, size);
      await this.sync(handle);
    } catch (error) {
      await discard({ path, handle, size });
      throw error;
    }
    return { path, handle, size };
  }

  // --- syncing ----------------------------------------------------------------------------

  /** Writes all parts; durable once it resolves. */
  private async writeSynced(handle: FileHandle, parts: Uint8Array[], position: number): Promise<number> {
    const started = performance.now();
    const bytes = await writeFully(handle, parts, position);
    if (O_DSYNC === undefined) await handle.datasync();
    this.counters.syncs++;
    this.counters.syncMs += performance.now() - started;
    return bytes;
  }

  private async sync(handle: FileHandle): Promise<void> {
    this.counters.syncs++;
    await handle.datasync();
  }

  private async syncDir(dir = this.dir): Promise<void> {
    this.counters.syncs++;
    await syncDir(dir);
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }
}

/** A segment handle whose writes are durable when they complete (or are made so by writeSynced). */
function openSynced(path: string): Promise<FileHandle> {
  return open(path, O_DSYNC === undefined ? 'r+' : constants.O_RDWR | O_DSYNC);
}

let zeros: Buffer | undefined;

async function zeroFill(handle: FileHandle, from: number, to: number): Promise<void> {
  zeros ??= Buffer.alloc(1 << 20);
  for (let pos = from; pos < to; pos += zeros.length) {
    await writeFully(handle, [zeros.subarray(0, Math.min(zeros.length, to - pos))], pos);
  }
}

/** Best effort: the file is only a leftover, removed again at the next open. */
async function discard(file: PreparedFile): Promise<void> {
  await file.handle.close().catch(() => undefined);
  await unlink(file.path).catch(() => undefined);
}
