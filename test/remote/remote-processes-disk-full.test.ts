// A remote disk that is full, on this machine: small tmpfs mounts stand for the host's home and for its
// nodes' folder (mounting needs root; elsewhere these tests skip with the reason). Each case is one
// clear message, and nothing is left running.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { raftdBundle } from '../../electron/services/remote/deploy-bundle.js';
import { Deployer, REMOTE_ROOT } from '../../electron/services/remote/deploy.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { RemoteHost } from '../../electron/services/remote/remote-host.js';
import { RemoteProcesses } from '../../electron/services/remote/remote-processes.js';

const why = process.getuid?.() !== 0 ? 'not root: mounting a small tmpfs as a full disk needs root' : null;
let scratch: string;
const mounts: string[] = [];

function mountTmpfs(dir: string, size: string): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'rc-full-disk', dir]);
  mounts.push(dir);
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-disk-full-'));
});
afterAll(async () => {
  for (const dir of mounts.reverse()) execFileSync('umount', [dir]);
  await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(why !== null)(`a full remote disk${why ? ` (skipped: ${why})` : ''}`, { timeout: 90_000 }, () => {
  it('a deploy that does not fit says the remote disk is full and leaves no file under the final name', async () => {
    const home = join(scratch, 'small-home');
    await mkdir(home);
    const bundle = await raftdBundle();
    mountTmpfs(home, `${Math.floor(bundle.bytes / 2 / 4096) * 4096}`);
    const error = await new Deployer().deploy(new LocalShell({ home })).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^local: failed uploading raftd to .* \(the remote disk is full\): /);
    const dirs = await readdir(join(home, REMOTE_ROOT));
    for (const dir of dirs) expect(await readdir(join(home, REMOTE_ROOT, dir))).not.toContain('raftd-remote.mjs');
  });

  it('a node whose data cannot be written does not start: the disk is named full, with the tail of its log, and nothing runs', async () => {
    const home = join(scratch, 'home');
    await mkdir(home);
    const shell = new LocalShell({ home });
    const host = new RemoteHost({ name: 'full', shell, peerAddress: '127.0.0.1', deployer: new Deployer() });
    await host.deployment();
    // The nodes' folder is a disk with room for the start files and the first log lines, not for a WAL.
    const nodes = join(home, REMOTE_ROOT, 'clusters');
    await mkdir(nodes, { recursive: true });
    mountTmpfs(nodes, '64k');
    const processes = new RemoteProcesses('c', () => host, () => ['n1']);
    const [peerPort, clientPort] = await host.freePorts(2, new Set());
    const peer = `127.0.0.1:${peerPort}`;
    const client = `127.0.0.1:${clientPort}`;
    const error = await processes
      .start({ nodeId: 'n1', peer, client, args: ['--id', 'n1', '--peer', peer, '--client', client, '--cluster', `n1=${peer}/${client}`, '--cluster-id', 'c'], env: { RAFTD_TOKEN: 'a-token-for-the-test-000000000000' } })
      .catch((e: Error) => e);
    const message = (error as Error).message;
    expect(message.startsWith('full: node n1 cannot start: the remote disk is full (')).toBe(true);
    expect(message).toContain('last lines of its log:');
    expect(message).toContain('nodes/n1/data/wal/');
    const info = await processes.info('n1');
    expect(info.state).toBe('crashed');
  });
});
