import { randomBytes } from 'node:crypto';
import { open, readdir, readFile, truncate, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CorruptionError } from '../../../core/storage/types.js';
import { FileLogStore, type FileLogStoreOptions } from '../../../core/storage/wal.js';
import { readWal, type TornTail } from '../../../core/storage/wal-reader.js';
import { entries, entry, frameOffsets, tempDir } from './helpers.js';

let dir: { path: string; remove: () => Promise<void> };
const opened: FileLogStore[] = [];

beforeEach(async () => {
  dir = await tempDir();
});
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((s) => s.close()));
  await dir.remove();
});

async function openStore(options: FileLogStoreOptions = {}): Promise<FileLogStore> {
  const store = await FileLogStore.open(dir.path, { segmentBytes: 64 * 1024, ...options });
  opened.push(store);
  return store;
}

async function segmentFiles(): Promise<string[]> {
  return (await readdir(dir.path)).filter((n) => n.endsWith('.wal')).sort();
}

/** Ten entries, one write (frame) each, in a single segment; returns that segment's path. */
async function tenFrames(): Promise<string> {
  const store = await openStore();
  await store.save({ term: 1, vote: 'a', commit: 0 }, []);
  for (let i = 1; i <= 10; i++) await store.save(undefined, [entry(i, 1, 40)]);
  await store.close();
  const files = await segmentFiles();
  expect(files).toHaveLength(1);
  return join(dir.path, files[0]);
}

async function reopenReportingRepairs(): Promise<{ store: FileLogStore; repairs: TornTail[] }> {
  const repairs: TornTail[] = [];
  const store = await openStore({ onWarning: (_message, tail) => repairs.push(tail) });
  return { store, repairs };
}

