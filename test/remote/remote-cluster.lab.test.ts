// Remote clusters against the lab's real hosts (sshd in network namespaces, run by lab-runner.ts inside
// rc-op): the console service creates a cluster on three hosts, reaches every node only through SSH
// tunnels, survives a leader's kill and a cut link, grows onto the host without Node, shrinks, and
// re-attaches after a restart; links are cut in the middle of an upload and of a start.
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState, ClusterSummary, LogEntryView, NodeLogLine, OperationProgress, RemoteDeployment } from '../../electron/shared/api.js';
import { ConsoleService, type ConsoleSession } from '../../electron/services/console-service.js';
import { raftdBundle } from '../../electron/services/remote/deploy-bundle.js';
import { Deployer, whenConnected } from '../../electron/services/remote/deploy.js';
import { HostConnections } from '../../electron/services/remote/host-connections.js';
import type { HostProfile } from '../../electron/services/remote/host-profile.js';
import { KnownHosts } from '../../electron/services/remote/known-hosts.js';
import { RemoteHosts } from '../../electron/services/remote/remote-host.js';
import { hostByIndex, linkDown, linkUp, requireLab, type Lab, type LabHost } from './lab.js';

const lab: Lab = requireLab();
const hosts = [1, 2, 3, 4].map((i) => hostByIndex(lab, i));
const [h1, h2, h3, h4] = hosts;

let dir: string;
let knownHosts: KnownHosts;
const profiles = new Map<string, HostProfile>();

/** The console side: a pool of SSH connections, the remote hosts on it, and the console service. */
interface Console {
  connections: HostConnections;
  remote: RemoteHosts;
  service: ConsoleService;
  session: ConsoleSession;
  progress: OperationProgress[];
  logLines: NodeLogLine[];
}
let consoleSide: Console;

async function openConsole(): Promise<Console> {
  const connections = new HostConnections({
    directory: { resolve: async (id) => ({ profile: profiles.get(id) as HostProfile }) },
    knownHosts,
    tcpTimeoutMs: 4_000,
    handshakeTimeoutMs: 10_000,
    keepaliveIntervalMs: 1_000,
    keepaliveCountMax: 2,
    reconnectInitialMs: 200,
    reconnectMaxMs: 1_000,
    followPollMs: 200,
  });
  const remote = new RemoteHosts({ shell: (id) => connections.shell(id), address: (id) => (profiles.get(id) as HostProfile).address });
  const service = await ConsoleService.open({
    dataDir: join(dir, 'console'),
    demoOnFirstRun: false,
    remote: { hosts: remote, processes: { readyTimeoutMs: 15_000 } },
    feed: { pollMs: 300, minRefreshMs: 100 },
    membership: { pollMs: 200, stepTimeoutMs: 60_000 },
  });
  const progress: OperationProgress[] = [];
  const logLines: NodeLogLine[] = [];
  const session = service.openSession((event, payload) => {
    if (event === 'operation.progress') progress.push(payload as OperationProgress);
    if (event === 'nodeLogs.line') logLines.push(payload as NodeLogLine);
  });
  return { connections, remote, service, session, progress, logLines };
}

async function closeConsole(side: Console): Promise<void> {
  side.session.close();
  await side.service.close();
  await side.connections.closeAll();
}

function invoke<T>(method: string, params: unknown): Promise<T> {
  return consoleSide.session.invoke(method, params) as Promise<T>;
}

