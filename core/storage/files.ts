// Small file-system helpers shared by the file stores.
import { open, type FileHandle } from 'node:fs/promises';

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

/** Writes all parts at `position`; libuv reports a write cut short (disk full midway) as a short count, not an error. */
export async function writeFully(handle: FileHandle, parts: Uint8Array[], position: number): Promise<number> {
  const bytes = parts.reduce((n, part) => n + part.length, 0);
  const { bytesWritten } = await handle.writev(parts, position);
  if (bytesWritten !== bytes) throw new Error(`short write at offset ${position}: ${bytesWritten} of ${bytes} bytes (disk full?)`);
  return bytes;
}
