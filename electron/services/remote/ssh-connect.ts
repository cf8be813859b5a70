// One SSH connection attempt, step by step: TCP (directly or through a jump host's channel), the host
// key (checked against KnownHosts before anything else is sent: ssh2 accepts any key unless
// hostVerifier is set), then authentication with exactly the method the profile names. Every failure
// becomes one RemoteError with a precise code; `onStep` reports each step for "Test connection".
import { readFile } from 'node:fs/promises';
import { connect as netConnect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import ssh2, { type AnyAuthMethod, type ConnectConfig } from 'ssh2';
import { hostKeyAlgorithmsFor, hostKeyInfo, verdictError, type HostKeyVerdict, type KnownHosts } from './known-hosts.js';
import type { HostAuth } from './host-profile.js';
import { RemoteError, type HostKeyInfo } from './remote-shell.js';

// ssh2 is CommonJS: Node's ESM loader (tsx, web mode) exposes `utils` only on the default export.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface ConnectTarget {
  host: string;
  port: number;
  user: string;
  auth: HostAuth;
  /** The key's passphrase or the password, from the secret store. */
  secret?: string;
}

export type ConnectStepName = 'tcp' | 'host-key' | 'auth';
export interface ConnectStep {
  step: ConnectStepName;
  ok: boolean;
  /** What was checked: 'connected to 198.51.100.1:22', 'ssh-ed25519 SHA256:… (known)', … */
  detail: string;
  error?: RemoteError;
}

export interface ConnectOptions {
  knownHosts: KnownHosts;
  /** A connected client to open the TCP channel through (ProxyJump). */
  via?: { client: Client; label: string };
  tcpTimeoutMs?: number;
  handshakeTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** The agent socket; default SSH_AUTH_SOCK. */
  agentSocket?: string;
  onStep?: (step: ConnectStep) => void;
}

export const CONNECT_DEFAULTS = {
  tcpTimeoutMs: 10_000,
  handshakeTimeoutMs: 20_000,
  keepaliveIntervalMs: 5_000,
  keepaliveCountMax: 3,
};

export interface SshConnection {
  client: Client;
  hostKey: HostKeyInfo;
}

export function targetLabel(target: { host: string; port: number; user: string }): string {
  return `${target.user}@${target.host}${target.port === 22 ? '' : `:${target.port}`}`;
}

/** Opens the byte stream SSH runs over: a TCP socket, or a direct-tcpip channel through the jump host. */
async function openTransport(target: ConnectTarget, opts: ConnectOptions): Promise<Duplex> {
  const where = `${target.host}:${target.port}`;
  const timeoutMs = opts.tcpTimeoutMs ?? CONNECT_DEFAULTS.tcpTimeoutMs;
  if (opts.via) {
    const via = opts.via;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new RemoteError('unreachable', `${via.label} could not reach ${where} within ${timeoutMs} ms`)), timeoutMs);
      via.client.forwardOut('127.0.0.1', 0, target.host, target.port, (error, stream) => {
        clearTimeout(timer);
        if (error) {
          // OpenSSH reports the jump host's own connect failure as "Connection refused" / "open failed".
          const refused = /refused/i.test(error.message);
          reject(
            new RemoteError(refused ? 'refused' : 'jump-failed', `${via.label} could not open a connection to ${where}: ${error.message}`, { cause: error.message }),
          );
          return;
        }
        resolve(stream);
      });
    });
  }
  return new Promise((resolve, reject) => {
    const socket: Socket = netConnect({ host: target.host, port: target.port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new RemoteError('unreachable', `no answer from ${where} within ${timeoutMs} ms (host down or unreachable)`));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(socketError(error, where));
    });
  });
}

export function socketError(error: NodeJS.ErrnoException, where: string): RemoteError {
  switch (error.code) {
    case 'ECONNREFUSED':
      return new RemoteError('refused', `${where} refused the connection (no SSH server listening on that port)`, { cause: error.message });
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ETIMEDOUT':
      return new RemoteError('unreachable', `${where} is unreachable (${error.code})`, { cause: error.message });
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new RemoteError('unreachable', `cannot resolve the host name of ${where} (${error.code})`, { cause: error.message });
    case 'ECONNRESET':
    case 'EPIPE':
      return new RemoteError('connection-lost', `the connection to ${where} was reset`, { cause: error.message });
    default:
      return new RemoteError('io', `${where}: ${error.message}`, { cause: error.message });
  }
}

