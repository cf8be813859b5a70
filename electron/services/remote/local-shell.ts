// RemoteShell on this machine: the same operations with child_process and fs, so code built on top
// (deploy, remote processes) can be tested fast without sshd. `home` plays the remote user's home.
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { createConnection, createServer, type Socket } from 'node:net';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { followByPolling } from './file-follower.js';
import { OutputCollector } from './output-collector.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  RemoteError,
  cancelledTransfer,
  homeRelative,
  type ConnectionState,
  type ExecOptions,
  type ExecResult,
  type FileFollower,
  type FollowOptions,
  type ForwardedPort,
  type RemoteShell,
  type TransferOptions,
} from './remote-shell.js';

export class LocalShell implements RemoteShell {
  readonly label = 'local';
  readonly state: ConnectionState = 'connected';
  readonly lastError = undefined;
  readonly home: string;

  constructor(opts: { home?: string; followPollMs?: number } = {}) {
    this.home = opts.home ?? homedir();
    this.followPollMs = opts.followPollMs;
  }

  private readonly followPollMs: number | undefined;

  on(_event: 'state', _listener: (state: ConnectionState) => void): () => void {
    return () => undefined; // always connected
  }

  /** The local path a remote-style path means here. */
  resolve(path: string): string {
    const relative = homeRelative(path);
    return isAbsolute(relative) ? relative : join(this.home, relative);
  }

  exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      // Own process group, so a timeout ends the command and everything it started in the foreground.
      const child = spawn('/bin/sh', ['-c', cmd], { cwd: this.home, detached: true, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HOME: this.home } });
      const out = new OutputCollector();
      const err = new OutputCollector();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      }, timeoutMs);
      child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(new RemoteError('io', `cannot run the command: ${error.message}`, { cause: error.message }));
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) {
          reject(new RemoteError('command-timeout', `the command did not finish within ${timeoutMs} ms: ${cmd}`));
          return;
        }
        const result: ExecResult = { code, stdout: out.text(), stderr: err.text() };
        if (signal) result.signal = signal.replace(/^SIG/, '');
        if (out.truncated || err.truncated) result.truncated = true;
        resolve(result);
      });
      child.stdin.end(opts.stdin ?? '');
    });
  }

  async upload(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<void> {
    await copyFile(localPath, this.resolve(remotePath), opts.mode ?? 0o644, opts.onProgress, opts.signal);
  }

  async download(remotePath: string, localPath: string, opts: TransferOptions = {}): Promise<void> {
    await copyFile(this.resolve(remotePath), localPath, opts.mode ?? 0o600, opts.onProgress);
  }

  async forwardLocal(remotePort: number, remoteHost = '127.0.0.1'): Promise<ForwardedPort> {
    const sockets = new Set<Socket>();
    const server = createServer((inbound) => {
      const outbound = createConnection({ host: remoteHost, port: remotePort });
      sockets.add(inbound).add(outbound);
      const drop = (): void => {
        inbound.destroy();
        outbound.destroy();
        sockets.delete(inbound);
        sockets.delete(outbound);
      };
      inbound.on('error', drop).on('close', drop);
      outbound.on('error', drop).on('close', drop);
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new RemoteError('io', 'the forward listener has no port');
    return {
      localPort: address.port,
      close: () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          server.close(() => resolve());
        }),
    };
  }

  followFile(remotePath: string, onChunk: (text: string) => void, opts: FollowOptions = {}): FileFollower {
    const path = this.resolve(remotePath);
    return followByPolling(
      {
        size: async () => {
          try {
            return (await stat(path)).size;
          } catch (error) {
            if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
            throw error;
          }
        },
        read: async (offset, length) => {
          const handle = await open(path, 'r');
          try {
            const buffer = Buffer.alloc(length);
            const { bytesRead } = await handle.read(buffer, 0, length, offset);
            return buffer.subarray(0, bytesRead);
          } finally {
            await handle.close();
          }
        },
      },
      onChunk,
      { ...opts, pollMs: this.followPollMs, isTransient: () => false },
    );
  }
}

/** Copies through a temp file and renames it into place, reporting progress. */
async function copyFile(from: string, to: string, mode: number, onProgress?: (sent: number, total: number) => void, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) throw cancelledTransfer(`the copy of ${from} to ${to}`);
  let total: number;
  try {
    total = (await stat(from)).size;
  } catch (error) {
    throw fsError(error, from);
  }
  const tmp = `${to}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    await mkdir(dirname(to), { recursive: true });
    let sent = 0;
    const progress = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        onProgress?.(sent, total);
        callback(null, chunk);
      },
    });
    await pipeline(createReadStream(from), progress, createWriteStream(tmp, { mode }), { signal: signal ?? new AbortController().signal });
    await chmod(tmp, mode);
    await rename(tmp, to);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    if (signal?.aborted) throw cancelledTransfer(`the copy of ${from} to ${to}`);
    throw fsError(error, to);
  }
}

function fsError(error: unknown, path: string): RemoteError {
  const errno = error as NodeJS.ErrnoException;
  if (errno.code === 'ENOENT') return new RemoteError('not-found', `no such file: ${path}`, { cause: errno.message });
  return new RemoteError('io', `${path}: ${errno.message}`, { cause: errno.message });
}
