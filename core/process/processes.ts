// Process liveness that survives console restarts: a pid alone can be reused by an unrelated
// process, so on Linux we also compare the kernel's start time of the process.
import { readFileSync } from 'node:fs';

/**
 * Linux: the fields of /proc/<pid>/stat after the parenthesised command name (which may hold
 * spaces), so field N of proc(5) is at N - 3; null where /proc or the process is unavailable.
 */
function procStatFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return null;
  }
}

/** The process start time (clock ticks since boot, field 22) on Linux, null where /proc is unavailable. */
export function processStartTime(pid: number): string | null {
  return procStatFields(pid)?.[19] ?? null;
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

/** Linux: whether the process is stopped (SIGSTOP; state, field 3, is T or t); null when it cannot be told. */
export function isProcessStopped(pid: number): boolean | null {
  const state = procStatFields(pid)?.[0];
  return state === undefined ? null : state === 'T' || state === 't';
}
