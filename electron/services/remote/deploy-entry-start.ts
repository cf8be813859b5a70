// `raftd-remote.mjs start SPEC.json`, on the remote host: the remote twin of LocalHost's start. Refuses
// ports already taken, starts the node's keeper (node-runner.ts) detached in its own session so it
// outlives the SSH channel, waits until raftd listens on its client port or has ended, and reports
// once: on stdout and in spec.reportFile (a console whose link dropped reads it there later).
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../../core/process/atomic-file.js';
import { processStartTime } from '../../../core/process/processes.js';
import { describeExit, type ExitRecord, type RunnerReport } from '../runner-protocol.js';
import type { RemoteStartSpec, StartReport } from './deploy-entry.js';

const KEEPER_REPORT_TIMEOUT_MS = 20_000;

export async function startNode(specFile: string): Promise<StartReport> {
  let spec: RemoteStartSpec;
  try {
    spec = JSON.parse(await readFile(specFile, 'utf8')) as RemoteStartSpec;
  } catch (error) {
    return { ok: false, reason: 'failed', error: `cannot read the start spec ${specFile}: ${(error as Error).message}` };
  }
  const report = await startWithSpec(spec).catch((error: Error): StartReport => failure(error.message));
  await writeFileAtomic(spec.reportFile, JSON.stringify(report)).catch(() => undefined);
  return report;
}

type Failure = Extract<StartReport, { ok: false }>;

function failure(error: string, logTail?: string[]): Failure {
  // raftd's WAL names a short write "disk full?"; the kernel's errors say ENOSPC.
  const reason = /ENOSPC|No space left|disk full/i.test(error) ? 'disk-full' : /EADDRINUSE|address already in use/i.test(error) ? 'port-in-use' : 'failed';
  return { ok: false, reason, error, ...(logTail && { logTail }) };
}

async function startWithSpec(spec: RemoteStartSpec): Promise<StartReport> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  for (const address of [spec.peer, spec.client]) {
    const taken = await portTaken(address);
    if (taken) return { ok: false, reason: 'port-in-use', error: `${address} is already in use on this host (${taken})` };
  }
  const keeper = await startKeeper(spec);
  if (!keeper.ok) {
    const inUse = /in use by another process/.test(keeper.error);
    return inUse ? { ok: false, reason: 'in-use', error: keeper.error } : failure(keeper.error);
  }
  const started = processStartTime(keeper.pid);
  const deadline = Date.now() + spec.readyTimeoutMs;
  for (;;) {
    const exit = readExit(spec.exitFile);
    if (exit && exit.at >= keeperStartedAt) {
      const ended = failure(describeExit(exit), tail(spec.logFile, 10));
      return { ...ended, reason: ended.reason === 'failed' ? 'exited' : ended.reason };
    }
    if (await listening(spec.client)) return { ok: true, pid: keeper.pid, started, listening: true };
    if (Date.now() > deadline) return { ok: true, pid: keeper.pid, started, listening: false };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

let keeperStartedAt = 0;

/** The keeper (this bundle in runner mode) in a session of its own, fed its spec over IPC; resolves with its one report. */
function startKeeper(spec: RemoteStartSpec): Promise<RunnerReport> {
  keeperStartedAt = Date.now();
  const err = openSync(spec.errorFile, 'a', 0o600);
  const child = spawn(process.execPath, [process.argv[1], 'runner'], {
    cwd: spec.cwd,
    detached: true,
    stdio: ['ignore', err, err, 'ipc'],
  });
  closeSync(err);
  child.send(spec);
  return new Promise<RunnerReport>((resolve) => {
    const done = (report: RunnerReport) => {
      clearTimeout(timer);
      child.unref();
      child.channel?.unref();
      resolve(report);
    };
    const timer = setTimeout(() => done({ ok: false, error: `the node's keeper did not report within ${KEEPER_REPORT_TIMEOUT_MS / 1000} s` }), KEEPER_REPORT_TIMEOUT_MS);
    child.once('message', (message: RunnerReport) => done(message));
    child.once('exit', (code) => done({ ok: false, error: `the node's keeper ended (code ${code}) before starting raftd: ${tail(spec.errorFile, 3).join(' | ') || 'no output'}` }));
    child.once('error', (error) => done({ ok: false, error: `could not start the node's keeper: ${error.message}` }));
  });
}

function readExit(file: string): ExitRecord | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ExitRecord;
  } catch {
    return null;
  }
}

/** The last `count` lines of a text file (empty when it does not exist). */
function tail(file: string, count: number): string[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  return text.slice(-64 * 1024).trim().split('\n').slice(-count);
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  return { host: address.slice(0, colon).replace(/^\[|\]$/g, ''), port: Number(address.slice(colon + 1)) };
}

/** Why the address cannot be listened on, or null when it is free. */
function portTaken(address: string): Promise<string | null> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'EADDRINUSE' ? 'another program listens there' : `${error.code ?? error.message}`));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

function listening(address: string): Promise<boolean> {
  const { host, port } = splitHostPort(address);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** `count` distinct ports the kernel hands out as free on the first host and that are also free on the others. */
export async function freePorts(count: number, hosts: string[]): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < count * 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, hosts[0] ?? '127.0.0.1', () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      });
    });
    if (ports.includes(port)) continue;
    const elsewhere = await Promise.all(hosts.slice(1).map((host) => portTaken(`${host}:${port}`)));
    if (elsewhere.every((taken) => taken === null)) ports.push(port);
  }
  return ports;
}
