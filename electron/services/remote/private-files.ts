// Files holding host profiles, secrets or known keys: 0600 files in a 0700 directory, written atomically.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../../core/process/atomic-file.js';

/** Creates the file's directory 0700, or narrows an existing one to 0700. */
export async function ensurePrivateDir(file: string): Promise<void> {
  const dir = dirname(file);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const info = await stat(dir);
  if ((info.mode & 0o777) !== 0o700) await chmod(dir, 0o700);
}

/** Replaces the file atomically; the result is 0600 (writeFileAtomic creates its temp file 0600). */
export async function writePrivateFile(file: string, text: string): Promise<void> {
  await ensurePrivateDir(file);
  await writeFileAtomic(file, text);
  await chmod(file, 0o600);
}
