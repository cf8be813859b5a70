// Process liveness that survives console restarts: a pid alone can be reused by an unrelated
// process, so on Linux we also compare the kernel's start time of the process.
import { readFileSync } from 'node:fs';

/** The process start time (clock ticks since boot) on Linux, null where /proc is unavailable. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; starttime is field 22 overall.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null;
  } catch {
    return null;
  }
}

/** True when the process exists and, if `started` is known, is the same process that was recorded. */
export function isProcessAlive(pid: number, started?: string | null): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!started) return true;
  const now = processStartTime(pid);
  return now === null || now === started;
}

/** Linux: whether the process is stopped (SIGSTOP); null when it cannot be told. */
export function isProcessStopped(pid: number): boolean | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state === 'T' || state === 't';
  } catch {
    return null;
  }
}
