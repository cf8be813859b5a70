// SSH connections against the lab's real sshd hosts (run by test/remote/lab-runner.ts inside rc-op).
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HostConnections, type HostConnectionsOptions, type HostDirectory } from '../../electron/services/remote/host-connections.js';
import type { HostAuth, HostProfile } from '../../electron/services/remote/host-profile.js';
import { KnownHosts } from '../../electron/services/remote/known-hosts.js';
import { isRemoteError, type ConnectionState, type RemoteError } from '../../electron/services/remote/remote-shell.js';
import { hostByIndex, linkDown, linkUp, regenerateHostKey, requireLab, restoreHostKey, type Lab, type LabHost } from './lab.js';

const lab: Lab = requireLab();
const [h1, h2, h3, h4] = [1, 2, 3, 4].map((i) => hostByIndex(lab, i));

let dir: string;
let knownHosts: KnownHosts;
const profiles = new Map<string, { profile: HostProfile; secret?: string }>();
const directory: HostDirectory = {
  resolve: async (id) => {
    const entry = profiles.get(id);
    if (!entry) throw new Error(`no profile ${id}`);
    return entry;
  },
};
const pools: HostConnections[] = [];
const logs: string[] = [];

function pool(opts: Partial<Pick<HostConnectionsOptions, 'agentSocket' | 'handshakeTimeoutMs'>> = {}): HostConnections {
  const connections = new HostConnections({
    directory,
    knownHosts,
    log: (entry) => logs.push(`${entry.level} ${entry.host} ${entry.code ?? ''} ${entry.message}`),
    tcpTimeoutMs: 4_000,
    handshakeTimeoutMs: 10_000,
    keepaliveIntervalMs: 1_000,
    keepaliveCountMax: 2,
    reconnectInitialMs: 200,
    reconnectMaxMs: 1_000,
    followPollMs: 50,
    ...opts,
  });
  pools.push(connections);
  return connections;
}

function profile(id: string, host: Pick<LabHost, 'address' | 'user'> & { port?: number }, auth: HostAuth, extra: { secret?: string; jumpHostId?: string } = {}): string {
  profiles.set(id, {
    profile: { id, name: id, address: host.address, port: host.port ?? 22, user: host.user, auth, jumpHostId: extra.jumpHostId ?? null, groups: [], createdAt: 0, updatedAt: 0 },
    ...(extra.secret !== undefined ? { secret: extra.secret } : {}),
  });
  return id;
}

const key = (file = lab.clientKey): HostAuth => ({ kind: 'key', keyFile: file });

async function failure(promise: Promise<unknown>): Promise<RemoteError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  if (!isRemoteError(error)) throw new Error(`expected a RemoteError, got ${String(error)}`);
  return error;
}

/** Trusts the lab host's key as built (the lab file holds it, read from the host's .pub file). */
async function trust(host: LabHost): Promise<void> {
  const [keyType, blob] = host.hostKeyPublic.split(' ');
  await knownHosts.accept({ host: host.address, port: host.port, keyType, key: blob, fingerprint: host.hostKeyFingerprint });
}