async function stateUntil(what: string, ready: (state: ClusterState) => boolean, timeoutMs = 45_000): Promise<ClusterState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await invoke<ClusterState>('cluster.state', { clusterId: 'lab' });
    if (ready(state)) return state;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(state.nodes.map((n) => [n.id, n.process, n.role, n.reachable, n.error]))}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function operationDone(operationId: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = consoleSide.progress.find((p) => p.operationId === operationId && p.done);
    if (done) {
      if (done.error) throw new Error(done.error);
      return;
    }
    if (Date.now() > deadline) throw new Error(`operation ${operationId} did not finish`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Raftd processes of the lab user on the host (for "no orphaned daemon"), seen through its own sshd. */
async function raftdOn(host: LabHost, nodeId: string): Promise<string[]> {
  const result = await consoleSide.connections.shell(host.name).exec(`pgrep -u ${host.user} -f '[r]aftd-remote.mjs raftd .*nodes/${nodeId}/data' || true`);
  return result.stdout.split('\n').filter((l) => l.trim());
}

/** Waits until a process whose command line matches runs (lab hosts share this machine's /proc). */
async function processAppears(matches: (cmdline: string) => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const entry of await readdir('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
      if (matches(cmdline.replace(/\0/g, ' '))) return;
    }
    if (Date.now() > deadline) throw new Error('the process did not appear');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function tcpRefused(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port });
    socket.setTimeout(3000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(true);
    });
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-remote-cluster-lab-'));
  await writeFile(join(dir, 'user_known_hosts'), '');
  knownHosts = new KnownHosts({ consoleFile: join(dir, 'known_hosts'), readOnlyFiles: [join(dir, 'user_known_hosts')] });
  for (const host of hosts) {
    const [keyType, key] = host.hostKeyPublic.split(' ');
    await knownHosts.accept({ host: host.address, port: host.port, keyType, key, fingerprint: host.hostKeyFingerprint });
    profiles.set(host.name, {
      id: host.name,
      name: host.name,
      address: host.address,
      port: host.port,
      user: host.user,
      auth: { kind: 'key', keyFile: lab.clientKey },
      jumpHostId: null,
      groups: [],
      createdAt: 0,
      updatedAt: 0,
    });
  }
  consoleSide = await openConsole();
});

afterAll(async () => {
  if (consoleSide) {
    await invoke('clusters.delete', { clusterId: 'lab' }).catch(() => undefined);
    await closeConsole(consoleSide).catch(() => undefined);
  }
  await rm(dir, { recursive: true, force: true });
});