interface AuthAttempt {
  /** Failure found on our side (key file, passphrase, missing secret) before anything was sent. */
  localError?: RemoteError;
  /** Methods the server said it accepts, after it refused ours. */
  methodsLeft?: string[];
  tried: boolean;
}

async function loadKey(auth: Extract<HostAuth, { kind: 'key' }>, secret: string | undefined): Promise<ReturnType<typeof utils.parseKey>> {
  let data: Buffer;
  try {
    data = await readFile(auth.keyFile);
  } catch (error) {
    const errno = error as NodeJS.ErrnoException;
    throw new RemoteError('key-file', `cannot read the key file ${auth.keyFile}: ${errno.code === 'ENOENT' ? 'no such file' : errno.message}`, { cause: errno.message });
  }
  const parsed = utils.parseKey(data, secret);
  if (parsed instanceof Error) {
    if (/no passphrase given/i.test(parsed.message)) {
      throw new RemoteError('passphrase-needed', `the key file ${auth.keyFile} is encrypted: store its passphrase in the host profile`, { cause: parsed.message });
    }
    if (/passphrase|decrypt|integrity/i.test(parsed.message)) {
      throw new RemoteError('bad-passphrase', `the passphrase does not decrypt the key file ${auth.keyFile}`, { cause: parsed.message });
    }
    throw new RemoteError('key-file', `${auth.keyFile} is not a private key ssh2 can read: ${parsed.message}`, { cause: parsed.message });
  }
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || !key.isPrivateKey()) throw new RemoteError('key-file', `${auth.keyFile} holds no private key (is it the .pub file?)`);
  return key;
}

/** The single auth method the profile names, as ssh2's authHandler object. */
async function authFor(target: ConnectTarget, opts: ConnectOptions): Promise<AnyAuthMethod> {
  const username = target.user;
  switch (target.auth.kind) {
    case 'key': {
      const key = await loadKey(target.auth, target.secret);
      return { type: 'publickey', username, key: key as never };
    }
    case 'password':
      if (target.secret === undefined) throw new RemoteError('password-missing', `no password is stored for ${targetLabel(target)}: enter it in the host profile`);
      return { type: 'password', username, password: target.secret };
    case 'agent': {
      const agent = opts.agentSocket ?? process.env.SSH_AUTH_SOCK;
      if (!agent) throw new RemoteError('agent-unavailable', `agent authentication needs an SSH agent, but SSH_AUTH_SOCK is not set for the console`);
      return { type: 'agent', username, agent };
    }
  }
}

function authRefused(target: ConnectTarget, attempt: AuthAttempt): RemoteError {
  const offered = attempt.methodsLeft?.length ? ` (it accepts: ${attempt.methodsLeft.join(', ')})` : '';
  const label = targetLabel(target);
  switch (target.auth.kind) {
    case 'key':
      if (attempt.methodsLeft && !attempt.methodsLeft.includes('publickey')) return new RemoteError('key-rejected', `${label} does not accept key authentication${offered}`);
      return new RemoteError('key-rejected', `${label} refused the key ${target.auth.keyFile} (is its public key in ~${target.user}/.ssh/authorized_keys?)`);
    case 'password':
      if (attempt.methodsLeft && !attempt.methodsLeft.includes('password')) return new RemoteError('password-rejected', `${label} does not accept password authentication${offered}`);
      return new RemoteError('password-rejected', `${label} refused the password`);
    case 'agent':
      return new RemoteError('key-rejected', `${label} refused every key the SSH agent offered${offered}`);
  }
}

/**
 * Connects and authenticates. Resolves with a ready client whose keepalive is on; the caller owns it
 * (it must listen for 'error' and 'close'). Rejects with one RemoteError.
 */
