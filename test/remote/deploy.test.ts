// Deploying raftd without prerequisites, on this machine through LocalShell (the lab runs the same over sshd).
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readdir, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32c as nativeCrc32c } from '@node-rs/crc32';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc32c } from '../../electron/services/remote/deploy-crc32c.js';
import { BUNDLE_NAME, raftdBundle, type RaftdBundle } from '../../electron/services/remote/deploy-bundle.js';
import { Deployer, REMOTE_ROOT, STALE_VERSION_MINUTES, remoteBundleDir } from '../../electron/services/remote/deploy.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { pickFreePorts } from '../../electron/services/local-host.js';

const run = promisify(execFile);
let bundle: RaftdBundle;
let scratch: string;

beforeAll(async () => {
  bundle = await raftdBundle();
  scratch = await mkdtemp(join(tmpdir(), 'rc-deploy-'));
}, 60_000);
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('the CRC-32C the bundle uses in place of the native addon', () => {
  it('gives the native values, also when continued from an earlier CRC', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (a, b) => {
        expect(crc32c(a)).toBe(nativeCrc32c(Buffer.from(a)));
        expect(crc32c(b, crc32c(a))).toBe(nativeCrc32c(Buffer.from(b), nativeCrc32c(Buffer.from(a))));
      }),
    );
    expect(crc32c('123456789')).toBe(0xe3069283); // the CRC-32C check value
  });
});

describe('the raftd bundle', { timeout: 90_000 }, () => {
  it('is one file that runs raftd with no node_modules anywhere and NODE_PATH empty', async () => {
    const dir = join(scratch, 'alone');
    await mkdir(dir);
    await copyFile(bundle.file, join(dir, BUNDLE_NAME));
    // Nothing to resolve packages from on the way up.
    for (let d = dir; d !== '/'; d = join(d, '..')) expect((await readdir(d)).includes('node_modules')).toBe(false);
    const [peer, client] = await pickFreePorts(2, new Set());
    const args = [BUNDLE_NAME, 'raftd', '--id', 'n1', '--data-dir', 'data', '--peer', `127.0.0.1:${peer}`, '--client', `127.0.0.1:${client}`, '--cluster', `n1=127.0.0.1:${peer}/127.0.0.1:${client}`];
    const env = { PATH: process.env.PATH ?? '', NODE_PATH: '' };
    const startRaftd = () => spawn(process.execPath, args, { cwd: dir, env, stdio: 'ignore' });
    let raftd = startRaftd();
    try {
      const base = `http://127.0.0.1:${client}`;
      await until(async () => (await fetch(`${base}/v1/kv/greeting`, { method: 'PUT', body: 'hello' })).ok);
      // The WAL (CRC-framed) is read back after a restart: the plain-JS CRC wrote it.
      raftd.kill('SIGTERM');
      await new Promise((resolve) => raftd.once('exit', resolve));
      raftd = startRaftd();
      await until(async () => (await fetch(`${base}/v1/kv/greeting`)).status === 200);
      expect(await (await fetch(`${base}/v1/kv/greeting`)).text()).toBe('hello');
    } finally {
      raftd.kill('SIGKILL');
    }
  });
});

