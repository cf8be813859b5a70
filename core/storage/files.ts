// Small file-system helpers shared by the file stores and raftd.
import { writev } from 'node:fs';
import { chmod, mkdir, open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** Data directories and files hold every value: only their owner may read them. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/**
 * Creates `dir` and whatever parents are missing, private (0700), and makes each creation durable
 * by syncing the parent of every directory it created: otherwise a power cut soon after the first
 * start could take the new directory, and all that was written into it, away. A directory that
 * already exists is left as it is (see makePrivate). Returns whether anything was created.
 */
export async function makeDirDurable(dir: string): Promise<boolean> {
  const first = await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (first === undefined) return false;
  const created: string[] = [];
  for (let d = resolve(dir); ; d = dirname(d)) {
    created.unshift(d);
    if (d === resolve(first) || d === dirname(d)) break;
  }
  for (const d of created) await syncDir(dirname(d));
  return true;
}

/** Narrows an existing directory or file to its owner; returns the mode it had if that was wider. */
export async function makePrivate(path: string, mode: number): Promise<number | null> {
  const current = (await stat(path)).mode & 0o777;
  if ((current & ~mode) === 0) return null;
  await chmod(path, current & mode);
  return current;
}

/** Makes creating, renaming and deleting files in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  if (process.platform === 'win32') return; // directories cannot be opened for fsync there
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Fixed-width hex, so file names sort like the numbers in them. */
export function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

/**
 * Writes all parts at `position`; libuv reports a write cut short (disk full midway) as a short count, not an error.
 * Through the callback API on the handle's descriptor: FileHandle.writev allocates about 1.2 KB more per call, on
 * every WAL write.
 */
export function writeFully(handle: FileHandle, parts: Uint8Array[], position: number): Promise<number> {
  const bytes = parts.reduce((n, part) => n + part.length, 0);
  return new Promise((resolve, reject) => {
    writev(handle.fd, parts, position, (error, bytesWritten) => {
      if (error) reject(error);
      else if (bytesWritten !== bytes) reject(new Error(`short write at offset ${position}: ${bytesWritten} of ${bytes} bytes (disk full?)`));
      else resolve(bytes);
    });
  });
}
