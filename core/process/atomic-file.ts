// Replacing a small file so that a crash leaves the old or the new content, never a torn one.
// raftd (meta.json, its lock) and the console (registry, locks, exit records) use this one.
import { mkdir, open, rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { syncDir } from '../storage/files.js';

/** Writes a temp file (owner-only), fsyncs it, renames it over `file` and fsyncs the folder so the rename lasts. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(text);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  await syncDir(dirname(file));
}
