// known_hosts parsing and host key decisions, checked against files and fingerprints made by the real
// ssh-keygen (hashed with `ssh-keygen -H`, fingerprints from `ssh-keygen -lf`).
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KnownHosts, fingerprintOf, hostFieldMatches, knownHostName, parseKnownHosts } from '../../electron/services/remote/known-hosts.js';
import { isRemoteError, type HostKeyInfo } from '../../electron/services/remote/remote-shell.js';

interface GeneratedKey {
  type: string;
  blob: Buffer;
  /** The public key line: 'type base64 comment'. */
  line: string;
  /** What `ssh-keygen -lf` prints as the fingerprint. */
  fingerprint: string;
}

let dir: string;
const keys: Record<string, GeneratedKey> = {};

function generate(name: string, args: string[]): GeneratedKey {
  const file = join(dir, name);
  execFileSync('ssh-keygen', ['-q', ...args, '-N', '', '-C', name, '-f', file]);
  const line = execFileSync('cat', [`${file}.pub`]).toString().trim();
  const [type, base64] = line.split(' ');
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`]).toString().split(' ')[1];
  return { type, blob: Buffer.from(base64, 'base64'), line, fingerprint };
}

function info(host: string, port: number, key: GeneratedKey): HostKeyInfo {
  return { host, port, keyType: key.type, fingerprint: key.fingerprint, key: key.blob.toString('base64') };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-known-hosts-'));
  keys.ed = generate('ed', ['-t', 'ed25519']);
  keys.ed2 = generate('ed2', ['-t', 'ed25519']);
  keys.ecdsa = generate('ecdsa', ['-t', 'ecdsa', '-b', '256']);
  keys.rsa = generate('rsa', ['-t', 'rsa', '-b', '2048']);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('fingerprints', () => {
  it('equal what ssh-keygen -lf prints, for every key type', () => {
    for (const key of Object.values(keys)) expect(fingerprintOf(key.blob)).toBe(key.fingerprint);
  });
});

describe('parsing and matching', () => {
  it('reads plain, [host]:port, pattern and marker lines; skips bad ones with a reason', () => {
    const [, ed] = keys.ed.line.split(' ');
    const text = [
      '# a comment',
      '',
      `h1.example,198.51.100.1 ssh-ed25519 ${ed}`,
      `[198.51.100.2]:2222 ssh-ed25519 ${ed} some comment`,
      `@revoked * ssh-ed25519 ${ed}`,
      `@cert-authority *.example ssh-ed25519 ${ed}`,
      `@bogus h ssh-ed25519 ${ed}`,
      `h2 ssh-rsa ${ed}`, // type field does not match the key
      `h3 ssh-ed25519 not*base64`,
      `h4 ssh-ed25519`,
    ].join('\n');
    const { entries, skipped } = parseKnownHosts(text, 'f');
    expect(entries.map((e) => [e.line, e.hosts, e.marker])).toEqual([
      [3, 'h1.example,198.51.100.1', undefined],
      [4, '[198.51.100.2]:2222', undefined],
      [5, '*', 'revoked'],
      [6, '*.example', 'cert-authority'],
    ]);
    expect(skipped.map((s) => s.line)).toEqual([7, 8, 9, 10]);
  });

  it('names a host [host]:port unless the port is 22, as OpenSSH does', () => {
    expect(knownHostName('Example.COM', 22)).toBe('example.com');
    expect(knownHostName('198.51.100.1', 2222)).toBe('[198.51.100.1]:2222');
    expect(hostFieldMatches('198.51.100.1', '198.51.100.1', 22)).toBe(true);
    expect(hostFieldMatches('198.51.100.1', '198.51.100.1', 2222)).toBe(false);
    expect(hostFieldMatches('[198.51.100.1]:2222', '198.51.100.1', 2222)).toBe(true);
    expect(hostFieldMatches('[198.51.100.1]:2222', '198.51.100.1', 22)).toBe(false);
  });

  it('applies wildcards and negation', () => {
    expect(hostFieldMatches('*.example.com', 'db.example.com', 22)).toBe(true);
    expect(hostFieldMatches('*.example.com', 'example.com', 22)).toBe(false);
    expect(hostFieldMatches('198.51.100.?', '198.51.100.7', 22)).toBe(true);
    expect(hostFieldMatches('198.51.100.?', '198.51.100.17', 22)).toBe(false);
    expect(hostFieldMatches('*.example.com,!bad.example.com', 'bad.example.com', 22)).toBe(false);
    expect(hostFieldMatches('*.example.com,!bad.example.com', 'good.example.com', 22)).toBe(true);
    expect(hostFieldMatches('a.b', 'aXb', 22)).toBe(false); // '.' is literal
  });

  it('matches names hashed by ssh-keygen -H, including [host]:port, and nothing else', async () => {
    const file = join(dir, 'hashed_known_hosts');
    const [, ed] = keys.ed.line.split(' ');
    const [, ecdsa] = keys.ecdsa.line.split(' ');
    await writeFile(file, `198.51.100.1 ssh-ed25519 ${ed}\n[198.51.100.2]:2222 ecdsa-sha2-nistp256 ${ecdsa}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file]);
    const { entries } = parseKnownHosts(await readFile(file, 'utf8'), file);
    expect(entries).toHaveLength(2);
    for (const entry of entries) expect(entry.hosts).toMatch(/^\|1\|[^|]+\|[^|]+$/);
    const [first, second] = entries;
    expect(hostFieldMatches(first.hosts, '198.51.100.1', 22)).toBe(true);
    expect(hostFieldMatches(first.hosts, '198.51.100.2', 22)).toBe(false);
    expect(hostFieldMatches(second.hosts, '198.51.100.2', 2222)).toBe(true);
    expect(hostFieldMatches(second.hosts, '198.51.100.2', 22)).toBe(false);
    // ssh-keygen -F finds the same entries, confirming the reading of the hash.
    expect(execFileSync('ssh-keygen', ['-F', '[198.51.100.2]:2222', '-f', file]).toString()).toContain(second.hosts);
  });
});

