// A real full disk: a small tmpfs (needs root to mount; skipped otherwise).
import { execFile } from 'node:child_process';
import { appendFile, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FileSnapshotStore } from '../../../core/storage/snapshot-file.js';
import { FileLogStore } from '../../../core/storage/wal.js';
import { entry, tempDir } from './helpers.js';

const run = promisify(execFile);
const SEGMENT_BYTES = 128 * 1024;

let dir: { path: string; remove: () => Promise<void> };
let mounted = false;
beforeEach(async () => {
  dir = await tempDir();
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return;
  mounted = await run('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', dir.path]).then(
    () => true,
    () => false,
  );
});
afterEach(async () => {
  if (mounted) await run('umount', [dir.path]);
  mounted = false;
  await dir.remove();
});

async function fillDisk(path: string): Promise<void> {
  const chunk = Buffer.alloc(4096, 1);
  for (;;) {
    try {
      await appendFile(path, chunk);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw error;
    }
  }
}

it('keeps writing into preallocated space on a full disk, then fails cleanly and recovers', async (ctx) => {
  if (!mounted) ctx.skip();
  const walDir = join(dir.path, 'wal');
  const ballast = join(dir.path, 'ballast');
  const store = await FileLogStore.open(walDir, { segmentBytes: SEGMENT_BYTES });
  await fillDisk(ballast);

  const acknowledged: number[] = [];
  let failure: Error | undefined;
  for (let index = 1; !failure; index++) {
    await store.save({ term: 1, vote: '', commit: index - 1 }, [entry(index, 1, 1000)]).then(
      () => acknowledged.push(index),
      (e: Error) => (failure = e),
    );
  }
  // The segment was allocated before the disk filled up: writes into it still succeeded.
  expect(acknowledged.length).toBeGreaterThan(50);
  expect(failure!.message).toMatch(/cannot start write-ahead log segment .*ENOSPC.*nothing was written/);
  const next = acknowledged.length + 1;
  // Still full: refused again, the same clean way (the store is not wedged).
  await expect(store.save(undefined, [entry(next, 1, 1000)])).rejects.toThrow(/ENOSPC/);

  await unlink(ballast);
  await store.save({ term: 2, vote: '', commit: next }, [entry(next, 2, 1000)]);
  await store.close();
  const reopened = await FileLogStore.open(walDir, { segmentBytes: SEGMENT_BYTES });
  const { hardState, entries } = await reopened.load();
  await reopened.close();
  expect(hardState).toEqual({ term: 2, vote: '', commit: next });
  expect(entries).toEqual([...acknowledged.map((i) => entry(i, 1, 1000)), entry(next, 2, 1000)]);
});

it('refuses a snapshot that does not fit, keeping the previous one and no leftovers', async (ctx) => {
  if (!mounted) ctx.skip();
  const snapDir = join(dir.path, 'snap');
  const store = new FileSnapshotStore(snapDir);
  const confState = { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
  await store.save({ metadata: { index: 5, term: 1, confState }, data: new Uint8Array(1000).fill(5) });
  await expect(store.save({ metadata: { index: 9, term: 1, confState }, data: new Uint8Array(1024 * 1024).fill(9) })).rejects.toThrow(/ENOSPC|disk full/);
  expect(await store.load()).toEqual({ metadata: { index: 5, term: 1, confState }, data: new Uint8Array(1000).fill(5) });
  expect(await readdir(snapDir)).toEqual(['0000000000000005-0000000000000001.snap']);
});
