// Host keys: the console's own known-hosts file (read and written here, OpenSSH format) and the user's
// ~/.ssh/known_hosts (read only). A key is trusted only when a file says so; an unknown key is
// returned for an explicit accept, a changed key is refused naming both fingerprints and is replaced
// only by the explicit `replace` call. Matching follows OpenSSH: `host` for port 22, `[host]:port`
// otherwise; comma-separated patterns with * and ?, `!` negation; hashed `|1|salt|hmac` names;
// `@revoked` lines refuse a key; `@cert-authority` lines are skipped (host certificates unsupported).
import { createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { writePrivateFile } from './private-files.js';
import { RemoteError, type HostKeyInfo } from './remote-shell.js';

/** Files larger than this are read only up to it: a known_hosts file is a few KiB in practice. */
const MAX_FILE_BYTES = 8 * 1024 * 1024;
const MAX_LINE_CHARS = 64 * 1024;

export interface KnownHostEntry {
  file: string;
  /** 1-based line number in the file. */
  line: number;
  marker?: 'revoked' | 'cert-authority';
  /** The host field as written: a pattern list or one hashed name. */
  hosts: string;
  keyType: string;
  /** base64 of the key blob. */
  key: string;
}

export interface KnownHostsParseResult {
  entries: KnownHostEntry[];
  /** Lines that could not be used, with why; they are skipped, never fatal. */
  skipped: { line: number; reason: string }[];
}

export function parseKnownHosts(text: string, file: string): KnownHostsParseResult {
  const entries: KnownHostEntry[] = [];
  const skipped: { line: number; reason: string }[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].trim();
    if (raw === '' || raw.startsWith('#')) continue;
    if (raw.length > MAX_LINE_CHARS) {
      skipped.push({ line: i + 1, reason: 'line too long' });
      continue;
    }
    const fields = raw.split(/[ \t]+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0].startsWith('@')) {
      const name = fields.shift()!;
      if (name === '@revoked') marker = 'revoked';
      else if (name === '@cert-authority') marker = 'cert-authority';
      else {
        skipped.push({ line: i + 1, reason: `unknown marker ${name}` });
        continue;
      }
    }
    if (fields.length < 3) {
      skipped.push({ line: i + 1, reason: 'expected: hosts key-type key' });
      continue;
    }
    const [hosts, keyType, key] = fields;
    const blob = decodeBase64Strict(key);
    if (!blob) {
      skipped.push({ line: i + 1, reason: 'the key is not base64' });
      continue;
    }
    const embedded = keyTypeOf(blob);
    if (embedded !== keyType) {
      skipped.push({ line: i + 1, reason: `the key is of type ${embedded ?? '(unreadable)'}, the line says ${keyType}` });
      continue;
    }
    entries.push({ file, line: i + 1, ...(marker ? { marker } : {}), hosts, keyType, key: blob.toString('base64') });
  }
  return { entries, skipped };
}

function decodeBase64Strict(text: string): Buffer | null {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return null;
  const blob = Buffer.from(text, 'base64');
  return blob.length > 0 ? blob : null;
}

/** The key type named at the start of an SSH public key blob ('ssh-ed25519', ...), or null. */
export function keyTypeOf(blob: Buffer): string | null {
  if (blob.length < 4) return null;
  const length = blob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > blob.length) return null;
  const name = blob.subarray(4, 4 + length).toString('latin1');
  return /^[\x21-\x7e]+$/.test(name) ? name : null;
}

/** 'SHA256:' + unpadded base64 of the blob's SHA-256: what `ssh-keygen -lf` prints. */
export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

/** The name a host is looked up and recorded under: `host` on port 22, `[host]:port` otherwise. */
export function knownHostName(host: string, port: number): string {
  const name = host.toLowerCase();
  return port === 22 ? name : `[${name}]:${port}`;
}

