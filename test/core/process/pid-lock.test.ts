// One pid lock for raftd and the console: a live owner is never overridden, and a pid that a
// dead owner left behind is taken over even when another process now has that number.
import { spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquirePidLock, LockHeldError, readLock } from '../../../core/process/pid-lock.js';
import { processStartTime } from '../../../core/process/processes.js';
import { tempDir } from '../../electron/helpers.js';

const dirs: Array<{ remove(): Promise<void> }> = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.remove();
});

async function freePorts(n: number): Promise<number[]> {
  const ports: number[] = [];
  for (let i = 0; i < n; i++) {
    const server = createServer();
    ports.push(await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port))));
    await new Promise((resolve) => server.close(resolve));
  }
  return ports;
}

describe('the pid lock', () => {
  it('refuses while its owner lives, names it, and is taken over once the owner is gone or its pid reused', async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const file = join(dir.path, 'x.lock');
    const lock = await acquirePidLock(file, 'thing');
    expect(readLock(file)).toEqual({ pid: process.pid, started: processStartTime(process.pid) });
    await expect(acquirePidLock(file, 'thing')).rejects.toThrow(new LockHeldError(`thing is in use by another process (pid ${process.pid})`));
    await lock.release();
    // A lock naming this very (live) pid but another start time: the pid was reused since.
    await writeFile(file, JSON.stringify({ pid: process.pid, started: '1' }));
    const again = await acquirePidLock(file, 'thing');
    expect(readLock(file)?.started).toBe(processStartTime(process.pid));
    await again.release();
  });

  it('is raftd\'s too: a pid file left by a killed raftd whose pid another process got since does not stop it', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    dirs.push(dir);
    const dataDir = join(dir.path, 'n1');
    await mkdir(dataDir, { recursive: true });
    // The old format (a bare pid), naming a live process that is not raftd: this test's own.
    await writeFile(join(dataDir, 'raftd.pid'), String(process.pid));
    const [peer, client] = await freePorts(2);
    const raftd = spawn(process.execPath, [join(import.meta.dirname, '../../../core/server/bin/raftd.mjs'),
      '--id', 'n1', '--data-dir', dataDir, '--peer', `127.0.0.1:${peer}`, '--client', `127.0.0.1:${client}`,
      '--cluster', `n1=127.0.0.1:${peer}/127.0.0.1:${client}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    raftd.stdout.on('data', (b) => (output += b));
    raftd.stderr.on('data', (b) => (output += b));
    const exited = new Promise<number | null>((resolve) => raftd.once('exit', resolve));
    try {
      for (let i = 0; i < 400 && !output.includes('serving') && raftd.exitCode === null; i++) await new Promise((r) => setTimeout(r, 100));
      expect(output).toContain('serving');
      expect(JSON.parse(await readFile(join(dataDir, 'raftd.pid'), 'utf8'))).toMatchObject({ pid: raftd.pid });
    } finally {
      raftd.kill('SIGTERM');
      await exited;
    }
  });
});
