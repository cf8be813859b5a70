// One SSH connection per host profile, reused by everything that talks to the host (OpenSSH allows
// 10 sessions per connection), with keepalive on. A connection that was up and drops is retried with
// backoff ("reconnecting") until it is back or the console closes it; a first connection that fails
// is reported ("unreachable", "key-not-trusted", "auth-failed") and tried again on the next use.
// Operations in flight when the link drops fail with 'connection-lost', never hang.
import { EventEmitter } from 'node:events';
import { chmod, mkdir, rename, unlink } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, posix } from 'node:path';
import type { Client, ClientChannel, SFTPWrapper } from 'ssh2';
import { followByPolling } from './file-follower.js';
import type { HostProfile } from './host-profile.js';
import type { KnownHosts } from './known-hosts.js';
import { OutputCollector } from './output-collector.js';
import {
  DEFAULT_EXEC_TIMEOUT_MS,
  RemoteError,
  cancelledTransfer,
  homeRelative,
  isRemoteError,
  shellQuote,
  type ConnectionState,
  type ExecOptions,
  type ExecResult,
  type FileFollower,
  type FollowOptions,
  type ForwardedPort,
  type RemoteErrorCode,
  type RemoteShell,
  type StateListener,
  type TransferOptions,
} from './remote-shell.js';
import { connectSsh, targetLabel, type ConnectStep } from './ssh-connect.js';

/** Where the pool finds a profile and its secret (the host profiles service). */
export interface HostDirectory {
  resolve(id: string): Promise<{ profile: HostProfile; secret?: string }>;
}

export interface RemoteLogEntry {
  level: 'info' | 'warn' | 'error';
  hostId: string;
  host: string;
  message: string;
  code?: RemoteErrorCode;
}

export interface HostConnectionsOptions {
  directory: HostDirectory;
  knownHosts: KnownHosts;
  log?: (entry: RemoteLogEntry) => void;
  tcpTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Reconnect backoff: first delay, doubled up to the max. */
  reconnectInitialMs?: number;
  reconnectMaxMs?: number;
  agentSocket?: string;
  followPollMs?: number;
}

export interface HostStateView {
  id: string;
  state: ConnectionState;
  error?: { code: RemoteErrorCode; message: string; hostKey?: RemoteError['detail']['hostKey']; knownFingerprints?: RemoteError['detail']['knownFingerprints'] };
}

export type TestStepName = 'tcp' | 'host-key' | 'auth' | 'node' | 'os' | 'disk';
export interface TestStep {
  step: TestStepName;
  status: 'ok' | 'failed' | 'skipped';
  detail: string;
  error?: HostStateView['error'];
}
export interface ConnectionTestReport {
  id: string;
  ok: boolean;
  steps: TestStep[];
  /** 'v20.11.1', or null when the login shell finds no node. */
  nodeVersion?: string | null;
  os?: string;
  arch?: string;
  diskFreeBytes?: number;
}

/** Concurrent exec channels per connection: OpenSSH's MaxSessions is 10, one goes to SFTP, one spare. */
export const MAX_EXEC_SESSIONS = 8;
/** Tries to open a command's channel while the server refuses it for its session limit. */
const CHANNEL_OPEN_TRIES = 5;

const TEST_STEPS: TestStepName[] = ['tcp', 'host-key', 'auth', 'node', 'os', 'disk'];

function errorView(error: RemoteError): NonNullable<HostStateView['error']> {
  return {
    code: error.code,
    message: error.message,
    ...(error.detail.hostKey ? { hostKey: error.detail.hostKey } : {}),
    ...(error.detail.knownFingerprints ? { knownFingerprints: error.detail.knownFingerprints } : {}),
  };
}

function stateFor(error: RemoteError): ConnectionState {
  switch (error.code) {
    case 'host-key-unknown':
    case 'host-key-changed':
    case 'host-key-revoked':
      return 'key-not-trusted';
    case 'key-rejected':
    case 'key-file':
    case 'passphrase-needed':
    case 'bad-passphrase':
    case 'password-rejected':
    case 'password-missing':
    case 'agent-unavailable':
      return 'auth-failed';
    default:
      return 'unreachable';
  }
}