describe('Deployer', { timeout: 90_000 }, () => {
  it('uploads the bundle into a folder named by its hash once; a second deploy uploads 0 bytes', async () => {
    const home = join(scratch, 'home-reuse');
    await mkdir(home);
    const shell = new LocalShell({ home });
    const deployer = new Deployer();
    const first = await deployer.deploy(shell);
    expect(first.uploadedBytes).toBe(bundle.bytes);
    expect(first.bundlePath).toBe(join(home, remoteBundleDir(bundle.sha256), BUNDLE_NAME));
    expect(first.nodePath).toBe((await run('sh', ['-lc', 'command -v node'])).stdout.trim());
    expect((await stat(first.bundlePath)).size).toBe(bundle.bytes);

    const second = await new Deployer().deploy(shell);
    expect(second.uploadedBytes).toBe(0);
    expect(second.uploaded).toEqual([]);
    expect(second.bundlePath).toBe(first.bundlePath);
  });

  it('replaces a partial file left under the final name and runs what it deployed', async () => {
    const home = join(scratch, 'home-partial');
    const dir = join(home, remoteBundleDir(bundle.sha256));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, BUNDLE_NAME), 'half a bundle');
    const deployment = await new Deployer().deploy(new LocalShell({ home }));
    expect(deployment.uploadedBytes).toBe(bundle.bytes);
    const { stdout } = await run(deployment.nodePath, [deployment.bundlePath, 'version']);
    expect(stdout).toMatch(/^v\d+\.\d+\.\d+ linux /);
  });

  describe('older versions on the host', () => {
    // A folder as an earlier console's deploy left it, last used `minutesAgo` ago.
    async function olderVersion(home: string, name: string, minutesAgo: number): Promise<string> {
      const dir = join(home, REMOTE_ROOT, name);
      await mkdir(dir, { recursive: true });
      await writeFile(join(dir, name.startsWith('node-') ? 'node' : BUNDLE_NAME), 'an older build');
      const then = new Date(Date.now() - minutesAgo * 60_000);
      await utimes(dir, then, then);
      return dir;
    }
    const day = STALE_VERSION_MINUTES;

    it('are removed once unused for a day, unless a process runs them; the deployed version and other files stay', async () => {
      const home = join(scratch, 'home-tidy');
      await mkdir(home);
      const stale = await olderVersion(home, 'raftd-0123456789abcdef', day + 60);
      const staleRuntime = await olderVersion(home, 'node-v20.0.0-0123456789abcdef', day + 60);
      const recent = await olderVersion(home, 'raftd-fedcba9876543210', day - 60);
      const running = await olderVersion(home, 'raftd-00000000000000aa', day + 60);
      const clusters = join(home, REMOTE_ROOT, 'clusters');
      await mkdir(clusters);
      const then = new Date(Date.now() - 2 * day * 60_000);
      await utimes(clusters, then, then);
      // A process whose command line names a file in the old folder, as a raftd started from it would.
      const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30_000)', join(running, BUNDLE_NAME)], { stdio: 'ignore' });
      await new Promise((resolve) => sleeper.once('spawn', resolve));
      try {
        const deployment = await new Deployer().deploy(new LocalShell({ home }));
        expect(deployment.removed.sort()).toEqual(['node-v20.0.0-0123456789abcdef', 'raftd-0123456789abcdef']);
        const left = (await readdir(join(home, REMOTE_ROOT))).sort();
        expect(left).toEqual(['clusters', remoteBundleDir(bundle.sha256).split('/')[1], 'raftd-00000000000000aa', 'raftd-fedcba9876543210'].sort());
        expect(left).not.toContain(stale.split('/').at(-1));
        expect(left).not.toContain(staleRuntime.split('/').at(-1));
        expect(left).toContain(recent.split('/').at(-1));

        // The deployed version counts as used now: a deploy a day later (its folder aged) keeps it.
        const current = join(home, remoteBundleDir(bundle.sha256));
        await utimes(current, then, then);
        const again = await new Deployer().deploy(new LocalShell({ home }));
        expect(again.removed).toEqual([]);
        expect((await stat(current)).mtimeMs).toBeGreaterThan(Date.now() - day * 60_000);
      } finally {
        sleeper.kill('SIGKILL');
      }
      // With the process gone, its folder goes at the next deploy.
      await new Promise((resolve) => sleeper.once('exit', resolve));
      expect((await new Deployer().deploy(new LocalShell({ home }))).removed).toEqual(['raftd-00000000000000aa']);
    });
  });

  describe('on a host whose login shell finds no Node', () => {
    let home: string;
    let savedShell: string | undefined;
    beforeAll(async () => {
      home = join(scratch, 'home-no-node');
      const bin = join(scratch, 'bin-no-node');
      await mkdir(home);
      await mkdir(bin);
      for (const tool of ['uname', 'cat', 'wc', 'mkdir', 'mv', 'rm']) await symlink(`/usr/bin/${tool}`, join(bin, tool)).catch(() => symlink(`/bin/${tool}`, join(bin, tool)));
      // The user's login shell: a PATH without node, whatever /etc/profile says.
      const login = join(scratch, 'login-no-node');
      await writeFile(login, `#!/bin/sh\nPATH=${bin}; export PATH\nshift\nexec /bin/sh -c "$1"\n`);
      await chmod(login, 0o755);
      savedShell = process.env.SHELL;
      process.env.SHELL = login;
    });
    afterAll(() => {
      if (savedShell === undefined) delete process.env.SHELL;
      else process.env.SHELL = savedShell;
    });

    it('says precisely what is missing, offers the console runtime with its size, and uploads it only when asked', async () => {
      const shell = new LocalShell({ home });
      const runtimeBytes = (await stat(process.execPath)).size;
      const refused = await new Deployer().deploy(shell).catch((e: Error) => e);
      expect(refused).toBeInstanceOf(Error);
      expect((refused as Error).message).toContain('raftd needs Node >= 20 and the host has no node on the login PATH');
      expect((refused as Error).message).toContain(`(${(runtimeBytes / 1048576).toFixed(1)} MiB)`);
      expect((refused as Error).message).toContain('uploadRuntime');
      expect(await readdir(join(home, REMOTE_ROOT)).catch(() => [])).toEqual([]);

      const deployment = await new Deployer().deploy(shell, { uploadRuntime: true });
      expect(deployment.uploadedBytes).toBe(bundle.bytes + runtimeBytes);
      expect(deployment.nodePath.startsWith(join(home, REMOTE_ROOT, `node-${process.version}-`))).toBe(true);
      const { stdout } = await run(deployment.nodePath, [deployment.bundlePath, 'version']);
      expect(stdout.trim()).toBe(`${process.version} linux ${process.arch}`);

      const again = await new Deployer().deploy(shell);
      expect(again.uploadedBytes).toBe(0);
      expect(again.nodePath).toBe(deployment.nodePath);
    });
  });
});

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
