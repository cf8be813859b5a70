import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Snapshot } from '../../../core/raft/types.js';
import { MemorySnapshotStore } from '../../../core/storage/memory.js';
import { FileSnapshotStore } from '../../../core/storage/snapshot-file.js';
import { CorruptionError, type SnapshotStore } from '../../../core/storage/types.js';
import { entryData, tempDir } from './helpers.js';

function snapshot(index: number, term: number, size = 64): Snapshot {
  return {
    metadata: { index, term, confState: { voters: ['a', 'b'], votersOutgoing: [], learners: ['c'], learnersNext: [], autoLeave: false } },
    data: entryData(index, term, size),
  };
}

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

const implementations: [string, () => SnapshotStore][] = [
  ['MemorySnapshotStore', () => new MemorySnapshotStore()],
  ['FileSnapshotStore', () => new FileSnapshotStore(join(dir.path, 'snap'))],
];

for (const [name, create] of implementations) {
  describe(`${name} (SnapshotStore contract)`, () => {
    it('has nothing at first, then the newest saved snapshot', async () => {
      const store = create();
      expect(await store.load()).toBeNull();
      await store.save(snapshot(10, 2));
      await store.save(snapshot(25, 3, 0));
      expect(await store.load()).toEqual(snapshot(25, 3, 0));
    });

    it('rejects an older or malformed snapshot and keeps the stored one', async () => {
      const store = create();
      await store.save(snapshot(10, 2));
      await expect(store.save(snapshot(9, 2))).rejects.toThrow(/older than the stored one at index 10/);
      const bad = snapshot(11, 2);
      (bad.metadata.confState as { voters: unknown }).voters = [1];
      await expect(store.save(bad)).rejects.toThrow(/invalid snapshot metadata/);
      await expect(store.save({ ...snapshot(12, 2), data: [1, 2] as unknown as Uint8Array })).rejects.toThrow(/Uint8Array/);
      expect(await store.load()).toEqual(snapshot(10, 2));
    });

    it('hands out copies and keeps its own', async () => {
      const store = create();
      const saved = snapshot(5, 1);
      await store.save(saved);
      saved.data[0] ^= 0xff;
      saved.metadata.confState.voters.push('z');
      const loaded = (await store.load())!;
      loaded.data[1] ^= 0xff;
      expect(await store.load()).toEqual(snapshot(5, 1));
    });
  });
}

describe('FileSnapshotStore files', () => {
  const snapDir = () => join(dir.path, 'snap');
  const snapFiles = async () => (await readdir(snapDir())).sort();

  it('replaces atomically, keeps the newest and one older, and survives a restart', async () => {
    const store = new FileSnapshotStore(snapDir());
    for (const index of [10, 20, 30]) await store.save(snapshot(index, 1, 1000));
    expect(await snapFiles()).toEqual(['000000000000001e-0000000000000001.snap', '0000000000000014-0000000000000001.snap'].sort());
    expect(await new FileSnapshotStore(snapDir()).load()).toEqual(snapshot(30, 1, 1000));
  });

  it('refuses a corrupted snapshot loudly, naming the file', async () => {
    const store = new FileSnapshotStore(snapDir());
    await store.save(snapshot(10, 1, 1000));
    const file = join(snapDir(), (await snapFiles())[0]);
    const buf = await readFile(file);
    buf[buf.length - 100] ^= 0x01;
    await writeFile(file, buf);
    await expect(store.load()).rejects.toThrow(CorruptionError);
    await expect(store.load()).rejects.toThrow(new RegExp(`${file}.*checksum mismatch`));
    await writeFile(file, buf.subarray(0, 20));
    await expect(store.load()).rejects.toThrow(/runs past end of file/);
    await writeFile(file, buf.subarray(0, 8));
    await expect(store.load()).rejects.toThrow(/shorter than a header/);
  });

  it('ignores temp files left by a crashed save and removes them on the next save', async () => {
    const store = new FileSnapshotStore(snapDir());
    await store.save(snapshot(10, 1));
    // What a crash mid-save leaves: a partial temp file of a newer snapshot.
    const leftover = join(snapDir(), '0000000000000063-0000000000000002.snap.tmp');
    await writeFile(leftover, (await readFile(join(snapDir(), (await snapFiles())[0]))).subarray(0, 20));
    expect(await store.load()).toEqual(snapshot(10, 1));
    await store.save(snapshot(11, 1));
    expect((await snapFiles()).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(await store.load()).toEqual(snapshot(11, 1));
  });

  it('refuses a file whose contents disagree with its name', async () => {
    const store = new FileSnapshotStore(snapDir());
    await store.save(snapshot(10, 1));
    const [name] = await snapFiles();
    await writeFile(join(snapDir(), '0000000000000020-0000000000000001.snap'), await readFile(join(snapDir(), name)));
    await expect(store.load()).rejects.toThrow(/metadata says index 10 term 1/);
  });
});
