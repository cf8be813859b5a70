// Creating a directory is durable only once its parent is synced: every directory the stores and
// raftd create is followed by an fsync of its parent. Watched through node:fs/promises itself.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { join } from 'node:path';
import { entries, tempDir } from './helpers.js';
import { freePort } from '../server/raftd-harness.js';

/** Directories fsynced, in order: a directory opened read-only and then synced. */
const synced: string[] = [];

vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof fs.open = async (path, flags, mode) => {
    const handle = await fs.open(path, flags, mode);
    if (flags === 'r') {
      const sync = handle.sync.bind(handle);
      handle.sync = async () => {
        synced.push(String(path));
        return sync();
      };
    }
    return handle;
  };
  return { ...fs, default: { ...fs, open }, open };
});

const { FileLogStore } = await import('../../../core/storage/wal.js');
const { FileSnapshotStore } = await import('../../../core/storage/snapshot-file.js');
const { makeDirDurable } = await import('../../../core/storage/files.js');

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
  synced.length = 0;
});
afterEach(() => dir.remove());

describe('directories are created durably', () => {
  it('makeDirDurable syncs the parent of every directory it creates, and nothing when all exist', async () => {
    const root = dir.path;
    expect(await makeDirDurable(join(root, 'a', 'b', 'c'))).toBe(true);
    expect(synced).toEqual([root, join(root, 'a'), join(root, 'a', 'b')]);
    synced.length = 0;
    expect(await makeDirDurable(join(root, 'a', 'b'))).toBe(false);
    expect(synced).toEqual([]);
  });

  it('a new WAL syncs the parents of the directories it had to create', async () => {
    const walDir = join(dir.path, 'data', 'n1', 'wal');
    const store = await FileLogStore.open(walDir, { segmentBytes: 64 * 1024 });
    await store.save({ term: 1, vote: '', commit: 0 }, entries(1, 3));
    await store.close();
    // The data dir's own entry in its parent, the WAL's in the data dir: both synced.
    for (const parent of [dir.path, join(dir.path, 'data'), join(dir.path, 'data', 'n1')]) expect(synced).toContain(parent);
    expect(synced.indexOf(dir.path)).toBeLessThan(synced.indexOf(join(dir.path, 'data', 'n1')));
  });

  it('the first snapshot syncs the parents of the directories it had to create', async () => {
    const snapDir = join(dir.path, 'data', 'n1', 'snap');
    const confState = { voters: ['n1'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };
    await new FileSnapshotStore(snapDir).save({ metadata: { index: 5, term: 1, confState }, data: new Uint8Array([1, 2, 3]) });
    for (const parent of [dir.path, join(dir.path, 'data'), join(dir.path, 'data', 'n1'), snapDir]) expect(synced).toContain(parent);
  });

  it('raftd syncs the parents of the data dir it creates, and the data dir once meta.json is in place', async () => {
    const { parseRaftdArgs, runRaftd } = await import('../../../core/server/raftd.js');
    const dataDir = join(dir.path, 'clusters', 'n1');
    const peer = `127.0.0.1:${await freePort()}`;
    const client = `127.0.0.1:${await freePort()}`;
    const options = parseRaftdArgs(['--id', 'n1', '--data-dir', dataDir, '--peer', peer, '--client', client, '--cluster', `n1=${peer}/${client}`, '--log-level', 'error']);
    if (options === 'help') throw new Error('unexpected help');
    const daemon = await runRaftd(options);
    await daemon.stop();
    for (const parent of [dir.path, join(dir.path, 'clusters'), dataDir]) expect(synced).toContain(parent);
    expect(synced.indexOf(dir.path)).toBeLessThan(synced.indexOf(dataDir));
  });
});