/** OpenSSH's match_pattern: `*` any run, `?` one character; case-insensitive for host names. */
function matchPattern(name: string, pattern: string): boolean {
  const source = pattern
    .toLowerCase()
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[.+^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${source}$`, 's').test(name);
}

function matchHashed(name: string, field: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = field.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const hash = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || hash.length !== 20) return false;
  return createHmac('sha1', salt).update(name).digest().equals(hash);
}

/** Whether an entry's host field names `host` on `port`. */
export function hostFieldMatches(field: string, host: string, port: number): boolean {
  const name = knownHostName(host, port);
  if (field.startsWith('|')) return matchHashed(name, field);
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (matchPattern(name, pattern.slice(1))) return false; // a negated match rules the line out
    } else if (matchPattern(name, pattern)) {
      matched = true;
    }
  }
  return matched;
}

export type HostKeyVerdict =
  | { status: 'trusted'; entry: KnownHostEntry }
  | { status: 'unknown'; hostKey: HostKeyInfo; otherKeyTypes: string[] }
  | { status: 'changed'; hostKey: HostKeyInfo; known: KnownHostEntry[] }
  | { status: 'revoked'; hostKey: HostKeyInfo; entry: KnownHostEntry };

export interface KnownHostsOptions {
  /** The console's own file: read and written. */
  consoleFile: string;
  /** Files only read (the user's ~/.ssh/known_hosts); a missing file is fine. */
  readOnlyFiles: string[];
  /** Called with lines that were skipped, once per read. */
  onSkipped?: (file: string, skipped: { line: number; reason: string }[]) => void;
}

export function hostKeyInfo(host: string, port: number, blob: Buffer): HostKeyInfo {
  const keyType = keyTypeOf(blob);
  if (!keyType) throw new RemoteError('io', `the server at ${host}:${port} sent an unreadable host key`);
  return { host, port, keyType, fingerprint: fingerprintOf(blob), key: blob.toString('base64') };
}

/** ssh2 algorithm names for a known_hosts key type, to ask the server for a key we already know first. */
export function hostKeyAlgorithmsFor(keyType: string): string[] {
  return keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [keyType];
}

export class KnownHosts {
  private writes: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: KnownHostsOptions) {}

  get consoleFile(): string {
    return this.opts.consoleFile;
  }

  /** Entries of every file that name this host (console file first). */
  async entriesFor(host: string, port: number): Promise<KnownHostEntry[]> {
    const all = [...(await this.readFile(this.opts.consoleFile))];
    for (const file of this.opts.readOnlyFiles) all.push(...(await this.readFile(file)));
    return all.filter((entry) => hostFieldMatches(entry.hosts, host, port));
  }

  /** Key types on record for the host, to prefer them when negotiating. */
  async knownKeyTypes(host: string, port: number): Promise<string[]> {
    const types = (await this.entriesFor(host, port)).filter((e) => !e.marker).map((e) => e.keyType);
    return [...new Set(types)];
  }

  /**
   * For each key type, the console's file decides when it has a key of that type for the host;
   * otherwise the user's files do. The presented key is trusted only if the deciding entries hold it.
   */
  async check(host: string, port: number, blob: Buffer): Promise<HostKeyVerdict> {
    const hostKey = hostKeyInfo(host, port, blob);
    const entries = await this.entriesFor(host, port);
    const revoked = entries.find((e) => e.marker === 'revoked' && e.key === hostKey.key);
    if (revoked) return { status: 'revoked', hostKey, entry: revoked };
    const plain = entries.filter((e) => !e.marker);
    const ofType = plain.filter((e) => e.keyType === hostKey.keyType);
    const fromConsole = ofType.filter((e) => e.file === this.opts.consoleFile);
    const deciding = fromConsole.length > 0 ? fromConsole : ofType;
    const match = deciding.find((e) => e.key === hostKey.key);
    if (match) return { status: 'trusted', entry: match };
    if (deciding.length > 0) return { status: 'changed', hostKey, known: deciding };
    const otherKeyTypes = [...new Set(plain.map((e) => e.keyType))];
    return { status: 'unknown', hostKey, otherKeyTypes };
  }

  /**
   * Records a key the user accepted. Refuses when a different key of the same type is on record
   * (that is `replace`), and when the key does not match the fingerprint the user was shown.
   */
  accept(hostKey: HostKeyInfo): Promise<void> {
    return this.write(async () => {
      const blob = this.validated(hostKey);
      const verdict = await this.check(hostKey.host, hostKey.port, blob);
      if (verdict.status === 'trusted') return;
      if (verdict.status === 'revoked') throw new RemoteError('host-key-revoked', `the key ${hostKey.fingerprint} of ${hostKey.host}:${hostKey.port} is revoked in ${verdict.entry.file}`);
      if (verdict.status === 'changed') {
        throw new RemoteError('host-key-changed', changedMessage(hostKey, verdict.known), { hostKey, knownFingerprints: describe(verdict.known) });
      }
      await this.rewriteConsoleFile((entries) => [...entries, this.lineFor(hostKey)]);
    });
  }

  /**
   * The deliberate replacement of a changed key: drops the console file's keys of this type for the
   * host and records the new one. `previousFingerprint` must name the key being replaced (as the
   * warning showed it), so a second, different change is not replaced blindly.
   */
  replace(hostKey: HostKeyInfo, previousFingerprint: string): Promise<void> {
    return this.write(async () => {
      const blob = this.validated(hostKey);
      const verdict = await this.check(hostKey.host, hostKey.port, blob);
      if (verdict.status === 'trusted') return;
      if (verdict.status === 'revoked') throw new RemoteError('host-key-revoked', `the key ${hostKey.fingerprint} of ${hostKey.host}:${hostKey.port} is revoked in ${verdict.entry.file}`);
      if (verdict.status !== 'changed') throw new RemoteError('host-key-unknown', `no key of type ${hostKey.keyType} is on record for ${hostKey.host}:${hostKey.port}: accept it instead`, { hostKey });
      const previous = describe(verdict.known).map((k) => k.fingerprint);
      if (!previous.includes(previousFingerprint)) {
        throw new RemoteError('host-key-changed', `the key on record for ${hostKey.host}:${hostKey.port} is ${previous.join(', ')}, not ${previousFingerprint}: check the host again`, { hostKey, knownFingerprints: describe(verdict.known) });
      }
      await this.rewriteConsoleFile((lines, entries) =>
        lines.filter((_line, i) => {
          const entry = entries.get(i + 1);
          return !(entry && !entry.marker && entry.keyType === hostKey.keyType && hostFieldMatches(entry.hosts, hostKey.host, hostKey.port));
        }).concat(this.lineFor(hostKey)),
      );
    });
  }

  /** Forgets every key the console recorded for the host (the user's files are never written). */
  forget(host: string, port: number): Promise<void> {
    return this.write(() =>
      this.rewriteConsoleFile((lines, entries) =>
        lines.filter((_line, i) => {
          const entry = entries.get(i + 1);
          return !(entry && hostFieldMatches(entry.hosts, host, port));
        }),
      ),
    );
  }

  private validated(hostKey: HostKeyInfo): Buffer {
    const blob = decodeBase64Strict(hostKey.key);
    if (!blob || keyTypeOf(blob) !== hostKey.keyType) throw new RemoteError('io', `the key given for ${hostKey.host}:${hostKey.port} is not a ${hostKey.keyType} key`);
    if (fingerprintOf(blob) !== hostKey.fingerprint) {
      throw new RemoteError('io', `the key given for ${hostKey.host}:${hostKey.port} has fingerprint ${fingerprintOf(blob)}, not ${hostKey.fingerprint}`);
    }
    return blob;
  }

  private lineFor(hostKey: HostKeyInfo): string {
    return `${knownHostName(hostKey.host, hostKey.port)} ${hostKey.keyType} ${hostKey.key}`;
  }

  private write<T>(work: () => Promise<T>): Promise<T> {
    const next = this.writes.then(work, work);
    this.writes = next.catch(() => undefined);
    return next;
  }

  private async rewriteConsoleFile(edit: (lines: string[], entries: Map<number, KnownHostEntry>) => string[]): Promise<void> {
    const file = this.opts.consoleFile;
    const text = await readText(file);
    const lines = text === '' ? [] : text.replace(/\n$/, '').split('\n');
    const entries = new Map(parseKnownHosts(text, file).entries.map((e) => [e.line, e]));
    const next = edit(lines, entries);
    await writePrivateFile(file, next.length ? next.join('\n') + '\n' : '');
  }

  private async readFile(file: string): Promise<KnownHostEntry[]> {
    const text = await readText(file);
    const { entries, skipped } = parseKnownHosts(text, file);
    if (skipped.length) this.opts.onSkipped?.(file, skipped);
    return entries;
  }
}

async function readText(file: string): Promise<string> {
  try {
    const buffer = await readFile(file);
    return buffer.subarray(0, MAX_FILE_BYTES).toString('utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

function describe(entries: KnownHostEntry[]): { fingerprint: string; file: string; line: number }[] {
  return entries.map((e) => ({ fingerprint: fingerprintOf(Buffer.from(e.key, 'base64')), file: e.file, line: e.line }));
}

export function changedMessage(hostKey: HostKeyInfo, known: KnownHostEntry[]): string {
  const old = describe(known)
    .map((k) => `${k.fingerprint} (${k.file}:${k.line})`)
    .join(', ');
  return (
    `WARNING: the ${hostKey.keyType} host key of ${hostKey.host}:${hostKey.port} has changed: ` +
    `it was ${old}, the server now presents ${hostKey.fingerprint}. Someone may be intercepting the connection, ` +
    `or the host was reinstalled. The connection was refused; replace the key only after checking it on the host.`
  );
}

export function unknownMessage(hostKey: HostKeyInfo): string {
  return `the host key of ${hostKey.host}:${hostKey.port} is not known: ${hostKey.keyType} ${hostKey.fingerprint}. Compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_${shortType(hostKey.keyType)}_key.pub) and accept it to connect.`;
}

function shortType(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ed25519';
  if (keyType.startsWith('ecdsa-')) return 'ecdsa';
  if (keyType === 'ssh-rsa') return 'rsa';
  return keyType;
}

/** The verdict as the error a connection attempt fails with (null when trusted). */
export function verdictError(verdict: HostKeyVerdict): RemoteError | null {
  switch (verdict.status) {
    case 'trusted':
      return null;
    case 'unknown':
      return new RemoteError('host-key-unknown', unknownMessage(verdict.hostKey), { hostKey: verdict.hostKey });
    case 'changed':
      return new RemoteError('host-key-changed', changedMessage(verdict.hostKey, verdict.known), { hostKey: verdict.hostKey, knownFingerprints: describe(verdict.known) });
    case 'revoked':
      return new RemoteError('host-key-revoked', `the host key ${verdict.hostKey.fingerprint} of ${verdict.hostKey.host}:${verdict.hostKey.port} is marked @revoked in ${verdict.entry.file}:${verdict.entry.line}; the connection was refused`, { hostKey: verdict.hostKey });
  }
}
