// Remote raftd processes (NodeHost over RemoteShell), on this machine through LocalShell: the same
// commands, files and checks as over sshd, fast. The lab tests run them on real hosts.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { NodeLaunch } from '../../electron/services/node-host.js';
import type { NodeLogLine } from '../../electron/shared/api.js';
import { RaftdClient } from '../../electron/services/raftd-client.js';
import { Deployer } from '../../electron/services/remote/deploy.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { RemoteHost } from '../../electron/services/remote/remote-host.js';
import { RemoteProcesses, remoteNodeDir } from '../../electron/services/remote/remote-processes.js';
import { RemoteError, type ExecOptions, type ExecResult } from '../../electron/services/remote/remote-shell.js';

const CLUSTER = 'rp';
let home: string;
let shell: LocalShell;
let host: RemoteHost;
const open: RemoteProcesses[] = [];
const nodeIds = ['n1', 'n2', 'n3'];

function processes(h: RemoteHost = host, infoCacheMs?: number): RemoteProcesses {
  const p = new RemoteProcesses(CLUSTER, () => h, () => nodeIds, { stopTimeoutMs: 10_000, readyTimeoutMs: 10_000, extraArgs: ['--heartbeat-ms', '50', '--election-ms', '300'], infoCacheMs });
  open.push(p);
  return p;
}

/** raftd's arguments for a one-node cluster (RaftdCluster builds them the same way). */
async function launchOf(nodeId: string, extra: string[] = []): Promise<NodeLaunch> {
  const [peerPort, clientPort] = await host.freePorts(2, new Set());
  const peer = `127.0.0.1:${peerPort}`;
  const client = `127.0.0.1:${clientPort}`;
  return { nodeId, peer, client, args: ['--id', nodeId, '--peer', peer, '--client', client, '--cluster', `${nodeId}=${peer}/${client}`, '--cluster-id', CLUSTER, ...extra], env: { RAFTD_TOKEN: 'secret-token' } };
}

/** Field 22 of /proc/PID/stat: the kernel's start time of the process. */
function startTimeOf(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}

beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'rc-remote-processes-'));
  shell = new LocalShell({ home, followPollMs: 50 });
  host = new RemoteHost({ name: 'local', shell, peerAddress: '127.0.0.1', deployer: new Deployer() });
  await host.deployment();
}, 60_000);

afterEach(async () => {
  const p = processes();
  for (const id of nodeIds) await p.kill(id).catch(() => undefined);
  await Promise.all(open.splice(0).map((o) => o.close()));
});

afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('RemoteProcesses', { timeout: 90_000 }, () => {
  it('starts raftd detached, knows it by pid and start time, and reaches it through the forwarded endpoint', async () => {
    const p = processes();
    const launch = await launchOf('n1');
    const pid = await p.start(launch);
    const info = await p.info('n1');
    expect(info).toMatchObject({ state: 'running', pid });
    expect(info.started).toBe(startTimeOf(pid));
    // The token travelled in a 0600 file, not on raftd's command line.
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).not.toContain('secret-token');
    const endpoint = await p.clientEndpoint('n1', launch.client);
    const status = await new RaftdClient(endpoint, 'secret-token').status();
    expect(status.id).toBe('n1');
    // A second start of a running node is refused.
    await expect(p.start(launch)).rejects.toThrow(/already running/);
  });

  it('stops with SIGTERM, kills with SIGKILL, pauses and resumes, each visible in info', async () => {
    const p = processes();
    const launch = await launchOf('n1');
    await p.start(launch);
    await p.pause('n1');
    expect((await p.info('n1')).state).toBe('paused');
    await p.resume('n1');
    expect((await p.info('n1')).state).toBe('running');
    await p.kill('n1');
    expect((await p.info('n1')).state).toBe('killed');
    await p.start(launch);
    await p.pause('n1');
    // A paused node still stops on SIGTERM (continued first).
    await p.stop('n1');
    // raftd handles SIGTERM: it stops cleanly and exits 0.
    expect(await p.info('n1')).toMatchObject({ state: 'stopped', detail: 'raftd exited with code 0' });
    await expect(p.kill('n1')).rejects.toThrow(/not running/);
  });

  it('does not take a reused pid for the node: a live pid with another start time is not running', async () => {
    // Each info() reads the host afresh: the test changes the files between two looks.
    const p = processes(host, 0);
    const dir = join(home, remoteNodeDir(CLUSTER, 'n2'));
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    // A live process that is not the node's: the lock names its pid with a start time it does not have.
    const stranger = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const pid = stranger.pid as number;
      await writeFile(join(dir, 'node.lock'), JSON.stringify({ pid, started: '1', child: { pid, started: '1' } }));
      expect((await p.info('n2')).state).toBe('stopped');
      await writeFile(join(dir, 'node.lock'), JSON.stringify({ pid, started: startTimeOf(pid), child: { pid, started: startTimeOf(pid) } }));
      expect(await p.info('n2')).toMatchObject({ state: 'running', pid });
    } finally {
      stranger.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a port already in use with one clear message and leaves nothing running', async () => {
    const p = processes();
    const launch = await launchOf('n1');
    const blocker: Server = createServer();
    const port = Number(launch.peer.split(':')[1]);
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      await expect(p.start(launch)).rejects.toThrow(`local: node n1 cannot start: 127.0.0.1:${port} is already in use on this host`);
      expect((await p.info('n1')).state).not.toMatch(/running|starting|paused/);
    } finally {
      blocker.close();
    }
  });

  it('a raftd that exits at start is reported with the tail of its log and listed as crashed', async () => {
    const p = processes();
    const launch = await launchOf('n1');
    // Another cluster's data dir: raftd refuses it and exits.
    await p.start(launch);
    await p.stop('n1');
    const other = { ...launch, args: launch.args.map((a) => (a === CLUSTER ? 'another-cluster' : a)) };
    const error = await p.start(other).catch((e: Error) => e);
    expect((error as Error).message).toContain('local: node n1 did not start: raftd exited with code 1: raftd: data dir');
    expect((error as Error).message).toContain('belongs to cluster "rp", not "another-cluster"');
    expect((error as Error).message).toContain('last lines of its log:');
    const info = await p.info('n1');
    expect(info.state).toBe('crashed');
    expect(info.detail).toContain('belongs to cluster "rp"');
  });

  it('a console that comes back re-attaches: a fresh instance sees the running node and controls it', async () => {
    const launch = await launchOf('n3');
    const pid = await processes().start(launch);
    // A new console: new deployer, new host object, new processes: only the remote files are shared.
    const again = new RemoteHost({ name: 'local', shell: new LocalShell({ home }), peerAddress: '127.0.0.1', deployer: new Deployer() });
    const p = processes(again);
    expect(await p.info('n3')).toMatchObject({ state: 'running', pid, started: startTimeOf(pid) });
    const endpoint = await p.clientEndpoint('n3', launch.client);
    expect((await new RaftdClient(endpoint, 'secret-token').status()).id).toBe('n3');
    await p.stop('n3');
    expect((await p.info('n3')).state).toBe('stopped');
  });

  it('reads the log, follows it live and downloads it', async () => {
    const p = processes();
    const launch = await launchOf('n1');
    await p.start(launch);
    await until(async () => (await p.readLog('n1', { limit: 100 })).some((l) => l.msg.includes('serving')));
    const errorsOnly = await p.readLog('n1', { limit: 100, levels: ['error'] });
    expect(errorsOnly.every((l) => l.level === 'error')).toBe(true);
    const searched = await p.readLog('n1', { limit: 100, search: 'SERVING' });
    expect(searched.length).toBeGreaterThan(0);
    expect(searched.every((l) => l.raw.toLowerCase().includes('serving'))).toBe(true);

    const followed: NodeLogLine[] = [];
    const stop = p.followLog('n1', (line) => followed.push(line));
    await new Promise((resolve) => setTimeout(resolve, 300));
    await p.stop('n1');
    await until(async () => followed.some((l) => l.msg === 'raftd stopped'));
    stop();
    const local = join(home, 'downloaded', 'n1.log');
    await p.downloadLog('n1', local);
    expect(await readFile(local, 'utf8')).toContain('raftd stopped');
  });

  it('rolls back a start whose link dropped: the daemon it left is stopped and the error says so', async () => {
    // The start command runs on the host, but its answer never comes back: the link "drops".
    const cut = new CuttingShell(home);
    const cutHost = new RemoteHost({ name: 'cut', shell: cut, peerAddress: '127.0.0.1', deployer: new Deployer() });
    const p = processes(cutHost);
    const launch = await launchOf('n2');
    const error = await p.start(launch).catch((e: Error) => e);
    expect((error as Error).message).toMatch(/^cut: starting node n2 was cut off \(.*connection lost.*\); it was rolled back \(not running\)$/);
    expect((await p.info('n2')).state).not.toMatch(/running|starting|paused/);
    expect(cut.startsCut).toBe(1);
  });
});

/** A LocalShell whose `start` commands are carried out but answered by a lost connection. */
class CuttingShell extends LocalShell {
  startsCut = 0;
  constructor(home: string) {
    super({ home });
  }
  override exec(cmd: string, opts?: ExecOptions): Promise<ExecResult> {
    if (!/ start \S+start-spec\.json$/.test(cmd)) return super.exec(cmd, opts);
    this.startsCut++;
    const running = super.exec(cmd, opts);
    // The node is coming up when the link goes.
    return new Promise((_, reject) => setTimeout(() => reject(new RemoteError('connection-lost', 'connection lost (keepalive timeout)')), 300)).finally(() => running.catch(() => undefined)) as Promise<ExecResult>;
  }
}

async function until(check: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
