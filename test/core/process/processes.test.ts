import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isProcessAlive, isProcessStopped, processStartTime } from '../../../core/process/processes.js';
import { eventually } from '../../electron/helpers.js';

const linux = existsSync('/proc/self/stat');

describe('process liveness', () => {
  it('knows this process is alive, and a pid with another start time is not the recorded process', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(process.pid, processStartTime(process.pid))).toBe(true);
    if (linux) expect(isProcessAlive(process.pid, 'not-its-start-time')).toBe(false);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
  });

  it.runIf(linux)('reads the start time and the stopped state from /proc', async () => {
    expect(processStartTime(process.pid)).toMatch(/^\d+$/);
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    const pid = child.pid!;
    try {
      expect(isProcessStopped(pid)).toBe(false);
      process.kill(pid, 'SIGSTOP');
      await eventually(() => isProcessStopped(pid) === true, 'the child to show stopped');
      process.kill(pid, 'SIGCONT');
      await eventually(() => isProcessStopped(pid) === false, 'the child to show running again');
    } finally {
      child.kill('SIGKILL');
    }
    await eventually(() => isProcessStopped(pid) === null, 'the reaped child to have no /proc entry');
    expect(isProcessAlive(pid)).toBe(false);
  });
});
