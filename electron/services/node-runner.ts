// A node's keeper, one small detached process per raftd: it holds the node's data-dir lock while
// raftd lives and writes raftd's output to the node's rotating log files. Being detached from the
// console, the node and its logging outlive console restarts; the console re-attaches through the
// lock file (pids) and raftd's HTTP API.
//
// Run as: node --import tsx node-runner.ts, with an IPC channel: it receives its RunnerSpec, answers one RunnerReport.
import { spawn } from 'node:child_process';
import { mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { writeFileAtomic } from '../../core/process/atomic-file.js';
import { createNodeLogStream } from './node-logs.js';
import { acquirePidLock } from '../../core/process/pid-lock.js';
import { describeExit, type ExitRecord, type RunnerReport, type RunnerSpec } from './runner-protocol.js';

function report(message: RunnerReport): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, () => {
      process.disconnect?.();
      resolve();
    });
  });
}

async function run(spec: RunnerSpec): Promise<void> {
  await mkdir(dirname(spec.logFile), { recursive: true, mode: 0o700 });
  let lock;
  try {
    lock = await acquirePidLock(spec.lockFile, spec.what);
  } catch (error) {
    await report({ ok: false, error: (error as Error).message });
    process.exit(1);
  }
  const log = createNodeLogStream(spec.logFile, spec.rotation);
  const note = (level: number, msg: string, extra: object = {}) =>
    log.write(JSON.stringify({ level, time: Date.now(), msg, source: 'console', ...extra }) + '\n');

  // Cleared before raftd exists, so a fast exit's record is never removed by us.
  await unlink(spec.exitFile).catch(() => undefined);
  let lastError = '';
  const child = spawn(spec.command, spec.args, { cwd: spec.cwd, env: { ...process.env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  // pino writes whole lines; reading by line keeps rotation from ever splitting one.
  createInterface({ input: child.stdout }).on('line', (line) => log.write(line + '\n'));
  createInterface({ input: child.stderr }).on('line', (line) => {
    lastError = line;
    note(50, line, { stream: 'stderr' });
  });

  let finished = false;
  const finish = async (record: ExitRecord) => {
    if (finished) return;
    finished = true;
    note(record.code === 0 || record.signal === 'SIGTERM' ? 30 : 50, describeExit(record), { code: record.code, signal: record.signal });
    await writeFileAtomic(spec.exitFile, JSON.stringify(record));
    await lock.release();
    log.end(() => process.exit(0));
  };

  // The lock names raftd before anything reports it gone.
  const started = new Promise<void>((resolve) => {
    child.once('spawn', async () => {
      const pid = child.pid as number;
      await lock.setChild(pid);
      note(30, `raftd started (pid ${pid})`, { pid });
      await report({ ok: true, pid });
      resolve();
    });
    child.once('error', async (error) => {
      await report({ ok: false, error: `could not start raftd: ${error.message}` });
      await finish({ at: Date.now(), code: null, signal: null, error: error.message });
      resolve();
    });
  });
  child.once('close', async (code, signal) => {
    await started;
    await finish({ at: Date.now(), code, signal, ...(lastError && { lastError }) });
  });
}

// The console stops raftd directly; the runner only ends when raftd does.
for (const signal of ['SIGINT', 'SIGHUP', 'SIGTERM'] as const) process.on(signal, () => undefined);
process.once('message', (spec: RunnerSpec) => void run(spec));