describe('KnownHosts decisions', () => {
  async function setup(userText: string): Promise<KnownHosts> {
    const sub = await mkdtemp(join(dir, 'case-'));
    const userFile = join(sub, 'user_known_hosts');
    await writeFile(userFile, userText);
    return new KnownHosts({ consoleFile: join(sub, 'console', 'known_hosts'), readOnlyFiles: [userFile, join(sub, 'missing')] });
  }

  it('trusts a key found in the user file (hashed), reports an unknown one with its fingerprint', async () => {
    const sub = await mkdtemp(join(dir, 'hashed-'));
    const userFile = join(sub, 'known_hosts');
    await writeFile(userFile, `[198.51.100.3]:22 ${keys.ed.line}\n198.51.100.3 ${keys.ed.line}\n`);
    execFileSync('ssh-keygen', ['-q', '-H', '-f', userFile]);
    const known = new KnownHosts({ consoleFile: join(sub, 'c', 'known_hosts'), readOnlyFiles: [userFile] });
    expect((await known.check('198.51.100.3', 22, keys.ed.blob)).status).toBe('trusted');
    const unknown = await known.check('198.51.100.4', 22, keys.ed.blob);
    expect(unknown).toMatchObject({ status: 'unknown', hostKey: info('198.51.100.4', 22, keys.ed) });
  });

  it('an unknown key of another type is unknown, naming the types on record', async () => {
    const known = await setup(`198.51.100.5 ${keys.ed.line}\n`);
    expect(await known.check('198.51.100.5', 22, keys.ecdsa.blob)).toMatchObject({ status: 'unknown', otherKeyTypes: ['ssh-ed25519'] });
  });

  it('a different key of the same type is changed, naming the old fingerprint and where it is recorded', async () => {
    const known = await setup(`198.51.100.5 ${keys.ed.line}\n`);
    const verdict = await known.check('198.51.100.5', 22, keys.ed2.blob);
    expect(verdict.status).toBe('changed');
    if (verdict.status !== 'changed') return;
    expect(verdict.hostKey.fingerprint).toBe(keys.ed2.fingerprint);
    expect(verdict.known.map((e) => fingerprintOf(Buffer.from(e.key, 'base64')))).toEqual([keys.ed.fingerprint]);
  });

  it('accept records the key (0600 file in a 0700 dir) and the key is then trusted', async () => {
    const known = await setup('');
    await known.accept(info('198.51.100.6', 2200, keys.rsa));
    expect((await known.check('198.51.100.6', 2200, keys.rsa.blob)).status).toBe('trusted');
    expect((await known.check('198.51.100.6', 22, keys.rsa.blob)).status).toBe('unknown');
    expect((await stat(known.consoleFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(known.consoleFile, '..'))).mode & 0o777).toBe(0o700);
    // The file is one OpenSSH can read.
    expect(execFileSync('ssh-keygen', ['-F', '[198.51.100.6]:2200', '-f', known.consoleFile]).toString()).toContain(keys.rsa.blob.toString('base64'));
  });

  it('accept refuses a key whose fingerprint is not the one shown, and a changed key', async () => {
    const known = await setup(`198.51.100.7 ${keys.ed.line}\n`);
    const forged = { ...info('198.51.100.8', 22, keys.ed), fingerprint: keys.ed2.fingerprint };
    await expect(known.accept(forged)).rejects.toThrow(/fingerprint/);
    const error = await known.accept(info('198.51.100.7', 22, keys.ed2)).catch((e: unknown) => e);
    expect(isRemoteError(error, 'host-key-changed')).toBe(true);
    expect((error as Error).message).toContain(keys.ed.fingerprint);
    expect((error as Error).message).toContain(keys.ed2.fingerprint);
    expect((await known.check('198.51.100.7', 22, keys.ed2.blob)).status).toBe('changed');
  });

  it('replace needs the previous fingerprint, then trusts only the new key; the user file is untouched', async () => {
    const userText = `198.51.100.9 ${keys.ed.line}\n`;
    const known = await setup(userText);
    await expect(known.replace(info('198.51.100.9', 22, keys.ed2), keys.ecdsa.fingerprint)).rejects.toThrow(keys.ed.fingerprint);
    await known.replace(info('198.51.100.9', 22, keys.ed2), keys.ed.fingerprint);
    expect((await known.check('198.51.100.9', 22, keys.ed2.blob)).status).toBe('trusted');
    // The console's file decides for this key type now: the old key is no longer trusted.
    expect((await known.check('198.51.100.9', 22, keys.ed.blob)).status).toBe('changed');
    const userFile = join(known.consoleFile, '..', '..', 'user_known_hosts');
    expect(await readFile(userFile, 'utf8')).toBe(userText);
    // Replacing again drops the console's previous key of that type rather than piling up keys.
    await known.replace(info('198.51.100.9', 22, keys.ed), keys.ed2.fingerprint);
    const consoleEntries = parseKnownHosts(await readFile(known.consoleFile, 'utf8'), known.consoleFile).entries;
    expect(consoleEntries.map((e) => e.key)).toEqual([keys.ed.blob.toString('base64')]);
  });

  it('replace of a key nobody recorded is refused: that is an accept', async () => {
    const known = await setup('');
    const error = await known.replace(info('198.51.100.10', 22, keys.ed), keys.ed2.fingerprint).catch((e: unknown) => e);
    expect(isRemoteError(error, 'host-key-unknown')).toBe(true);
  });

  it('a @revoked key is refused even when another line trusts it', async () => {
    const known = await setup(`198.51.100.11 ${keys.ed.line}\n@revoked * ${keys.ed.line}\n`);
    expect((await known.check('198.51.100.11', 22, keys.ed.blob)).status).toBe('revoked');
    await expect(known.accept(info('198.51.100.12', 22, keys.ed))).rejects.toThrow(/revoked/);
  });

  it('forget drops the console entries of one host only', async () => {
    const known = await setup('');
    await known.accept(info('198.51.100.13', 22, keys.ed));
    await known.accept(info('198.51.100.14', 22, keys.ed));
    await known.forget('198.51.100.13', 22);
    expect((await known.check('198.51.100.13', 22, keys.ed.blob)).status).toBe('unknown');
    expect((await known.check('198.51.100.14', 22, keys.ed.blob)).status).toBe('trusted');
  });
});
