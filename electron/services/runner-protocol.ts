// What the console and a node runner (node-runner.ts) tell each other over the IPC channel: the
// spec it is sent on start, the one report it sends back; and the exit record it leaves behind.
import type { LogRotation } from './node-logs.js';

export interface RunnerSpec {
  /** What the lock protects, for messages: "node n1 of cluster demo". */
  what: string;
  command: string;
  args: string[];
  /** Added to the inherited environment; secrets go here, never in args (visible to every local user in ps). */
  env: Record<string, string>;
  cwd: string;
  lockFile: string;
  exitFile: string;
  logFile: string;
  rotation: LogRotation;
}

export type RunnerReport = { ok: true; pid: number } | { ok: false; error: string };

/** How the last process of a node ended, as the runner saw it. */
export interface ExitRecord {
  at: number;
  code: number | null;
  signal: string | null;
  /** The runner could not start raftd at all. */
  error?: string;
  /** raftd's last line on stderr: usually why it exited. */
  lastError?: string;
}

export function describeExit(record: ExitRecord): string {
  if (record.error) return `raftd could not start: ${record.error}`;
  const how = record.signal ? `raftd ended by ${record.signal}` : `raftd exited with code ${record.code}`;
  return record.lastError && record.code !== 0 ? `${how}: ${record.lastError}` : how;
}