export async function connectSsh(target: ConnectTarget, opts: ConnectOptions): Promise<SshConnection> {
  const label = targetLabel(target);
  const report = (step: ConnectStep): void => opts.onStep?.(step);

  let transport: Duplex;
  try {
    transport = await openTransport(target, opts);
  } catch (error) {
    const remote = error instanceof RemoteError ? error : new RemoteError('io', String(error));
    report({ step: 'tcp', ok: false, detail: remote.message, error: remote });
    throw remote;
  }
  report({ step: 'tcp', ok: true, detail: `connected to ${target.host}:${target.port}${opts.via ? ` through ${opts.via.label}` : ''}` });

  const knownTypes = await opts.knownHosts.knownKeyTypes(target.host, target.port).catch(() => [] as string[]);
  const client = new Client();
  let verdict: HostKeyVerdict | undefined;
  let presentedKey: Buffer | undefined;
  let verifyFailure: RemoteError | undefined;
  const attempt: AuthAttempt = { tried: false };

  const config: ConnectConfig = {
    sock: transport as never,
    host: target.host,
    port: target.port,
    username: target.user,
    readyTimeout: opts.handshakeTimeoutMs ?? CONNECT_DEFAULTS.handshakeTimeoutMs,
    keepaliveInterval: opts.keepaliveIntervalMs ?? CONNECT_DEFAULTS.keepaliveIntervalMs,
    keepaliveCountMax: opts.keepaliveCountMax ?? CONNECT_DEFAULTS.keepaliveCountMax,
    // Ask for a key type we already know first, as OpenSSH does, so a known host is not "unknown".
    ...preferKnownKeyTypes(knownTypes),
    hostVerifier: (key: Buffer, verify: (ok: boolean) => void) => {
      presentedKey = key;
      opts.knownHosts.check(target.host, target.port, key).then(
        (result) => {
          verdict = result;
          verify(result.status === 'trusted');
        },
        (error: unknown) => {
          verifyFailure = new RemoteError('io', `cannot check the host key of ${label}: ${(error as Error).message}`);
          verify(false);
        },
      );
    },
    authHandler: (methodsLeft, _partial, next) => {
      // Called once to start, and again after the server refused: then we stop (one method only).
      if (attempt.tried) {
        attempt.methodsLeft = methodsLeft ?? undefined;
        next(false as never);
        return;
      }
      attempt.tried = true;
      authFor(target, opts).then(
        (auth) => next(auth),
        (error: unknown) => {
          attempt.localError = error instanceof RemoteError ? error : new RemoteError('key-file', String(error));
          next(false as never);
        },
      );
    },
  };

  return new Promise<SshConnection>((resolve, reject) => {
    let settled = false;
    let hostKeyReported = false;
    const reportHostKey = (): void => {
      if (hostKeyReported || !verdict) return;
      hostKeyReported = true;
      if (verdict.status === 'trusted') {
        report({ step: 'host-key', ok: true, detail: `${verdict.entry.keyType} key known (${verdict.entry.file}:${verdict.entry.line})` });
      } else {
        const error = verdictError(verdict)!;
        report({ step: 'host-key', ok: false, detail: error.message, error });
      }
    };
    const fail = (error: RemoteError): void => {
      if (settled) return;
      settled = true;
      reportHostKey();
      if (verdict?.status === 'trusted' && error.code !== 'handshake-timeout') report({ step: 'auth', ok: false, detail: error.message, error });
      client.end();
      transport.destroy();
      reject(error);
    };
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      reportHostKey();
      report({ step: 'auth', ok: true, detail: `logged in as ${target.user} (${target.auth.kind})` });
      resolve({ client, hostKey: hostKeyInfo(target.host, target.port, presentedKey!) });
    });
    client.on('error', (error: Error & { level?: string; code?: string }) => {
      if (verifyFailure) return fail(verifyFailure);
      if (verdict && verdict.status !== 'trusted') return fail(verdictError(verdict)!);
      if (attempt.localError) return fail(attempt.localError);
      if (error.level === 'client-authentication') return fail(authRefused(target, attempt));
      if (error.level === 'client-timeout') {
        return fail(new RemoteError('handshake-timeout', `${label} accepted the TCP connection but no SSH handshake completed in time`, { cause: error.message }));
      }
      if (error.code) return fail(socketError(error as NodeJS.ErrnoException, `${target.host}:${target.port}`));
      fail(new RemoteError('connection-lost', `the connection to ${label} failed during the handshake: ${error.message}`, { cause: error.message }));
    });
    client.on('close', () => fail(new RemoteError('connection-lost', `${label} closed the connection during the handshake`)));
    client.connect(config);
  });
}

const PREFERABLE_HOST_KEY_ALGORITHMS = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);

/** Moves the algorithms of key types on record to the front (ssh2's prepend skips listed ones, so remove first). */
function preferKnownKeyTypes(knownTypes: string[]): Pick<ConnectConfig, 'algorithms'> {
  const algorithms = knownTypes.flatMap(hostKeyAlgorithmsFor).filter((a) => PREFERABLE_HOST_KEY_ALGORITHMS.has(a));
  if (algorithms.length === 0) return {};
  return { algorithms: { serverHostKey: { remove: algorithms, prepend: algorithms, append: [] } as never } };
}
