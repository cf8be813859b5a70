import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { FileLogStore } from '../../../core/storage/wal.js';
import { entry, tempDir } from './helpers.js';

const writer = fileURLToPath(new URL('./fixtures/wal-writer.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const SEGMENT_BYTES = 16 * 1024;

let dir: { path: string; remove: () => Promise<void> };
beforeEach(async () => {
  dir = await tempDir();
});
afterEach(() => dir.remove());

/** Runs the writer until it has acknowledged `acks` more entries, then SIGKILLs it. */
function runAndKill(acks: number): Promise<{ acknowledged: number[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', writer, dir.path, String(SEGMENT_BYTES)], { cwd: repoRoot });
    const acknowledged: number[] = [];
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const lines = stdout.split('\n');
      stdout = lines.pop()!;
      for (const line of lines) acknowledged.push(Number(line));
      if (acknowledged.length >= acks) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('exit', (_code, signal) => {
      if (signal === 'SIGKILL') resolve({ acknowledged, stderr });
      else reject(new Error(`writer exited on its own (${_code}): ${stderr}`));
    });
  });
}

it('keeps every acknowledged entry across repeated SIGKILLs of a writing process', async () => {
  let highest = 0;
  for (let round = 0; round < 4; round++) {
    const { acknowledged, stderr } = await runAndKill(300 + round * 50);
    expect(acknowledged.length, stderr).toBeGreaterThan(0);
    const store = await FileLogStore.open(dir.path, { segmentBytes: SEGMENT_BYTES, onWarning: () => {} });
    const { hardState, entries } = await store.load();
    await store.close();
    const byIndex = new Map(entries.map((e) => [e.index, e]));
    for (const index of acknowledged) expect(byIndex.get(index)).toEqual(entry(index, 1, 1 + ((index * 97) % 900)));
    highest = Math.max(highest, ...acknowledged);
    // No holes: the log is 1..last, and the hard state is at least as new as every acknowledged save.
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: entries.length }, (_, i) => i + 1));
    expect(entries.length).toBeGreaterThanOrEqual(highest);
    expect(hardState.commit).toBeGreaterThanOrEqual(highest - 1);
  }
});