/** Failures no retry can fix: they wait for the user. */
function needsUser(error: RemoteError): boolean {
  return stateFor(error) !== 'unreachable';
}

export class HostConnections {
  private readonly shells = new Map<string, SshShell>();
  private readonly events = new EventEmitter();

  constructor(readonly opts: HostConnectionsOptions) {}

  /** The host's shell (created on first use; it connects when an operation needs it). */
  shell(id: string): SshShell {
    let shell = this.shells.get(id);
    if (!shell) {
      shell = new SshShell(id, this);
      shell.on('state', (state, error) => this.events.emit('state', id, state, error));
      this.shells.set(id, shell);
    }
    return shell;
  }

  /** Every host's connection state, for the Hosts view. */
  states(): HostStateView[] {
    return [...this.shells.values()].map((shell) => shell.view());
  }

  on(event: 'state', listener: (id: string, state: ConnectionState, error?: RemoteError) => void): () => void {
    this.events.on(event, listener);
    return () => this.events.off(event, listener);
  }

  /** Drops the host's connection (its profile changed); the shell stays, and its next use connects anew. */
  async reset(id: string, reason = 'the host profile changed'): Promise<void> {
    await this.shells.get(id)?.reset(reason);
  }

  /** Ends the host's shell for good (its profile was deleted); a later shell(id) is a new one. */
  async close(id: string): Promise<void> {
    const shell = this.shells.get(id);
    if (!shell) return;
    this.shells.delete(id);
    await shell.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.shells.keys()].map((id) => this.close(id)));
  }

  log(entry: RemoteLogEntry): void {
    this.opts.log?.(entry);
  }

  /** Opens a new authenticated connection to the profile (through its jump host's pooled connection). */
  async open(id: string, onStep?: (step: ConnectStep) => void): Promise<{ client: Client; label: string }> {
    const { profile, secret } = await this.opts.directory.resolve(id);
    const target = { host: profile.address, port: profile.port, user: profile.user, auth: profile.auth, ...(secret !== undefined ? { secret } : {}) };
    const label = targetLabel(target);
    let via: { client: Client; label: string } | undefined;
    if (profile.jumpHostId) {
      const jump = this.shell(profile.jumpHostId);
      try {
        via = { client: await jump.client(), label: jump.label };
      } catch (error) {
        const cause = error as RemoteError;
        const wrapped = new RemoteError('jump-failed', `cannot reach ${label} through the jump host ${jump.label}: ${cause.message}`, { ...cause.detail, cause: cause.message });
        onStep?.({ step: 'tcp', ok: false, detail: wrapped.message, error: wrapped });
        throw wrapped;
      }
    }
    const { client } = await connectSsh(target, {
      knownHosts: this.opts.knownHosts,
      ...(via ? { via } : {}),
      tcpTimeoutMs: this.opts.tcpTimeoutMs,
      handshakeTimeoutMs: this.opts.handshakeTimeoutMs,
      keepaliveIntervalMs: this.opts.keepaliveIntervalMs,
      keepaliveCountMax: this.opts.keepaliveCountMax,
      ...(this.opts.agentSocket ? { agentSocket: this.opts.agentSocket } : {}),
      ...(onStep ? { onStep } : {}),
    });
    return { client, label };
  }

  /**
   * "Test connection": a fresh connection, reporting each step (TCP, host key, auth), then Node's
   * version through a login shell (as deploy runs it), OS/arch and free disk in the home directory.
   */
  async test(id: string): Promise<ConnectionTestReport> {
    const steps = new Map<TestStepName, TestStep>();
    const report = (): ConnectionTestReport => {
      const list = TEST_STEPS.map((step) => steps.get(step) ?? { step, status: 'skipped' as const, detail: 'not reached' });
      return { id, ok: list.every((s) => s.status === 'ok'), steps: list };
    };
    let client: Client;
    let label = id;
    try {
      ({ client, label } = await this.open(id, (step) => {
        steps.set(step.step, { step: step.step, status: step.ok ? 'ok' : 'failed', detail: step.detail, ...(step.error ? { error: errorView(step.error) } : {}) });
      }));
    } catch (error) {
      const remote = isRemoteError(error) ? error : new RemoteError('io', String(error));
      this.log({ level: 'warn', hostId: id, host: label, message: `test connection failed: ${remote.message}`, code: remote.code });
      if (![...steps.values()].some((s) => s.status === 'failed')) {
        steps.set('tcp', { step: 'tcp', status: 'failed', detail: remote.message, error: errorView(remote) });
      }
      return report();
    }
    const result: ConnectionTestReport = report();
    let up = true;
    client.on('close', () => (up = false));
    client.on('error', () => (up = false));
    const run = async (step: TestStepName, cmd: string, read: (out: ExecResult) => string): Promise<void> => {
      try {
        const out = await execOn(client, cmd, { timeoutMs: 20_000 }, label, () => up);
        steps.set(step, { step, status: 'ok', detail: read(out) });
      } catch (error) {
        const remote = isRemoteError(error) ? error : new RemoteError('io', String(error));
        steps.set(step, { step, status: 'failed', detail: remote.message, error: errorView(remote) });
      }
    };
    try {
      await run('node', `bash -lc 'command -v node >/dev/null && node --version'`, (out) => {
        const version = out.code === 0 ? out.stdout.trim() : null;
        result.nodeVersion = version;
        return version ? `node ${version}` : 'no node on the login PATH (deploy can upload a Node runtime)';
      });
      await run('os', 'uname -sm', (out) => {
        const [os = '', arch = ''] = out.stdout.trim().split(/\s+/);
        result.os = os;
        result.arch = arch;
        return `${os} ${arch}`;
      });
      await run('disk', 'df -Pk ~ | tail -n 1', (out) => {
        const available = Number(out.stdout.trim().split(/\s+/)[3]);
        if (!Number.isFinite(available)) throw new RemoteError('io', `cannot read free disk space from: ${out.stdout.trim() || out.stderr.trim()}`);
        result.diskFreeBytes = available * 1024;
        return `${(available / 1024 / 1024).toFixed(1)} GiB free in the home directory`;
      });
    } finally {
      client.end();
    }
    const final = report();
    this.log({ level: final.ok ? 'info' : 'warn', hostId: id, host: label, message: `test connection: ${final.steps.map((s) => `${s.step} ${s.status}`).join(', ')}` });
    return { ...result, ...final };
  }
}