function countInLog(host: LabHost, text: string): number {
  return readFileSync(host.sshdLog, 'utf8').split(text).length - 1;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-ssh-lab-'));
  // A user known_hosts that is empty: the machine's own ~/.ssh/known_hosts plays no part in these tests.
  await writeFile(join(dir, 'user_known_hosts'), '');
  knownHosts = new KnownHosts({ consoleFile: join(dir, 'console', 'known_hosts'), readOnlyFiles: [join(dir, 'user_known_hosts')] });
});
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.closeAll()));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('host keys against real sshd', () => {
  it('an unknown key stops before authentication and returns the fingerprint ssh-keygen -lf prints; accepted, it connects', async () => {
    const connections = pool();
    const id = profile('h1', h1, key());
    const acceptedBefore = countInLog(h1, 'Accepted publickey');
    const error = await failure(connections.shell(id).exec('true'));
    expect(error.code).toBe('host-key-unknown');
    expect(error.detail.hostKey).toMatchObject({ host: h1.address, port: 22, keyType: 'ssh-ed25519', fingerprint: h1.hostKeyFingerprint });
    expect(error.message).toContain(h1.hostKeyFingerprint);
    expect(connections.shell(id).state).toBe('key-not-trusted');
    expect(countInLog(h1, 'Accepted publickey')).toBe(acceptedBefore);

    await knownHosts.accept(error.detail.hostKey!);
    const result = await connections.shell(id).exec('hostname; whoami');
    expect(result).toEqual({ code: 0, stdout: `${h1.name}\n${h1.user}\n`, stderr: '' });
    expect(connections.shell(id).state).toBe('connected');
  });

  it('a changed host key is refused naming both fingerprints, is not replaced, and connects only after the explicit replace', async () => {
    await trust(h2);
    const id = profile('h2', h2, key());
    const first = pool();
    expect((await first.shell(id).exec('hostname')).stdout).toBe(`${h2.name}\n`);
    await first.closeAll();
    let newFingerprint = '';
    try {
      newFingerprint = await regenerateHostKey(h2);
      expect(newFingerprint).not.toBe(h2.hostKeyFingerprint);
      const connections = pool();
      const error = await failure(connections.shell(id).exec('true'));
      expect(error.code).toBe('host-key-changed');
      expect(error.message).toContain(h2.hostKeyFingerprint);
      expect(error.message).toContain(newFingerprint);
      expect(error.detail.knownFingerprints?.map((k) => k.fingerprint)).toEqual([h2.hostKeyFingerprint]);
      expect(connections.shell(id).state).toBe('key-not-trusted');
      // Trying again changes nothing: still refused.
      expect((await failure(connections.shell(id).exec('true'))).code).toBe('host-key-changed');
      await expect(knownHosts.accept(error.detail.hostKey!)).rejects.toThrow(/changed/);

      await knownHosts.replace(error.detail.hostKey!, h2.hostKeyFingerprint);
      expect((await connections.shell(id).exec('hostname')).stdout).toBe(`${h2.name}\n`);
    } finally {
      await restoreHostKey(h2);
      const [keyType, blob] = h2.hostKeyPublic.split(' ');
      if (newFingerprint) await knownHosts.replace({ host: h2.address, port: 22, keyType, key: blob, fingerprint: h2.hostKeyFingerprint }, newFingerprint);
    }
  });
});

describe('host key types', () => {
  it('a host known only by its RSA key is asked for that key, not reported unknown with its preferred ed25519 one', async () => {
    const rsa = h1.rsaHostKey!;
    const sub = await mkdtemp(join(dir, 'rsa-only-'));
    const userFile = join(sub, 'known_hosts');
    await writeFile(userFile, `${h1.address} ${rsa.public}\n`);
    const known = new KnownHosts({ consoleFile: join(sub, 'console', 'known_hosts'), readOnlyFiles: [userFile] });
    const connections = new HostConnections({ directory, knownHosts: known, tcpTimeoutMs: 4_000 });
    pools.push(connections);
    let presented = '';
    const opened = await connections.open(profile('rsa-only', h1, key()), (step) => {
      if (step.step === 'host-key') presented = step.detail;
    });
    opened.client.end();
    expect(presented).toMatch(/^ssh-rsa key known/);
  });
});

describe('authentication faults, each with its own code', () => {
  beforeAll(async () => {
    await Promise.all([h1, h3].map((h) => trust(h).catch(() => undefined)));
  });

  it('a key the host does not authorize is key-rejected', async () => {
    const error = await failure(pool().shell(profile('stranger', h1, key(lab.strangerKey))).exec('true'));
    expect(error.code).toBe('key-rejected');
    expect(error.message).toContain(lab.strangerKey);
  });

  it('an encrypted key: wrong passphrase is bad-passphrase, none is passphrase-needed, the right one logs in', async () => {
    const connections = pool();
    expect((await failure(connections.shell(profile('enc-wrong', h1, key(lab.encryptedKey), { secret: 'not it' })).exec('true'))).code).toBe('bad-passphrase');
    expect((await failure(connections.shell(profile('enc-none', h1, key(lab.encryptedKey))).exec('true'))).code).toBe('passphrase-needed');
    const ok = await connections.shell(profile('enc-right', h1, key(lab.encryptedKey), { secret: lab.encryptedKeyPassphrase })).exec('whoami');
    expect(ok.stdout).toBe(`${h1.user}\n`);
  });

  it('a missing key file is key-file', async () => {
    const error = await failure(pool().shell(profile('nofile', h1, key(join(dir, 'no-such-key')))).exec('true'));
    expect(error.code).toBe('key-file');
  });

  it('a wrong password is password-rejected; the right one logs in; a host without password auth says so', async () => {
    expect(h3.password).toBeTruthy();
    const connections = pool();
    const wrong = await failure(connections.shell(profile('pw-wrong', h3, { kind: 'password' }, { secret: 'wrong password' })).exec('true'));
    expect(wrong.code).toBe('password-rejected');
    expect(connections.shell('pw-wrong').state).toBe('auth-failed');
    const ok = await connections.shell(profile('pw-right', h3, { kind: 'password' }, { secret: h3.password! })).exec('whoami');
    expect(ok.stdout).toBe(`${h3.user}\n`);
    const disabled = await failure(connections.shell(profile('pw-h1', h1, { kind: 'password' }, { secret: 'x' })).exec('true'));
    expect(disabled.code).toBe('password-rejected');
    expect(disabled.message).toMatch(/does not accept password authentication/);
  });

  it('agent authentication uses the keys of the agent at the given socket', async () => {
    const socket = join(dir, 'agent.sock');
    const agent: ChildProcess = spawn('ssh-agent', ['-D', '-a', socket], { stdio: 'ignore' });
    try {
      await expect.poll(() => existsSync(socket), { timeout: 10_000 }).toBe(true);
      await new Promise<void>((resolve, reject) => {
        const add = spawn('ssh-add', [lab.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket }, stdio: 'ignore' });
        add.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`ssh-add exited ${code}`))));
      });
      const result = await pool({ agentSocket: socket }).shell(profile('agent', h1, { kind: 'agent' })).exec('whoami');
      expect(result.stdout).toBe(`${h1.user}\n`);
    } finally {
      agent.kill();
    }
  });
});

