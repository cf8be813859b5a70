// Small file-system helpers shared by the file stores.
import { open } from 'node:fs/promises';

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