type Abort = (error: RemoteError) => void;

/** Runs one command on a connected client; the caller handles a lost link through `aborts`. */
function execOn(client: Client, cmd: string, opts: ExecOptions, label: string, isUp: () => boolean, aborts?: Set<Abort>): Promise<ExecResult> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    let stream: ClientChannel | undefined;
    let settled = false;
    const finish = (error: RemoteError | null, result?: ExecResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      aborts?.delete(abort);
      if (error) reject(error);
      else resolve(result!);
    };
    const abort: Abort = (error) => {
      finish(new RemoteError(error.code, `${error.message} while running: ${cmd}`, error.detail));
      stream?.destroy();
    };
    aborts?.add(abort);
    const timer = setTimeout(() => {
      finish(new RemoteError('command-timeout', `the command did not finish within ${timeoutMs} ms on ${label}: ${cmd}`));
      if (stream) {
        try {
          stream.signal('KILL');
        } catch {
          // the channel may already be closing
        }
        stream.close();
      }
    }, timeoutMs);
    const open = (attempt: number): void => {
      client.exec(cmd, (error, channel) => {
        if (error) {
          // Refused while the link is up: the server's session limit, which can still count a channel it
          // has not released yet, so a few more tries (the command's timeout bounds them); else the link went away.
          if (isUp() && !settled && attempt < CHANNEL_OPEN_TRIES) {
            setTimeout(() => !settled && open(attempt + 1), 100 * attempt).unref();
            return;
          }
          finish(new RemoteError(isUp() ? 'io' : 'connection-lost', `cannot start a command on ${label}: ${error.message}`, { cause: error.message }));
          return;
        }
        stream = channel;
        if (settled) {
          channel.close();
          return;
        }
        const out = new OutputCollector();
        const err = new OutputCollector();
        let code: number | null = null;
        let signal: string | undefined;
        channel.on('data', (chunk: Buffer) => out.push(chunk));
        channel.stderr.on('data', (chunk: Buffer) => err.push(chunk));
        channel.on('error', (e: Error) => finish(new RemoteError('io', `the command channel on ${label} failed: ${e.message}`, { cause: e.message })));
        channel.stderr.on('error', () => undefined);
        channel.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = typeof exitCode === 'number' ? exitCode : null;
          if (exitSignal) signal = exitSignal;
        });
        channel.on('close', () => {
          const result: ExecResult = { code, stdout: out.text(), stderr: err.text() };
          if (signal) result.signal = signal;
          if (out.truncated || err.truncated) result.truncated = true;
          finish(null, result);
        });
        channel.end(opts.stdin ?? undefined);
      });
    };
    open(1);
  });
}