describe('network faults', () => {
  it('an address nobody has is unreachable', async () => {
    const connections = pool();
    const error = await failure(connections.shell(profile('nobody', { address: lab.unusedAddress, user: 'x' }, key())).exec('true'));
    expect(error.code).toBe('unreachable');
    expect(error.message).toContain(lab.unusedAddress);
    expect(connections.shell('nobody').state).toBe('unreachable');
  });

  it('a port that accepts TCP but never speaks SSH is a handshake-timeout', async () => {
    await trust(h1).catch(() => undefined);
    const helper = pool().shell(profile('silent-helper', h1, key()));
    const started = await helper.exec(`nohup timeout 60 node -e "require('net').createServer(() => {}).listen(2299, '${h1.address}')" >/dev/null 2>&1 & echo $!`);
    const pid = Number(started.stdout.trim());
    try {
      await expect.poll(async () => (await helper.exec('ss -Htln sport = :2299')).stdout.includes('2299'), { timeout: 10_000 }).toBe(true);
      const error = await failure(pool({ handshakeTimeoutMs: 1_500 }).shell(profile('silent', { ...h1, port: 2299 }, key())).exec('true'));
      expect(error.code).toBe('handshake-timeout');
      expect(error.message).toContain('no SSH handshake');
    } finally {
      await helper.exec(`kill ${pid}`);
    }
  });

  it('a port nobody listens on is refused', async () => {
    const error = await failure(pool().shell(profile('refused', { ...h1, port: 2222 }, key())).exec('true'));
    expect(error.code).toBe('refused');
    expect(error.message).toContain(`${h1.address}:2222`);
  });
});

