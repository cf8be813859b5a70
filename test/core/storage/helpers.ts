// Shared by the storage tests: temp directories and entry builders.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntryType, type Entry } from '../../../core/raft/types.js';

export async function tempDir(prefix = 'raft-storage-'): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** Distinct, checkable bytes per (index, term); never ends in a zero byte. */
export function entryData(index: number, term: number, size = 16): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = ((index * 31 + term * 7 + i) % 255) + 1;
  return data;
}

export function entry(index: number, term = 1, size = 16): Entry {
  return { index, term, type: EntryType.Normal, data: entryData(index, term, size) };
}

export function entries(from: number, to: number, term = 1, size = 16): Entry[] {
  const out: Entry[] = [];
  for (let i = from; i <= to; i++) out.push(entry(i, term, size));
  return out;
}

/** Offsets of the frames in a WAL segment (format: wal-format.ts), header frame first. */
export async function frameOffsets(file: string): Promise<number[]> {
  const buf = await readFile(file);
  const offsets: number[] = [];
  let offset = 0;
  while (offset + 8 <= buf.length && buf.readUInt32LE(offset) !== 0) {
    offsets.push(offset);
    offset = Math.ceil((offset + 8 + buf.readUInt32LE(offset)) / 8) * 8;
  }
  return offsets;
}
