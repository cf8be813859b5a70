// Exclusive ownership of a directory by a live process: a JSON lock file created with O_EXCL.
// A lock left behind by a dead process is taken over; a live owner is never overridden, and a pid
// reused by an unrelated process is told apart by its start time. raftd locks its data dir with it;
// the console its data dir and each node's folder.
import { readFileSync } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { writeFileAtomic } from './atomic-file.js';
import { isProcessAlive, processStartTime } from './processes.js';

export interface LockOwner {
  pid: number;
  started: string | null;
  /** A process the owner started that also uses the directory (a runner's raftd): the lock lives while either does. */
  child?: { pid: number; started: string | null };
}

/** The lock is held by a live process; `code` as the console API names the refusal. */
export class LockHeldError extends Error {
  readonly code = 'refused';
  constructor(message: string) {
    super(message);
    this.name = 'LockHeldError';
  }
}

export function readLock(file: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(file, 'utf8')) as LockOwner;
    return Number.isSafeInteger(owner.pid) ? owner : null;
  } catch {
    return null;
  }
}

/** The lock's owner if it or its child is a live process, else null. */
export function liveLockOwner(file: string): LockOwner | null {
  const owner = readLock(file);
  if (!owner) return null;
  const alive = isProcessAlive(owner.pid, owner.started) || (owner.child !== undefined && isProcessAlive(owner.child.pid, owner.child.started));
  return alive ? owner : null;
}

export interface PidLock {
  readonly file: string;
  /** Records the child process that shares the lock, atomically. */
  setChild(pid: number): Promise<void>;
  release(): Promise<void>;
}

/** Takes the lock for this process; throws LockHeldError naming the live owner. */
export async function acquirePidLock(file: string, what: string): Promise<PidLock> {
  const owner: LockOwner = { pid: process.pid, started: processStartTime(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(JSON.stringify(owner));
      await handle.close();
      return {
        file,
        setChild: async (pid) => {
          owner.child = { pid, started: processStartTime(pid) };
          await writeFileAtomic(file, JSON.stringify(owner));
        },
        release: async () => {
          if (readLock(file)?.pid === owner.pid) await unlink(file).catch(() => undefined);
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = liveLockOwner(file);
      if (holder) throw new LockHeldError(`${what} is in use by another process (pid ${holder.pid})`);
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`${what}: could not take the lock ${file}`);
}