describe('operations', () => {
  beforeAll(async () => {
    await Promise.all([h1, h2, h4].map((h) => trust(h).catch(() => undefined)));
  });

  it('one connection per host is reused for every command, with stdin, both outputs and exit codes', async () => {
    const shell = pool().shell(profile('ops', h1, key()));
    const [a, b] = await Promise.all([shell.exec('echo $SSH_CONNECTION'), shell.exec('echo $SSH_CONNECTION')]);
    expect(a.stdout).toBe(b.stdout); // same client port: the same TCP connection
    expect(await shell.exec('cat; echo err >&2; exit 7', { stdin: 'in' })).toEqual({ code: 7, stdout: 'in', stderr: 'err\n' });
    const timedOut = await failure(shell.exec('sleep 20', { timeoutMs: 300 }));
    expect(timedOut.code).toBe('command-timeout');
    expect((await shell.exec('echo still usable')).stdout).toBe('still usable\n');
  });

  it('more commands at once than OpenSSH allows sessions per connection (10) all run, on the one connection', async () => {
    const shell = pool().shell(profile('many', h1, key()));
    const results = await Promise.all(Array.from({ length: 14 }, (_, i) => shell.exec(`sleep 0.3; echo ${i} $SSH_CONNECTION`)));
    expect(results.map((r) => r.stdout.split(' ')[0])).toEqual(Array.from({ length: 14 }, (_, i) => String(i)));
    expect(new Set(results.map((r) => r.stdout.split(' ').slice(1).join(' '))).size).toBe(1);
  });

  it('reaches a host through a jump host (ProxyJump)', async () => {
    const connections = pool();
    profile('jump', h1, key());
    const shell = connections.shell(profile('behind', h2, key(), { jumpHostId: 'jump' }));
    const result = await shell.exec('hostname; echo $SSH_CONNECTION');
    const [hostname, sshConnection] = result.stdout.trim().split('\n');
    expect(hostname).toBe(h2.name);
    expect(sshConnection.split(' ')[0]).toBe(h1.address); // h2 saw the connection come from h1
    expect(connections.shell('jump').state).toBe('connected');
  });

  it('uploads with a mode and progress, downloads back, forwards a port and follows a file', async () => {
    const shell = pool().shell(profile('files', h1, key()));
    const content = Buffer.alloc(3 * 1024 * 1024 + 17, 0x5a);
    const local = join(dir, 'payload.bin');
    await writeFile(local, content);
    let last = 0;
    await shell.upload(local, '~/up/dir/payload.bin', { mode: 0o750, onProgress: (sent, total) => { expect(total).toBe(content.length); last = sent; } });
    expect(last).toBe(content.length);
    const remote = await shell.exec('sha256sum up/dir/payload.bin; stat -c %a up/dir/payload.bin; ls up/dir');
    const [sum, mode, listing] = remote.stdout.trim().split('\n');
    expect(sum.split(' ')[0]).toBe(createHash('sha256').update(content).digest('hex'));
    expect(mode).toBe('750');
    expect(listing).toBe('payload.bin'); // no temp file left
    await shell.download('up/dir/payload.bin', join(dir, 'back.bin'));
    expect((await readFile(join(dir, 'back.bin'))).equals(content)).toBe(true);
    expect((await failure(shell.download('up/none', join(dir, 'none')))).code).toBe('not-found');

    // A listener on the host's loopback only, reached through the forward.
    const started = await shell.exec(`nohup timeout 60 node -e "require('net').createServer(s => s.end('pong from ' + require('os').hostname())).listen(7311, '127.0.0.1')" >/dev/null 2>&1 & echo $!`);
    const listenerPid = Number(started.stdout.trim());
    const forward = await shell.forwardLocal(7311);
    try {
      let reply = '';
      await expect
        .poll(
          async () => {
            reply = await new Promise<string>((resolve) => {
              const socket = connect(forward.localPort, '127.0.0.1');
              let data = '';
              socket.on('data', (chunk) => (data += chunk)).on('close', () => resolve(data)).on('error', () => resolve(''));
            });
            return reply;
          },
          { timeout: 15_000 },
        )
        .toBe(`pong from ${h1.name}`);
    } finally {
      await forward.close();
      await shell.exec(`kill ${listenerPid}`);
    }

    let seen = '';
    await shell.exec('printf "old\\n" > follow.log');
    const follower = shell.followFile('~/follow.log', (text) => (seen += text), { from: 4 });
    try {
      await shell.exec('printf "new line\\n" >> follow.log');
      await expect.poll(() => seen, { timeout: 10_000 }).toBe('new line\n');
    } finally {
      follower.stop();
    }
  });

  it('"Test connection" reports every step; a host without Node says so', async () => {
    const connections = pool();
    profile('test-h1', h1, key());
    const report = await connections.test('test-h1');
    expect(report.steps.map((s) => [s.step, s.status])).toEqual([
      ['tcp', 'ok'],
      ['host-key', 'ok'],
      ['auth', 'ok'],
      ['node', 'ok'],
      ['os', 'ok'],
      ['disk', 'ok'],
    ]);
    expect(report.ok).toBe(true);
    expect(report.nodeVersion).toBe(process.version); // the lab hosts share this machine's /usr/bin/node
    expect(report.os).toBe('Linux');
    expect(report.arch).toBe(process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch);
    expect(report.diskFreeBytes).toBeGreaterThan(0);

    profile('test-h4', h4, key());
    const noNode = await connections.test('test-h4');
    expect(noNode.nodeVersion).toBeNull();
    expect(noNode.steps.find((s) => s.step === 'node')?.detail).toMatch(/no node/);

    profile('test-unknown', h3, key());
    await knownHosts.forget(h3.address, 22);
    const unknown = await connections.test('test-unknown');
    expect(unknown.ok).toBe(false);
    expect(unknown.steps.map((s) => [s.step, s.status])).toEqual([
      ['tcp', 'ok'],
      ['host-key', 'failed'],
      ['auth', 'skipped'],
      ['node', 'skipped'],
      ['os', 'skipped'],
      ['disk', 'skipped'],
    ]);
    expect(unknown.steps[1].error?.hostKey?.fingerprint).toBe(h3.hostKeyFingerprint);

    profile('test-refused', { ...h1, port: 2222 }, key());
    const refused = await connections.test('test-refused');
    expect(refused.steps[0]).toMatchObject({ step: 'tcp', status: 'failed', error: { code: 'refused' } });
  });
});

