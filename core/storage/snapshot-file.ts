// FileSnapshotStore: one file per snapshot, `<index>-<term>.snap` (16 hex digits each):
//   "RSNP" | metadata length u32 | crc32c u32 over metadata+data | metadata (msgpack) | data
// Written to a temp file, fdatasynced, renamed over, directory fsynced: a crash leaves the old
// or the new snapshot. The newest is loaded; one older is kept for operators to fall back on by
// hand (never automatically: the log may already be compacted past it).
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import { open, readdir, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from '../raft/types.js';
import { hex16, makeDirDurable, PRIVATE_FILE_MODE, syncDir, writeFully } from './files.js';
import { checkSnapshot, snapshotMetadataSchema } from './snapshot-check.js';
import type { SnapshotStore } from './types.js';
import { CorruptionError } from './types.js';

const MAGIC = Buffer.from('RSNP');
const HEADER_BYTES = 12;
const KEEP = 2;
const SNAPSHOT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.snap$/;

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false });

interface SnapshotFile {
  index: number;
  term: number;
  path: string;
}

export class FileSnapshotStore implements SnapshotStore {
  /** Calls run one at a time, so pruning never deletes a file being read or renamed. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(private readonly dir: string) {}

  load(): Promise<Snapshot | null> {
    return this.exclusive(async () => {
      const newest = (await this.list()).at(-1);
      return newest ? readSnapshot(newest) : null;
    });
  }

  save(snapshot: Snapshot): Promise<void> {
    return this.exclusive(() => this.write(snapshot));
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.chain.then(task);
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async write(snapshot: Snapshot): Promise<void> {
    checkSnapshot(snapshot, (await this.list()).at(-1)?.index ?? 0);
    const { index, term } = snapshot.metadata;
    await makeDirDurable(this.dir);
    const path = join(this.dir, `${hex16(index)}-${hex16(term)}.snap`);
    const temp = `${path}.tmp`;
    const meta = packr.pack(snapshot.metadata);
    const { data } = snapshot;
    const header = Buffer.alloc(HEADER_BYTES);
    MAGIC.copy(header, 0);
    header.writeUInt32LE(meta.length, 4);
    header.writeUInt32LE(crc32c(data, crc32c(meta)), 8);
    try {
      const handle = await open(temp, 'w', PRIVATE_FILE_MODE);
      try {
        await writeFully(handle, [header, meta, data], 0);
        await handle.datasync();
      } finally {
        await handle.close();
      }
      await rename(temp, path);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      throw error;
    }
    await syncDir(this.dir);
    await this.prune();
  }

  /** Drops all but the newest KEEP snapshots, and temp files left by crashed saves. */
  private async prune(): Promise<void> {
    const names = await this.names();
    const doomed = [...names.filter((n) => n.endsWith('.tmp')).map((n) => join(this.dir, n)), ...this.snapshotFiles(names).slice(0, -KEEP).map((f) => f.path)];
    for (const path of doomed) await unlink(path);
    if (doomed.length > 0) await syncDir(this.dir);
  }

  /** Snapshot files, oldest first. */
  private async list(): Promise<SnapshotFile[]> {
    return this.snapshotFiles(await this.names());
  }

  /** The directory's entries; none before the first save created it. */
  private async names(): Promise<string[]> {
    try {
      return await readdir(this.dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
  }

  private snapshotFiles(names: string[]): SnapshotFile[] {
    const files: SnapshotFile[] = [];
    for (const name of names) {
      const m = SNAPSHOT_NAME.exec(name);
      if (m) files.push({ index: parseInt(m[1], 16), term: parseInt(m[2], 16), path: join(this.dir, name) });
    }
    return files.sort((a, b) => a.index - b.index || a.term - b.term);
  }
}

async function readSnapshot(file: SnapshotFile): Promise<Snapshot> {
  const buf = await readFile(file.path);
  const fail = (offset: number, detail: string) => new CorruptionError(file.path, offset, detail);
  if (buf.length < HEADER_BYTES) throw fail(0, `file of ${buf.length} bytes is shorter than a header`);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw fail(0, 'not a snapshot file');
  const metaLength = buf.readUInt32LE(4);
  if (metaLength > buf.length - HEADER_BYTES) throw fail(4, `metadata length ${metaLength} runs past end of file`);
  const meta = buf.subarray(HEADER_BYTES, HEADER_BYTES + metaLength);
  const data = buf.subarray(HEADER_BYTES + metaLength);
  if (crc32c(data, crc32c(meta)) !== buf.readUInt32LE(8)) throw fail(HEADER_BYTES, 'checksum mismatch');
  let decoded: unknown;
  try {
    decoded = unpackr.unpack(meta);
  } catch (error) {
    throw fail(HEADER_BYTES, `undecodable metadata: ${(error as Error).message}`);
  }
  const parsed = snapshotMetadataSchema.safeParse(decoded);
  if (!parsed.success) throw fail(HEADER_BYTES, `malformed metadata: ${parsed.error.message}`);
  if (parsed.data.index !== file.index || parsed.data.term !== file.term) {
    throw fail(HEADER_BYTES, `metadata says index ${parsed.data.index} term ${parsed.data.term}, the file name differs`);
  }
  return { metadata: parsed.data, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