describe('FileLogStore segments', () => {
  it('rolls over to new segments at the size limit and replays them all', async () => {
    const store = await openStore({ segmentBytes: 4096 });
    await store.save({ term: 4, vote: 'n2', commit: 0 }, []);
    for (let i = 1; i <= 60; i++) await store.save(undefined, [entry(i, 4, 300)]);
    await store.close();
    const files = await segmentFiles();
    expect(files.length).toBeGreaterThan(4);
    // seq-firstIndex names: consecutive seqs, first indexes never decreasing.
    const parsed = files.map((f) => f.slice(0, -4).split('-').map((h) => parseInt(h, 16)));
    parsed.forEach(([seq], i) => expect(seq).toBe(i + 1));
    parsed.slice(1).forEach(([, first], i) => expect(first).toBeGreaterThanOrEqual(parsed[i][1]));
    const reopened = await openStore({ segmentBytes: 4096 });
    expect(await reopened.load()).toEqual({ hardState: { term: 4, vote: 'n2', commit: 0 }, entries: entries(1, 60, 4, 300) });
  });

  it('writes a batch larger than a segment into a segment of its own', async () => {
    const store = await openStore({ segmentBytes: 4096 });
    await store.save(undefined, entries(1, 40, 1, 300));
    await store.save(undefined, [entry(41)]);
    await store.close();
    expect((await readWal(dir.path)).entries).toEqual([...entries(1, 40, 1, 300), entry(41)]);
  });

  it('deletes segments that compaction covers, keeps the newest, and keeps the hard state', async () => {
    const store = await openStore({ segmentBytes: 4096 });
    await store.save({ term: 9, vote: 'n3', commit: 5 }, []); // only in the first segment
    for (let i = 1; i <= 60; i++) await store.save(undefined, [entry(i, 9, 300)]);
    const before = await segmentFiles();
    await store.compact(50);
    const after = await segmentFiles();
    expect(after.length).toBeLessThan(before.length);
    expect(after).not.toContain(before[0]);
    expect(after.at(-1)).toBe(before.at(-1));
    await store.close();
    const reopened = await openStore({ segmentBytes: 4096 });
    expect(await reopened.load()).toEqual({ hardState: { term: 9, vote: 'n3', commit: 5 }, entries: entries(51, 60, 9, 300) });
    await reopened.compact(1000);
    expect(await segmentFiles()).toEqual([after.at(-1)]);
  });

  it('refuses a log with a missing segment', async () => {
    const store = await openStore({ segmentBytes: 4096 });
    for (let i = 1; i <= 30; i++) await store.save(undefined, [entry(i, 1, 300)]);
    await store.close();
    const files = await segmentFiles();
    await unlink(join(dir.path, files[1]));
    await expect(FileLogStore.open(dir.path)).rejects.toThrow(CorruptionError);
    await unlink(join(dir.path, files[0]));
    await expect(FileLogStore.open(dir.path)).rejects.toThrow(/entries below index \d+ are missing/);
  });

  it('ignores and removes temp files left by a crash while creating a segment', async () => {
    const store = await openStore();
    await store.save(undefined, entries(1, 3));
    await store.close();
    await writeFile(join(dir.path, 'next-segment.tmp'), randomBytes(5000));
    const reopened = await openStore();
    expect((await reopened.load()).entries).toEqual(entries(1, 3));
    expect((await readdir(dir.path)).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});

describe('FileLogStore group commit', () => {
  it('shares one fdatasync among concurrent saves and acknowledges each only once it is on disk', async () => {
    const store = await openStore({ segmentBytes: 1024 * 1024 });
    const syncsBefore = store.stats().syncs;
    const calls = 300;
    const checks: Promise<void>[] = [];
    const saves = Array.from({ length: calls }, (_, k) => {
      const index = k + 1;
      return store.save({ term: 1, vote: '', commit: index - 1 }, [entry(index)]).then(() => {
        checks.push(
          readWal(dir.path).then(({ entries: onDisk }) => {
            expect(onDisk.find((e) => e.index === index)).toEqual(entry(index));
          }),
        );
      });
    });
    await Promise.all(saves);
    await Promise.all(checks);
    const stats = store.stats();
    expect(stats.records).toBe(calls);
    expect(stats.syncs - syncsBefore).toBeLessThan(calls / 10);
    expect((await readWal(dir.path)).entries).toEqual(entries(1, calls));
  });

  it('batches saves that arrive while a write is in flight', async () => {
    const store = await openStore({ segmentBytes: 1024 * 1024 });
    const first = store.save(undefined, [entry(1)]);
    await Promise.resolve(); // the first batch has been taken; these queue behind it
    const rest = Array.from({ length: 50 }, (_, k) => store.save(undefined, [entry(k + 2)]));
    const before = store.stats().syncs;
    await Promise.all([first, ...rest]);
    expect(store.stats().syncs - before).toBeLessThanOrEqual(3);
    expect((await store.load()).entries).toEqual(entries(1, 51));
  });

  it('refuses every call after a failed write; reopening recovers what was acknowledged', async () => {
    const store = await openStore();
    await store.save({ term: 1, vote: 'a', commit: 0 }, entries(1, 5));
    // Pull the file out from under the store, so its next write fails as on a dying disk.
    await (store as unknown as { active: { handle: FileHandle } }).active.handle.close();
    const failed = [store.save(undefined, [entry(6)]), store.save(undefined, [entry(7)])];
    await expect(failed[0]).rejects.toThrow(/write-ahead log .* failed at offset \d+/);
    await expect(failed[1]).rejects.toThrow(/failed at offset/);
    await expect(store.save(undefined, [entry(6)])).rejects.toThrow(/unusable after an earlier failure; reopen it/);
    await expect(store.compact(1)).rejects.toThrow(/unusable/);
    const reopened = await openStore();
    expect(await reopened.load()).toEqual({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 5) });
  });

  it('drains queued saves on close and refuses calls afterwards', async () => {
    const store = await openStore();
    const pending = Array.from({ length: 20 }, (_, k) => store.save(undefined, [entry(k + 1)]));
    await store.close();
    await Promise.all(pending);
    await expect(store.save(undefined, [entry(21)])).rejects.toThrow(/closed/);
    expect((await readWal(dir.path)).entries).toEqual(entries(1, 20));
  });
});

describe('FileLogStore torn tails', () => {
  it('truncates a record cut short by the end of the file, reports it, and writes on', async () => {
    const file = await tenFrames();
    const frames = await frameOffsets(file);
    const last = frames.at(-1)!;
    await truncate(file, last + 20);
    const { store, repairs } = await reopenReportingRepairs();
    expect(repairs).toEqual([{ file, offset: last, detail: expect.stringMatching(/past end of file/) }]);
    expect(await store.load()).toEqual({ hardState: { term: 1, vote: 'a', commit: 0 }, entries: entries(1, 9, 1, 40) });
    await store.save(undefined, [entry(10, 2, 40)]);
    await store.close();
    const again = await reopenReportingRepairs();
    expect(again.repairs).toEqual([]);
    expect((await again.store.load()).entries).toEqual([...entries(1, 9, 1, 40), entry(10, 2, 40)]);
  });

  it('drops a final record whose tail is garbage, including garbage past its end', async () => {
    const file = await tenFrames();
    const last = (await frameOffsets(file)).at(-1)!;
    const handle = await open(file, 'r+');
    await handle.write(randomBytes(100), 0, 100, last + 30);
    await handle.close();
    const { store, repairs } = await reopenReportingRepairs();
    expect(repairs).toEqual([{ file, offset: last, detail: expect.any(String) }]);
    expect((await store.load()).entries).toEqual(entries(1, 9, 1, 40));
    await store.save(undefined, [entry(10, 3, 40)]);
    await store.close();
    expect((await readWal(dir.path)).entries).toEqual([...entries(1, 9, 1, 40), entry(10, 3, 40)]);
  });

  it('treats a final record whose first bytes never reached the disk as torn', async () => {
    const file = await tenFrames();
    const last = (await frameOffsets(file)).at(-1)!;
    const handle = await open(file, 'r+');
    await handle.write(Buffer.alloc(16), 0, 16, last);
    await handle.close();
    const { store, repairs } = await reopenReportingRepairs();
    expect(repairs).toEqual([{ file, offset: last, detail: 'zero record length' }]);
    expect((await store.load()).entries).toEqual(entries(1, 9, 1, 40));
  });

  it('reports a torn tail without repairing it when only reading', async () => {
    const file = await tenFrames();
    const last = (await frameOffsets(file)).at(-1)!;
    await truncate(file, last + 20);
    const before = await readFile(file);
    const contents = await readWal(dir.path);
    expect(contents.tornTail).toEqual({ file, offset: last, detail: expect.any(String) });
    expect(contents.entries).toEqual(entries(1, 9, 1, 40));
    expect(await readFile(file)).toEqual(before);
  });
});

describe('FileLogStore corruption', () => {
  async function expectCorruption(file: string, offset: number, detail: RegExp): Promise<void> {
    const before = await readFile(file);
    const error = await FileLogStore.open(dir.path).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CorruptionError);
    const corruption = error as CorruptionError;
    expect(corruption).toMatchObject({ file, offset });
    expect(corruption.message).toContain(file);
    expect(corruption.message).toContain(`offset ${offset}`);
    expect(corruption.message).toMatch(detail);
    expect(await readFile(file)).toEqual(before); // nothing "repaired" away
  }

  async function flipByte(file: string, at: number): Promise<void> {
    const buf = await readFile(file);
    buf[at] ^= 0x40;
    await writeFile(file, buf);
  }

  it('refuses a damaged record that valid records follow, naming file and offset', async () => {
    const file = await tenFrames();
    const third = (await frameOffsets(file))[3];
    await flipByte(file, third + 20);
    await expectCorruption(file, third, /checksum mismatch, yet a valid record follows/);
  });

  it('refuses a damaged length field that valid records follow', async () => {
    const file = await tenFrames();
    const third = (await frameOffsets(file))[3];
    await flipByte(file, third + 1);
    await expectCorruption(file, third, /valid record follows/);
  });

  it('refuses damage in an older segment, even in its last record', async () => {
    const store = await openStore({ segmentBytes: 4096 });
    for (let i = 1; i <= 30; i++) await store.save(undefined, [entry(i, 1, 300)]);
    await store.close();
    const first = join(dir.path, (await segmentFiles())[0]);
    const last = (await frameOffsets(first)).at(-1)!;
    await flipByte(first, last + 12);
    await expectCorruption(first, last, /checksum mismatch/);
  });

  it('refuses a damaged segment header', async () => {
    const file = await tenFrames();
    await flipByte(file, 10);
    await expectCorruption(file, 0, /checksum mismatch/);
  });
});