describe('a cut link', () => {
  beforeAll(async () => {
    await trust(h1).catch(() => undefined);
  });
  afterEach(() => {
    linkUp(h1);
  });

  it('fails the running command with connection-lost, then reconnects after the heal: reconnecting → connected', async () => {
    const connections = pool();
    const shell = connections.shell(profile('cut', h1, key()));
    await shell.exec('true');
    const states: ConnectionState[] = [];
    shell.on('state', (state) => states.push(state));
    const running = shell.exec('sleep 60', { timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 300));
    linkDown(h1);
    const error = await failure(running);
    expect(error.code).toBe('connection-lost');
    expect(error.message).toContain('sleep 60');
    expect(shell.state).toBe('reconnecting');
    // While it reconnects with backoff, a new command is answered at once, not queued behind the outage.
    const meanwhile = await failure(shell.exec('true'));
    expect(meanwhile.code).toBe('connection-lost');
    expect(meanwhile.message).toMatch(/reconnecting/);
    linkUp(h1);
    await expect.poll(() => shell.state, { timeout: 30_000 }).toBe('connected');
    expect(states[0]).toBe('reconnecting');
    expect(states.at(-1)).toBe('connected');
    expect(states).not.toContain('unreachable');
    expect((await shell.exec('hostname')).stdout).toBe(`${h1.name}\n`);
    expect(logs.some((line) => line.includes('connection-lost'))).toBe(true);
  });

  it('a followed file and a forwarded port survive the cut: following resumes at the same offset after the heal', async () => {
    const shell = pool().shell(profile('cut-follow', h1, key()));
    await shell.exec('printf "before\\n" > cut-follow.log');
    let seen = '';
    const follower = shell.followFile('cut-follow.log', (text) => (seen += text), { from: 'start' });
    const forward = await shell.forwardLocal(22, h1.address);
    try {
      await expect.poll(() => seen, { timeout: 10_000 }).toBe('before\n');
      linkDown(h1);
      await expect.poll(() => shell.state, { timeout: 30_000 }).toBe('reconnecting');
      // Written on the host while the console cannot see it (the lab's hosts share this file system).
      await writeFile(join(h1.home, 'cut-follow.log'), 'before\nduring the cut\n');
      linkUp(h1);
      await expect.poll(() => seen, { timeout: 30_000 }).toBe('before\nduring the cut\n');
      // The forward's listener outlived the old connection: a new connection to it goes through the new one.
      const banner = await new Promise<string>((resolve) => {
        const socket = connect(forward.localPort, '127.0.0.1');
        socket.once('data', (chunk) => {
          resolve(chunk.toString());
          socket.destroy();
        });
        socket.on('error', () => resolve(''));
      });
      expect(banner).toMatch(/^SSH-2\.0-OpenSSH/);
    } finally {
      follower.stop();
      await forward.close();
    }
  });

  it('fails an upload cut in the middle with connection-lost and leaves no file under the final name', async () => {
    const shell = pool().shell(profile('cut-upload', h1, key()));
    const local = join(dir, 'big.bin');
    await writeFile(local, Buffer.alloc(64 * 1024 * 1024, 1));
    let cut = false;
    const error = await failure(
      shell.upload(local, 'cut/big.bin', {
        onProgress: () => {
          if (!cut) {
            cut = true;
            linkDown(h1);
          }
        },
      }),
    );
    expect(cut).toBe(true);
    expect(error.code).toBe('connection-lost');
    expect(error.message).toContain('upload');
    linkUp(h1);
    await expect.poll(() => shell.state, { timeout: 30_000 }).toBe('connected');
    expect((await shell.exec('test -e cut/big.bin; echo $?')).stdout).toBe('1\n');
  });
});