export class SshShell implements RemoteShell {
  private current: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private sftpSession: Promise<SFTPWrapper> | undefined;
  private stateValue: ConnectionState = 'idle';
  private errorValue: RemoteError | undefined;
  private readonly events = new EventEmitter();
  private readonly aborts = new Set<Abort>();
  private wasConnected = false;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelay: number;
  private retryAt = 0;
  private generation = 0;
  /** Session channels (exec) in use: OpenSSH allows 10 per connection (MaxSessions); SFTP holds one. */
  private sessionsInUse = 0;
  private readonly sessionWaiters: (() => void)[] = [];
  labelValue: string;

  constructor(
    readonly id: string,
    private readonly pool: HostConnections,
  ) {
    this.labelValue = id;
    this.retryDelay = pool.opts.reconnectInitialMs ?? 1_000;
  }

  get label(): string {
    return this.labelValue;
  }
  get state(): ConnectionState {
    return this.stateValue;
  }
  get lastError(): RemoteError | undefined {
    return this.errorValue;
  }

  on(_event: 'state', listener: StateListener): () => void {
    this.events.on('state', listener);
    return () => this.events.off('state', listener);
  }

  view(): HostStateView {
    return { id: this.id, state: this.stateValue, ...(this.errorValue ? { error: errorView(this.errorValue) } : {}) };
  }

  private setState(state: ConnectionState, error?: RemoteError): void {
    this.errorValue = error;
    if (state === this.stateValue) return;
    this.stateValue = state;
    this.events.emit('state', state, error);
  }

  /** The connected client, connecting (or reconnecting now, skipping the backoff wait) if needed. */
  client(): Promise<Client> {
    if (this.closed) return Promise.reject(new RemoteError('closed', `the connection to ${this.label} was closed by the console`));
    if (this.current) return Promise.resolve(this.current);
    if (this.retryTimer && !this.connecting) {
      // Reconnecting with backoff: answer at once rather than hammer a host that is down.
      const seconds = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
      const why = this.errorValue ? `: ${this.errorValue.message}` : '';
      return Promise.reject(new RemoteError('connection-lost', `${this.label} is reconnecting (next attempt in ${seconds} s)${why}`));
    }
    if (!this.connecting) {
      if (this.retryTimer) clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      this.connecting = this.connect().finally(() => (this.connecting = undefined));
    }
    return this.connecting;
  }

  private async connect(): Promise<Client> {
    const generation = this.generation;
    this.setState(this.wasConnected ? 'reconnecting' : 'connecting', this.errorValue);
    let opened: { client: Client; label: string };
    try {
      opened = await this.pool.open(this.id);
    } catch (error) {
      const remote = isRemoteError(error) ? error : new RemoteError('io', (error as Error).message);
      this.pool.log({ level: 'error', hostId: this.id, host: this.label, message: remote.message, code: remote.code });
      if (this.wasConnected && !needsUser(remote) && !this.closed) {
        this.setState('reconnecting', remote);
        this.scheduleRetry();
      } else {
        this.setState(stateFor(remote), remote);
      }
      throw remote;
    }
    const { client, label } = opened;
    this.labelValue = label;
    if (this.closed || generation !== this.generation) {
      client.end();
      throw new RemoteError('closed', `the connection to ${label} was reset while it was being opened; try again`);
    }
    this.current = client;
    this.wasConnected = true;
    this.retryDelay = this.pool.opts.reconnectInitialMs ?? 1_000;
    client.on('error', (error: Error) => {
      // The 'close' that follows does the work; keep the reason for the message.
      this.pool.log({ level: 'warn', hostId: this.id, host: label, message: `connection error: ${error.message}`, code: 'connection-lost' });
      this.lostReason = error.message;
    });
    client.on('close', () => this.onClose(client));
    this.pool.log({ level: 'info', hostId: this.id, host: label, message: 'connected' });
    this.setState('connected');
    return client;
  }