describe('a remote cluster on the lab hosts', () => {
  it('is created on three hosts and serves KV through SSH tunnels only; the first deploy sent the bundle once per host', async () => {
    const bundle = await raftdBundle();
    const summary = await invoke<ClusterSummary>('clusters.create', { name: 'lab', kind: 'remote', size: 3, hosts: [h1.name, h2.name, h3.name] });
    expect(summary.nodes.map((n) => [n.id, n.host])).toEqual([
      ['n1', h1.name],
      ['n2', h2.name],
      ['n3', h3.name],
    ]);
    for (const [i, node] of summary.nodes.entries()) {
      expect(node.peer?.startsWith(`${hosts[i].address}:`)).toBe(true);
      expect(node.client).toMatch(/^127\.0\.0\.1:\d+$/);
    }
    for (const host of [h1, h2, h3]) expect((await consoleSide.remote.get(host.name).knownDeployment())?.uploadedBytes).toBe(bundle.bytes);

    await invoke('clusters.start', { clusterId: 'lab' });
    await stateUntil('a leader', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
    await invoke('kv.put', { clusterId: 'lab', key: 'greeting', value: 'hello from rc-op' });
    expect(await invoke('kv.get', { clusterId: 'lab', key: 'greeting' })).toEqual({ value: 'hello from rc-op' });

    // The client port listens on the host's loopback only: from the console's network it is closed.
    const port = Number(summary.nodes[0].client?.split(':')[1]);
    expect(await tcpRefused(h1.address, port)).toBe(true);
  });

  it('shows the log inspector, node logs (read and followed) and partitions through /v1/fault as for local clusters', async () => {
    const entries = await invoke<LogEntryView[]>('log.entries', { clusterId: 'lab', nodeId: 'n2', from: 1, limit: 100 });
    expect(entries.some((e) => e.type === 'normal' && e.summary.includes('greeting'))).toBe(true);
    const lines = await invoke<NodeLogLine[]>('nodeLogs.read', { clusterId: 'lab', nodeId: 'n3', limit: 200 });
    expect(lines.some((l) => l.nodeId === 'n3' && l.msg.includes('serving'))).toBe(true);

    await invoke('nodeLogs.subscribe', { clusterId: 'lab', nodeId: 'n3' });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await invoke('node.restart', { clusterId: 'lab', nodeId: 'n3' });
    const deadline = Date.now() + 30_000;
    while (!consoleSide.logLines.some((l) => l.nodeId === 'n3' && l.msg === 'raftd stopped')) {
      if (Date.now() > deadline) throw new Error('no followed log line of n3 arrived');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await invoke('nodeLogs.unsubscribe', { clusterId: 'lab' });

    await stateUntil('all three up', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
    await invoke('fault.partition', { clusterId: 'lab', groups: [['n3'], ['n1', 'n2']] });
    expect((await invoke<ClusterState>('cluster.state', { clusterId: 'lab' })).partitions).toEqual([['n3'], ['n1', 'n2']]);
    await invoke('fault.heal', { clusterId: 'lab' });
    await stateUntil('healed, all three up', (s) => !(s.partitions ?? []).length && s.leader !== '' && s.nodes.every((n) => n.reachable));
  });

  it("kills the leader's process on its host and fails over", async () => {
    const before = await stateUntil('a leader', (s) => s.leader !== '');
    await invoke('node.kill', { clusterId: 'lab', nodeId: before.leader });
    const after = await stateUntil('a new leader', (s) => s.leader !== '' && s.leader !== before.leader);
    expect(after.nodes.find((n) => n.id === before.leader)?.process).toBe('killed');
    expect(await invoke('kv.get', { clusterId: 'lab', key: 'greeting' })).toEqual({ value: 'hello from rc-op' });
    await invoke('node.start', { clusterId: 'lab', nodeId: before.leader });
    await stateUntil('all three back', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
  });

  it("cuts a host's link (a real partition) and heals it", async () => {
    // The cut host must not lead (the write during the cut needs the majority's leader).
    if ((await stateUntil('a leader', (s) => s.leader !== '')).leader === 'n3') await invoke('membership.transferLeader', { clusterId: 'lab', to: 'n1' });
    const state = await stateUntil('a leader not on rc-h3', (s) => s.leader !== '' && s.leader !== 'n3');
    expect(state.leader).not.toBe('n3');
    // Whatever the console shows of n3 while its host is cut, it is never a process that ended.
    const neverEnded = (s: ClusterState) => {
      const n3 = s.nodes.find((n) => n.id === 'n3');
      expect(['crashed', 'killed', 'stopped']).not.toContain(n3?.process);
      return n3;
    };
    linkDown(h3);
    try {
      await stateUntil('n3 unreachable', (s) => neverEnded(s)?.reachable === false);
      await invoke('kv.put', { clusterId: 'lab', key: 'during', value: 'the cut' });
      // Once the SSH link is known lost: "unknown (host unreachable)", with no action offered.
      const cut = await stateUntil('n3 unknown, its host unreachable', (s) => neverEnded(s)?.hostUnreachable === h3.name);
      expect(cut.nodes.find((n) => n.id === 'n3')).toMatchObject({ process: 'unknown', reachable: false, actions: [] });
      expect(cut.facts.votersSuspended).toEqual(['n3']);
      expect(cut.facts.votersDown).toEqual([]);
    } finally {
      linkUp(h3);
    }
    // Back by itself: the pool reconnects, the forwards carry on, nobody asks for anything.
    await stateUntil('n3 back and caught up', (s) => {
      const leader = s.nodes.find((n) => n.id === s.leader);
      const n3 = neverEnded(s);
      return !!leader && !!n3?.reachable && n3.process === 'running' && n3.hostUnreachable === undefined && n3.appliedIndex >= leader.commitIndex;
    });
  });

  it('deploys to the host without Node only when asked, a cut mid-upload leaves no complete-looking file, then uploads the runtime', async () => {
    const shell = consoleSide.connections.shell(h4.name);
    await expect(invoke('remote.plan', { host: h4.name })).rejects.toThrow(/raftd needs Node >= 20 and the host has no node on the login PATH.*upload its own Node .* MiB.*uploadRuntime/s);
    await expect(new Deployer().deploy(shell)).rejects.toThrow(/raftd needs Node >= 20 and the host has no node on the login PATH/);
    const bundle = await raftdBundle();
    const runtimeBytes = statSync(process.execPath).size;
    expect(await invoke('remote.plan', { host: h4.name, uploadRuntime: true })).toMatchObject({
      hostNode: null,
      runtime: 'uploaded',
      runtimeVersion: process.version,
      runtimeBytes,
      runtimePresent: false,
      bundlePresent: false,
      uploadBytes: bundle.bytes + runtimeBytes,
    });

    // Cut the link once a quarter of the runtime has gone.
    let cut = false;
    const error = await new Deployer()
      .deploy(shell, {
        uploadRuntime: true,
        onProgress: (what, sent, total) => {
          if (!cut && what.startsWith('Node') && sent > total / 4) {
            cut = true;
            linkDown(h4);
          }
        },
      })
      .catch((e: Error) => e)
      .finally(() => linkUp(h4));
    expect(cut).toBe(true);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(new RegExp(`^${h4.user}@${h4.address.replace(/\./g, '\\.')}: failed uploading Node v\\d+.*the connection was lost`));
    await whenConnected(shell, 30_000);
    const left = await shell.exec('ls -a .raft-console/node-*/ 2>/dev/null; true');
    expect(left.stdout.split('\n')).not.toContain('node');

    const deployment = await invoke<RemoteDeployment>('remote.deploy', { host: h4.name, uploadRuntime: true });
    expect(deployment.uploaded).toEqual(expect.arrayContaining([expect.stringMatching(/^Node v/)]));
    // raftd went first and arrived whole before the cut: only the runtime is sent again.
    expect(deployment.uploadedBytes).toBe(runtimeBytes);
    expect(deployment.nodePath).toMatch(new RegExp(`^${h4.home}/\\.raft-console/node-v`));
  });

  it('adds a node on the fourth host through the guided flow, then removes one', async () => {
    const { operationId, nodeId } = await invoke<{ operationId: string; nodeId: string }>('membership.addNode', { clusterId: 'lab', host: h4.name });
    await operationDone(operationId);
    const grown = await stateUntil(`${nodeId} a voter`, (s) => s.members.voters.includes(nodeId) && s.nodes.every((n) => n.reachable));
    expect(grown.members.voters).toHaveLength(4);
    const summary = (await invoke<ClusterSummary[]>('clusters.list', {})).find((c) => c.id === 'lab');
    expect(summary?.nodes.find((n) => n.id === nodeId)).toMatchObject({ host: h4.name });
    // rc-h4 has no Node of its own: its raftd runs on the runtime the console uploaded.
    const exe = await consoleSide.connections.shell(h4.name).exec(`readlink /proc/$(pgrep -u ${h4.user} -f '[r]aftd-remote.mjs raftd' | head -1)/exe`);
    expect(exe.stdout.trim()).toMatch(new RegExp(`^${h4.home}/\\.raft-console/node-v`));

    const removal = await invoke<{ operationId: string }>('membership.removeNode', { clusterId: 'lab', nodeId: 'n1' });
    await operationDone(removal.operationId);
    const shrunk = await stateUntil('n1 gone', (s) => !s.nodes.some((n) => n.id === 'n1'));
    expect(shrunk.members.voters).toHaveLength(3);
    expect(await raftdOn(h1, 'n1')).toEqual([]);
  });

  it('a start whose link is cut is rolled back: one clear error, no orphaned daemon', async () => {
    await invoke('node.stop', { clusterId: 'lab', nodeId: 'n2' });
    expect(await raftdOn(h2, 'n2')).toEqual([]);
    const starting = invoke('node.start', { clusterId: 'lab', nodeId: 'n2' }).then(
      () => null,
      (e: Error) => e,
    );
    // The lab shares this machine's processes: cut the link once the starter runs on rc-h2.
    await processAppears((cmdline) => cmdline.includes('raftd-remote.mjs start ') && cmdline.includes('/nodes/n2/'));
    linkDown(h2);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    linkUp(h2);
    const error = await starting;
    expect(error?.message).toMatch(/^rc-h2: starting node n2 was cut off \(.+\); it was rolled back \(not running\)$/);
    expect(await raftdOn(h2, 'n2')).toEqual([]);
    await stateUntil('n2 listed stopped', (s) => s.nodes.find((n) => n.id === 'n2')?.process === 'stopped');
    await invoke('node.start', { clusterId: 'lab', nodeId: 'n2' });
    await stateUntil('n2 back', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
  });

  it('a restarted console re-attaches to every remote node; a second deploy uploads nothing', async () => {
    const before = await stateUntil('all up', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
    await closeConsole(consoleSide);
    consoleSide = await openConsole();
    const after = await stateUntil('every node re-attached', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable && n.process === 'running'));
    expect(after.nodes.map((n) => n.id)).toEqual(before.nodes.map((n) => n.id));
    expect(await invoke('kv.get', { clusterId: 'lab', key: 'during' })).toEqual({ value: 'the cut' });
    // An older console version's bundle, last deployed two days ago, on one host.
    const older = 'raftd-00000000000000e1';
    await consoleSide.connections.shell(h3.name).exec(`mkdir -p .raft-console/${older} && echo old > .raft-console/${older}/raftd-remote.mjs && touch -d '2 days ago' .raft-console/${older}`);
    for (const host of [h2, h3, h4]) {
      const again = await invoke<RemoteDeployment>('remote.deploy', { host: host.name });
      expect(again).toMatchObject({ uploadedBytes: 0, uploaded: [], removed: host === h3 ? [older] : [] });
    }
    // The running nodes' own bundle stayed: every node still answers.
    await stateUntil('all still up', (s) => s.leader !== '' && s.nodes.every((n) => n.reachable && n.process === 'running'));
  });
});
