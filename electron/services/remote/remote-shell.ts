// What code running on the console needs from a machine it operates: run a command, copy a file
// each way, reach a port on the machine's loopback, follow a growing file, and know whether the
// link is up. Two implementations: SshShell (a host through the HostConnections pool, ssh2) and
// LocalShell (this machine, child_process + fs: fast tests of code built on top).
//
// Conventions every implementation keeps:
// - Relative remote paths are relative to the login user's home directory (SFTP and exec both start
//   there); `~/` at the start of a path means the same. Absolute paths are used as given.
// - `exec` runs `cmd` through the user's shell (non-login, as `ssh host cmd` does). Wrap it in
//   `bash -lc` yourself when a login environment matters (PATH from /etc/profile, e.g. to find node).
// - A non-zero exit is a result, not an error. Errors are RemoteError with a code from RemoteErrorCode.
// - Every exec has a timeout (default DEFAULT_EXEC_TIMEOUT_MS); stdout and stderr are read to the end
//   and each kept up to MAX_EXEC_OUTPUT_BYTES (the rest is read and dropped, `truncated` is set).
//   SshShell runs at most 8 execs at once per connection (OpenSSH's MaxSessions is 10); more wait.
// - A link that drops fails the operations in flight with 'connection-lost'; while the pool
//   reconnects with backoff (state 'reconnecting') new operations fail at once the same way, and
//   forwards and followers carry on by themselves once it is back.

export const DEFAULT_EXEC_TIMEOUT_MS = 30_000;
export const MAX_EXEC_OUTPUT_BYTES = 16 * 1024 * 1024;

/** The link's state as the UI shows it. */
export type ConnectionState =
  | 'idle' // never asked to connect, or closed by the console
  | 'connecting'
  | 'connected'
  | 'reconnecting' // was connected, lost the link, retrying with backoff
  | 'unreachable' // could not connect (network, refused, timeout); retried on the next use
  | 'key-not-trusted' // unknown or changed host key: waits for an explicit decision
  | 'auth-failed'; // the server refused our credentials, or the key file/passphrase is wrong

export type RemoteErrorCode =
  | 'unreachable' // no route, host down, TCP connect timed out
  | 'refused' // TCP connection refused (nothing listens on the port)
  | 'handshake-timeout' // TCP connected but no SSH handshake in time
  | 'host-key-unknown' // detail.hostKey: the key to accept explicitly
  | 'host-key-changed' // detail.hostKey + detail.knownFingerprints: refused, never replaced silently
  | 'host-key-revoked' // the key is marked @revoked in a known_hosts file
  | 'key-rejected' // the server refused the private key (or the agent's keys) for this user
  | 'key-file' // the private key file cannot be read or parsed
  | 'passphrase-needed' // the key file is encrypted and no passphrase is stored
  | 'bad-passphrase' // the stored passphrase does not decrypt the key file
  | 'password-rejected'
  | 'password-missing' // password auth chosen but no password stored (e.g. web mode after a restart)
  | 'agent-unavailable' // agent auth chosen but SSH_AUTH_SOCK is not set
  | 'jump-failed' // the jump host could not open a channel to the target
  | 'connection-lost' // the link dropped during an operation (keepalive timeout, reset)
  | 'command-timeout'
  | 'not-found' // remote or local file missing
  | 'io' // any other file or channel failure (detail has the underlying message)
  | 'closed' // the shell was closed by the console
  | 'cancelled'; // the caller's AbortSignal stopped it (TransferOptions.signal)

export interface HostKeyInfo {
  host: string;
  port: number;
  /** As the server names it: 'ssh-ed25519', 'ecdsa-sha2-nistp256', 'ssh-rsa', ... */
  keyType: string;
  /** 'SHA256:…' exactly as `ssh-keygen -lf` prints it. */
  fingerprint: string;
  /** The key itself (base64 of the wire blob, the second field of a known_hosts line): what `accept` stores. */
  key: string;
}

export interface RemoteErrorDetail {
  hostKey?: HostKeyInfo;
  /** For host-key-changed: fingerprints on record for this host and key type, and the file they come from. */
  knownFingerprints?: { fingerprint: string; file: string; line: number }[];
  /** The underlying error's message (ssh2, fs, errno), for the log. */
  cause?: string;
}

export class RemoteError extends Error {
  constructor(
    readonly code: RemoteErrorCode,
    message: string,
    readonly detail: RemoteErrorDetail = {},
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

export function isRemoteError(error: unknown, code?: RemoteErrorCode): error is RemoteError {
  return error instanceof RemoteError && (code === undefined || error.code === code);
}

export interface ExecOptions {
  timeoutMs?: number;
  stdin?: string | Buffer;
}

export interface ExecResult {
  /** null when the command ended by a signal, or the server sent no exit status. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  /** Set when stdout or stderr passed MAX_EXEC_OUTPUT_BYTES. */
  truncated?: boolean;
}

export interface TransferOptions {
  /** Mode of the file written (upload: remote file; download: local file). Default 0o644 / 0o600. */
  mode?: number;
  onProgress?: (sent: number, total: number) => void;
  /** Stops the transfer (RemoteError 'cancelled'); the partial temp file is removed as on any failure. */
  signal?: AbortSignal;
}

/** The error of a transfer its signal stopped. */
export function cancelledTransfer(what: string): RemoteError {
  return new RemoteError('cancelled', `${what} was cancelled`);
}

export interface ForwardedPort {
  /** A 127.0.0.1 listener: each connection to it is carried to remoteHost:remotePort as seen from the host. */
  localPort: number;
  close(): Promise<void>;
}

export interface FollowOptions {
  /** Byte offset to start from; default: the current end of the file (only new bytes). */
  from?: number | 'start' | 'end';
  /** Called once when following fails for good (file unreadable); a lost link is retried, not reported here. */
  onError?: (error: RemoteError) => void;
}

export interface FileFollower {
  stop(): void;
}

export type StateListener = (state: ConnectionState, error?: RemoteError) => void;

export interface RemoteShell {
  /** A label for logs and messages: 'user@address:port' or 'local'. */
  readonly label: string;
  readonly state: ConnectionState;
  /** The error that put the shell in its current state, if any. */
  readonly lastError: RemoteError | undefined;
  /** State changes; returns an unsubscribe function. */
  on(event: 'state', listener: StateListener): () => void;

  exec(cmd: string, opts?: ExecOptions): Promise<ExecResult>;
  /** Writes to `remotePath.tmp-<random>` then renames, so a cut upload never leaves a complete-looking file. */
  upload(localPath: string, remotePath: string, opts?: TransferOptions): Promise<void>;
  download(remotePath: string, localPath: string, opts?: TransferOptions): Promise<void>;
  forwardLocal(remotePort: number, remoteHost?: string): Promise<ForwardedPort>;
  /** Calls onChunk with text appended to the file; survives a lost link (resumes at the same offset). */
  followFile(remotePath: string, onChunk: (text: string) => void, opts?: FollowOptions): FileFollower;
}

/** Quotes one argument for a POSIX shell. */
export function shellQuote(arg: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** '~/x' → 'x', '~' → '.': both SFTP and exec resolve relative paths against the login home. */
export function homeRelative(remotePath: string): string {
  if (remotePath === '~') return '.';
  if (remotePath.startsWith('~/')) return remotePath.slice(2) || '.';
  return remotePath;
}