  private lostReason: string | undefined;

  private onClose(client: Client): void {
    if (this.current !== client) return;
    this.current = undefined;
    this.sftpSession = undefined;
    const reason = this.lostReason ? ` (${this.lostReason})` : '';
    this.lostReason = undefined;
    const lost = new RemoteError('connection-lost', `the connection to ${this.label} was lost${reason}`);
    for (const abort of [...this.aborts]) abort(lost);
    if (this.closed) return;
    this.pool.log({ level: 'warn', hostId: this.id, host: this.label, message: `${lost.message}; reconnecting`, code: 'connection-lost' });
    this.setState('reconnecting', lost);
    this.scheduleRetry();
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    const delay = this.retryDelay;
    this.retryDelay = Math.min(delay * 2, this.pool.opts.reconnectMaxMs ?? 10_000);
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.client().catch(() => undefined); // failures are logged and rescheduled by connect()
    }, delay);
    this.retryTimer.unref?.();
  }

  /** Drops the connection but keeps the shell: the next use connects with the profile as it is now. */
  async reset(reason: string): Promise<void> {
    await this.disconnect(new RemoteError('closed', `${this.label}: ${reason}`));
    this.wasConnected = false;
    this.retryDelay = this.pool.opts.reconnectInitialMs ?? 1_000;
    this.setState('idle');
  }

  /** Ends the shell for good (its profile was deleted, or the console stops). */
  async close(): Promise<void> {
    this.closed = true;
    await this.disconnect(new RemoteError('closed', `the connection to ${this.label} was closed by the console`));
    for (const close of [...this.forwards]) await close();
    this.setState('idle');
  }

  private async disconnect(reason: RemoteError): Promise<void> {
    this.generation++; // a connection being opened now is dropped when it arrives
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const client = this.current;
    this.current = undefined; // before end(): onClose then sees a connection we closed, not a lost one
    this.sftpSession = undefined;
    for (const abort of [...this.aborts]) abort(reason);
    if (client) {
      await new Promise<void>((resolve) => {
        client.once('close', () => resolve());
        client.end();
        setTimeout(resolve, 2_000).unref?.();
      });
    }
  }

  /** Runs `work` with a registered abort, so a lost link rejects it with connection-lost at once. */
  private guarded<T>(what: string, work: (client: Client, signal: { aborted: RemoteError | undefined }) => Promise<T>): Promise<T> {
    return this.client().then(
      (client) =>
        new Promise<T>((resolve, reject) => {
          const signal: { aborted: RemoteError | undefined } = { aborted: undefined };
          const abort: Abort = (error) => {
            signal.aborted = error;
            this.aborts.delete(abort);
            reject(new RemoteError(error.code, `${error.message} during ${what}`, error.detail));
          };
          this.aborts.add(abort);
          work(client, signal).then(
            (value) => {
              this.aborts.delete(abort);
              resolve(value);
            },
            (error: unknown) => {
              this.aborts.delete(abort);
              reject(error);
            },
          );
        }),
    );
  }

  async exec(cmd: string, opts: ExecOptions = {}): Promise<ExecResult> {
    const client = await this.client();
    await this.acquireSession();
    try {
      return await execOn(client, cmd, opts, this.label, () => this.current === client, this.aborts);
    } catch (error) {
      if (isRemoteError(error, 'command-timeout')) this.pool.log({ level: 'warn', hostId: this.id, host: this.label, message: error.message, code: error.code });
      throw error;
    } finally {
      this.releaseSession();
    }
  }

  private acquireSession(): Promise<void> {
    if (this.sessionsInUse < MAX_EXEC_SESSIONS) {
      this.sessionsInUse++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.sessionWaiters.push(() => resolve()));
  }

  private releaseSession(): void {
    const next = this.sessionWaiters.shift();
    if (next) next(); // the slot passes straight to the next waiter
    else this.sessionsInUse--;
  }

  private sftp(client: Client): Promise<SFTPWrapper> {
    if (!this.sftpSession) {
      this.sftpSession = new Promise<SFTPWrapper>((resolve, reject) => {
        client.sftp((error, sftp) => {
          if (error) {
            this.sftpSession = undefined;
            reject(new RemoteError('io', `cannot open SFTP on ${this.label}: ${error.message}`, { cause: error.message }));
            return;
          }
          sftp.on('error', () => undefined); // failures reach each request's callback
          sftp.on('close', () => {
            if (this.sftpSession && this.current === client) this.sftpSession = undefined;
          });
          resolve(sftp);
        });
      });
    }
    return this.sftpSession;
  }

  /** An SFTP channel for one transfer, closed by the caller. */
  private ownSftp(client: Client): Promise<SFTPWrapper> {
    return new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((error, sftp) => {
        if (error) return reject(new RemoteError('io', `cannot open SFTP on ${this.label}: ${error.message}`, { cause: error.message }));
        sftp.on('error', () => undefined); // failures reach each request's callback
        resolve(sftp);
      });
    });
  }

  private sftpError(error: Error & { code?: number }, path: string): RemoteError {
    if (error.code === 2) return new RemoteError('not-found', `no such file on ${this.label}: ${path}`, { cause: error.message });
    if (error.code === 4 && /no space|quota/i.test(error.message)) return new RemoteError('io', `${this.label}: no space left writing ${path}`, { cause: error.message });
    return new RemoteError('io', `${this.label}: ${path}: ${error.message}`, { cause: error.message });
  }

  async upload(localPath: string, remotePath: string, opts: TransferOptions = {}): Promise<void> {
    const target = homeRelative(remotePath);
    const dir = posix.dirname(target);
    if (dir !== '.' && dir !== '/') {
      const made = await this.exec(`mkdir -p -- ${shellQuote(dir)}`, { timeoutMs: 20_000 });
      if (made.code !== 0) throw new RemoteError('io', `cannot create ${dir} on ${this.label}: ${made.stderr.trim()}`);
    }
    const tmp = `${target}.tmp-${Math.random().toString(36).slice(2, 10)}`;
    const mode = opts.mode ?? 0o644;
    const what = `the upload of ${localPath} to ${target}`;
    const cancel = opts.signal;
    if (cancel?.aborted) throw cancelledTransfer(what);
    await this.guarded(what, async (client, signal) => {
      // A cancellable upload has an SFTP channel of its own: ending it stops the transfer and nothing else on the host.
      const sftp = cancel ? await this.ownSftp(client) : await this.sftp(client);
      const stop = () => sftp.end();
      cancel?.addEventListener('abort', stop, { once: true });
      try {
        await new Promise<void>((resolve, reject) => {
          sftp.fastPut(localPath, tmp, { mode, step: (sent, _chunk, total) => !signal.aborted && !cancel?.aborted && opts.onProgress?.(sent, total) }, (error) => {
            if (cancel?.aborted) return reject(cancelledTransfer(what));
            if (!error) return resolve();
            const errno = error as NodeJS.ErrnoException;
            if (errno.code === 'ENOENT' && typeof errno.code === 'string') reject(new RemoteError('not-found', `no such local file: ${localPath}`, { cause: error.message }));
            else reject(this.sftpError(error as Error & { code?: number }, target));
          });
        });
        if (cancel?.aborted) throw cancelledTransfer(what);
        await new Promise<void>((resolve, reject) => sftp.chmod(tmp, mode, (error) => (error ? reject(this.sftpError(error, tmp)) : resolve())));
        await new Promise<void>((resolve, reject) =>
          sftp.ext_openssh_rename(tmp, target, (error) => (error ? reject(this.sftpError(error, target)) : resolve())),
        );
      } finally {
        cancel?.removeEventListener('abort', stop);
        if (cancel) sftp.end();
      }
    }).catch(async (error: unknown) => {
      // Best effort: a half-written temp file goes (impossible when the link is what failed).
      if (this.current) await this.exec(`rm -f -- ${shellQuote(tmp)}`, { timeoutMs: 10_000 }).catch(() => undefined);
      throw error;
    });
  }

  async download(remotePath: string, localPath: string, opts: TransferOptions = {}): Promise<void> {
    const source = homeRelative(remotePath);
    const tmp = `${localPath}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    await mkdir(dirname(localPath), { recursive: true });
    await this.guarded(`the download of ${source}`, async (client, signal) => {
      const sftp = await this.sftp(client);
      await new Promise<void>((resolve, reject) => {
        sftp.fastGet(source, tmp, { step: (sent, _chunk, total) => !signal.aborted && opts.onProgress?.(sent, total) }, (error) =>
          error ? reject(this.sftpError(error as Error & { code?: number }, source)) : resolve(),
        );
      });
      await chmod(tmp, opts.mode ?? 0o600);
      await rename(tmp, localPath);
    }).catch(async (error: unknown) => {
      await unlink(tmp).catch(() => undefined);
      throw error;
    });
  }

  private readonly forwards = new Set<() => Promise<void>>();

  async forwardLocal(remotePort: number, remoteHost = '127.0.0.1'): Promise<ForwardedPort> {
    await this.client(); // fail now, not on the first connection, when the host cannot be reached
    const sockets = new Set<Socket>();
    const server: Server = createServer((inbound) => {
      sockets.add(inbound);
      inbound.on('error', () => inbound.destroy());
      inbound.on('close', () => sockets.delete(inbound));
      inbound.pause();
      this.client().then(
        (client) =>
          client.forwardOut('127.0.0.1', inbound.remotePort ?? 0, remoteHost, remotePort, (error, channel) => {
            if (error) {
              this.pool.log({ level: 'warn', hostId: this.id, host: this.label, message: `forward to ${remoteHost}:${remotePort} failed: ${error.message}` });
              inbound.destroy();
              return;
            }
            channel.on('error', () => inbound.destroy());
            channel.on('close', () => inbound.destroy());
            inbound.on('close', () => channel.close());
            inbound.pipe(channel).pipe(inbound);
            inbound.resume();
          }),
        () => inbound.destroy(),
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (address === null || typeof address === 'string') throw new RemoteError('io', 'the forward listener has no port');
    const close = (): Promise<void> =>
      new Promise<void>((resolve) => {
        this.forwards.delete(close);
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      });
    this.forwards.add(close);
    return { localPort: address.port, close };
  }

  followFile(remotePath: string, onChunk: (text: string) => void, opts: FollowOptions = {}): FileFollower {
    const path = homeRelative(remotePath);
    const withSftp = async <T>(work: (sftp: SFTPWrapper) => Promise<T>): Promise<T> => {
      // While the pool reconnects with backoff, wait for it rather than forcing an attempt every poll.
      if (!this.current && this.wasConnected) throw new RemoteError('connection-lost', `${this.label} is ${this.stateValue}`);
      return this.guarded(`following ${path}`, async (client) => work(await this.sftp(client)));
    };
    return followByPolling(
      {
        size: () =>
          withSftp(
            (sftp) =>
              new Promise<number | null>((resolve, reject) =>
                sftp.stat(path, (error, stats) => {
                  if (!error) return resolve(stats.size);
                  if ((error as Error & { code?: number }).code === 2) return resolve(null);
                  reject(this.sftpError(error, path));
                }),
              ),
          ),
        read: (offset, length) =>
          withSftp(
            (sftp) =>
              new Promise<Buffer>((resolve, reject) => {
                sftp.open(path, 'r', (error, handle) => {
                  if (error) return reject(this.sftpError(error, path));
                  const buffer = Buffer.alloc(length);
                  sftp.read(handle, buffer, 0, length, offset, (readError, bytesRead) => {
                    sftp.close(handle, () => undefined);
                    if (readError) return reject(this.sftpError(readError, path));
                    resolve(buffer.subarray(0, bytesRead));
                  });
                });
              }),
          ),
      },
      onChunk,
      {
        ...opts,
        pollMs: this.pool.opts.followPollMs,
        // A lost or down link is waited out (the pool reconnects); anything else ends the follow.
        isTransient: (error) => isRemoteError(error) && ['connection-lost', 'unreachable', 'refused', 'handshake-timeout', 'jump-failed'].includes(error.code),
      },
    );
  }
}
