// Group-commit benchmark for FileLogStore (not a test): writes/s, fdatasyncs/s and writes per
// sync at several concurrency levels.
//   node --import tsx core/storage/bench-wal.ts [dir] [seconds per level] [entry bytes] [levels, e.g. 1,16,256]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType } from '../raft/types.js';
import { FileLogStore } from './wal.js';

const [dirArg, secondsArg = '2', bytesArg = '256', levelsArg = '1,4,16,64,256,1024'] = process.argv.slice(2);
const seconds = Number(secondsArg);
const data = new Uint8Array(Number(bytesArg)).fill(7);

async function level(concurrency: number): Promise<void> {
  const dir = await mkdtemp(join(dirArg ?? tmpdir(), 'bench-wal-'));
  const store = await FileLogStore.open(dir);
  const before = store.stats();
  let next = 1;
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  const client = async () => {
    while (performance.now() < deadline) {
      const index = next++;
      await store.save({ term: 1, vote: 'n1', commit: index - 1 }, [{ index, term: 1, type: EntryType.Normal, data }]);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  const elapsed = (performance.now() - started) / 1000;
  const after = store.stats();
  await store.close();
  await rm(dir, { recursive: true, force: true });
  const writes = after.records - before.records;
  const syncs = after.syncs - before.syncs;
  console.log(
    [
      `concurrency ${String(concurrency).padStart(4)}`,
      `${Math.round(writes / elapsed).toString().padStart(7)} writes/s`,
      `${Math.round(syncs / elapsed).toString().padStart(6)} fsyncs/s`,
      `${(writes / syncs).toFixed(1).padStart(6)} writes/sync`,
      `${((after.bytes - before.bytes) / elapsed / 1e6).toFixed(1).padStart(6)} MB/s`,
    ].join('  '),
  );
}

for (const concurrency of levelsArg.split(',').map(Number)) await level(concurrency);
