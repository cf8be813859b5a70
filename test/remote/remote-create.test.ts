// Creating a remote cluster through the console service as the wizard does it: remote.clusterPlan
// (decided by the backend, changing nothing), then remote.createCluster with progress per node,
// a failure shown on the node where it happened, and cancel undoing what was made. The "hosts" are
// LocalShells with homes of their own; the lab test does the same through real sshd.
import { createServer, type Server } from 'node:net';
import { mkdir, mkdtemp, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState, ClusterSummary, OperationProgress, RemoteClusterPlan } from '../../electron/shared/api.js';
import { DEPLOY_STAGES } from '../../electron/shared/api.js';
import { ConsoleService, type ConsoleSession } from '../../electron/services/console-service.js';
import { raftdBundle } from '../../electron/services/remote/deploy-bundle.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { PLANNED_PORTS, RemoteHosts } from '../../electron/services/remote/remote-host.js';
import { RemoteError } from '../../electron/services/remote/remote-shell.js';
import { StalledUploadShell } from './stalled-upload-shell.js';

let scratch: string;
const opened: Array<{ service: ConsoleService; session: ConsoleSession }> = [];

interface Side {
  service: ConsoleService;
  session: ConsoleSession;
  shells: Map<string, LocalShell>;
  progress: OperationProgress[];
}

async function openConsole(
  name: string,
  hostNames: string[],
  shellFor: (home: string) => LocalShell = (home) => new LocalShell({ home, followPollMs: 100 }),
  processes: { stopTimeoutMs?: number } = {},
  /** The names the operator gave the host profiles (keyed by profile id); without one a host has none. */
  displayNames: Record<string, string> = {},
): Promise<Side> {
  const root = join(scratch, name);
  const shells = new Map<string, LocalShell>();
  for (const host of hostNames) {
    await mkdir(join(root, host), { recursive: true });
    shells.set(host, shellFor(join(root, host)));
  }
  const hosts = new RemoteHosts({
    shell: (profile) => shells.get(profile) as LocalShell,
    address: () => '127.0.0.1',
    displayName: (profile) => displayNames[profile] ?? profile,
  });
  const service = await ConsoleService.open({
    dataDir: join(root, 'console'),
    demoOnFirstRun: false,
    remote: { hosts, processes: { extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000'], ...processes }, create: { joinTimeoutMs: 30_000, pollMs: 100 } },
    feed: { pollMs: 200, minRefreshMs: 50 },
  });
  const progress: OperationProgress[] = [];
  const session = service.openSession((event, payload) => {
    if (event === 'operation.progress') progress.push(payload as OperationProgress);
  });
  opened.push({ service, session });
  return { service, session, shells, progress };
}

async function finished(side: Side, operationId: string, timeoutMs = 120_000): Promise<OperationProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = side.progress.find((p) => p.operationId === operationId && p.done);
    if (done) return done;
    if (Date.now() > deadline) throw new Error(`operation ${operationId} did not finish: ${JSON.stringify(side.progress.at(-1))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function until(side: Side, what: string, ready: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(side.progress.at(-1)?.nodes)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** raftd processes (or their keepers) running in the host's home (LocalShell hosts share this machine's /proc). */
async function raftdUnder(home: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cwd = await readlink(`/proc/${entry}/cwd`).catch(() => '');
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (cwd === home && cmdline.includes('raftd-remote.mjs')) pids.push(Number(entry));
  }
  return pids;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-remote-create-'));
  await raftdBundle(); // built once, before any timing-bounded step
}, 120_000);

afterAll(async () => {
  for (const { service, session } of opened) {
    for (const summary of (await session.invoke('clusters.list', {}).catch(() => [])) as ClusterSummary[]) {
      await session.invoke('clusters.delete', { clusterId: summary.id }).catch(() => undefined);
    }
    session.close();
    await service.close();
  }
  await rm(scratch, { recursive: true, force: true });
}, 60_000);

describe('remote.clusterPlan', () => {
  it("decides each node's host, ports, data dir and log file and what each host's deploy sends, changing nothing", async () => {
    const side = await openConsole('plan', ['h1', 'h2']);
    const bundle = await raftdBundle();
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Far', hosts: ['h1', 'h2', 'h1'], nodeNames: ['a', 'b', 'c'] })) as RemoteClusterPlan;
    expect(plan.clusterId).toBe('far');
    expect(plan.problems).toEqual([]);
    expect(plan.nodes.map((n) => [n.nodeId, n.host])).toEqual([['a', 'h1'], ['b', 'h2'], ['c', 'h1']]);
    for (const node of plan.nodes) {
      const home = side.shells.get(node.host)!.home;
      expect(node.dataDir).toBe(`${home}/.raft-console/clusters/far/nodes/${node.nodeId}/data`);
      expect(node.logFile).toBe(`${home}/.raft-console/clusters/far/nodes/${node.nodeId}/logs/raftd.log`);
      expect(node.peer).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(node.client).toMatch(/^127\.0\.0\.1:\d+$/);
      for (const address of [node.peer!, node.client!]) {
        const port = Number(address.split(':')[1]);
        expect(port).toBeGreaterThanOrEqual(PLANNED_PORTS[0]);
        expect(port).toBeLessThan(PLANNED_PORTS[1]);
      }
    }
    const ports = plan.nodes.flatMap((n) => [n.peer, n.client]);
    expect(new Set(ports).size).toBe(ports.length);
    expect(plan.hosts.map((h) => [h.host, h.deploy?.bundlePresent, h.deploy?.uploadBytes])).toEqual([
      ['h1', false, bundle.bytes],
      ['h2', false, bundle.bytes],
    ]);
    expect(plan.uploadBytes).toBe(2 * bundle.bytes);
    // Nothing was written on the hosts, and no cluster exists.
    for (const shell of side.shells.values()) expect(await readdir(shell.home)).toEqual([]);
    expect(await side.session.invoke('clusters.list', {})).toEqual([]);
  });

  it('names the host that cannot be deployed to, and such a plan cannot be carried out', async () => {
    const side = await openConsole('plan-refused', ['h1']);
    // A host with no Node on its login PATH, as the deploy finds it.
    const shell = side.shells.get('h1')!;
    const exec = shell.exec.bind(shell);
    shell.exec = (cmd, opts) => exec(cmd.includes('command -v node') ? cmd.replace('command -v node', 'command -v no-such-node') : cmd, opts);
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'NoNode', hosts: ['h1'] })) as RemoteClusterPlan;
    expect(plan.problems).toHaveLength(1);
    expect(plan.problems[0]).toMatch(/^h1: .*raftd needs Node >= 20/);
    expect(plan.hosts[0].error).toBe(plan.problems[0]);
    expect(plan.nodes).toEqual([{ nodeId: 'n1', host: 'h1' }]);
    await expect(side.session.invoke('remote.createCluster', { planId: plan.planId })).rejects.toThrow(/cannot be carried out: h1: .*Node >= 20/);
    await expect(side.session.invoke('remote.createCluster', { planId: 'no-such-plan' })).rejects.toThrow(/review the plan again/);
  });
});

describe('remote.createCluster', () => {
  it('carries out the plan with progress per node: connect, upload with bytes, start, join, leader', async () => {
    const side = await openConsole('create', ['h1', 'h2', 'h3']);
    const bundle = await raftdBundle();
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Far', hosts: ['h1', 'h2', 'h3'] })) as RemoteClusterPlan;
    const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    expect(clusterId).toBe(plan.clusterId);
    const done = await finished(side, operationId);
    expect(done.error).toBeUndefined();
    expect(done.cancellable).toBe(true);

    const events = side.progress.filter((p) => p.operationId === operationId);
    // Every node went through every stage, in order, and ended with the leader seen.
    for (const nodeId of ['n1', 'n2', 'n3']) {
      const stages = events.map((e) => e.nodes?.find((n) => n.nodeId === nodeId)?.stage).filter((s, i, all) => s !== all[i - 1]);
      expect(stages).toEqual(DEPLOY_STAGES);
      expect(done.nodes?.find((n) => n.nodeId === nodeId)).toMatchObject({ stage: 'leader', state: 'done', uploadedBytes: bundle.bytes });
      // Upload bytes reached the bundle's size.
      const uploads = events.map((e) => e.nodes?.find((n) => n.nodeId === nodeId)?.upload).filter((u) => u !== undefined);
      expect(uploads.at(-1)).toEqual({ what: 'raftd', sent: bundle.bytes, total: bundle.bytes });
    }
    // The cluster runs as planned: the addresses the plan showed, one leader.
    const state = (await side.session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.leader).not.toBe('');
    const summary = ((await side.session.invoke('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === clusterId)!;
    expect(summary.nodes.map((n) => [n.id, n.host, n.peer, n.client])).toEqual(plan.nodes.map((n) => [n.nodeId, n.host, n.peer, n.client]));
  }, 180_000);

  it('a node that cannot start fails on that node, with the reason; the create is undone and nothing is left on the hosts', async () => {
    const side = await openConsole('fail', ['h1', 'h2']);
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Busy', hosts: ['h1', 'h2'] })) as RemoteClusterPlan;
    // Something else takes n2's peer port after the plan was made.
    const port = Number(plan.nodes[1].peer!.split(':')[1]);
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
      const done = await finished(side, operationId);
      expect(done.error).toMatch(/removed again/);
      expect(done.cancelled).toBeUndefined();
      const n2 = done.nodes?.find((n) => n.nodeId === 'n2');
      expect(n2).toMatchObject({ stage: 'start', state: 'failed' });
      expect(n2?.error).toMatch(new RegExp(`h2: node n2 cannot start: .*${port}`));
      expect(done.nodes?.find((n) => n.nodeId === 'n1')?.state).not.toBe('failed');
      expect(await side.session.invoke('clusters.list', {})).toEqual([]);
      for (const host of ['h1', 'h2']) {
        expect(await readdir(join(side.shells.get(host)!.home, '.raft-console', 'clusters')).catch(() => [])).not.toContain(clusterId);
        expect(await raftdUnder(side.shells.get(host)!.home)).toEqual([]);
      }
    } finally {
      squatter.close();
    }
  }, 180_000);

  it('cancelled during the upload: the upload stops, nothing is created, no file is left under its final name', async () => {
    const side = await openConsole('cancel-upload', ['h1', 'h2'], (home) => new StalledUploadShell(home));
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Stopped', hosts: ['h1', 'h2'] })) as RemoteClusterPlan;
    const { operationId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string };
    await Promise.race([...side.shells.values()].map((shell) => (shell as StalledUploadShell).uploadStarted));
    await until(side, 'upload bytes shown', () => side.progress.some((p) => p.nodes?.some((n) => n.upload?.sent === 4096)));
    expect(await side.session.invoke('operation.cancel', { operationId })).toEqual({ cancelled: true });
    const done = await finished(side, operationId);
    expect(done.cancelled).toBe(true);
    expect(done.error).toMatch(/^cancelled: nothing was created/);
    for (const node of done.nodes ?? []) expect(node).toMatchObject({ stage: 'upload', state: 'cancelled' });
    expect(await side.session.invoke('clusters.list', {})).toEqual([]);
    for (const shell of side.shells.values()) {
      const found = await shell.exec('find .raft-console -type f 2>/dev/null; true');
      expect(found.stdout.trim()).toBe('');
    }
    // Finished: cancelling again does nothing.
    expect(await side.session.invoke('operation.cancel', { operationId })).toEqual({ cancelled: false });
  }, 120_000);

  it('cancelled once nodes run: a start under way is waited for, then every node is stopped and the cluster removed from the console and the hosts', async () => {
    // h3's start hangs (a slow host) until the test lets it go: the cancel lands while n1 and n2 run.
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const side = await openConsole('cancel-start', ['h1', 'h2', 'h3'], (home) => {
      const shell = new LocalShell({ home, followPollMs: 100 });
      if (home.endsWith('/h3')) {
        const exec = shell.exec.bind(shell);
        shell.exec = async (cmd, opts) => {
          if (cmd.includes('start-spec.json') && cmd.includes(' start ')) await gate;
          return exec(cmd, opts);
        };
      }
      return shell;
    });
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Undone', hosts: ['h1', 'h2', 'h3'] })) as RemoteClusterPlan;
    const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    const nodeAt = (nodeId: string, stage: string, state: string) => side.progress.at(-1)?.nodes?.some((n) => n.nodeId === nodeId && n.stage === stage && n.state === state) ?? false;
    await until(side, 'n1 and n2 started, n3 starting', () => nodeAt('n1', 'start', 'done') && nodeAt('n2', 'start', 'done') && nodeAt('n3', 'start', 'running'));
    expect(await side.session.invoke('operation.cancel', { operationId })).toEqual({ cancelled: true });
    release();
    const done = await finished(side, operationId);
    expect(done.cancelled).toBe(true);
    expect(done.error).toMatch(/^cancelled: the cluster was removed again/);
    expect(done.nodes?.map((n) => n.state)).toEqual(['cancelled', 'cancelled', 'cancelled']);
    expect(await side.session.invoke('clusters.list', {})).toEqual([]);
    for (const shell of side.shells.values()) {
      expect(await readdir(join(shell.home, '.raft-console', 'clusters')).catch(() => [])).not.toContain(clusterId);
      expect(await raftdUnder(shell.home)).toEqual([]);
      // The deployed raftd stays: it belongs to the host, for every cluster.
      expect((await readdir(join(shell.home, '.raft-console'))).some((d) => d.startsWith('raftd-'))).toBe(true);
    }
  }, 180_000);

  it('deleting a cluster kills a node that is still running when the wait after SIGTERM ends; nothing is left behind', async () => {
    // h1 never passes SIGTERM on (as if raftd were stuck in a slow shutdown): the stop's wait runs out.
    const side = await openConsole(
      'stuck-stop',
      ['h1'],
      (home) => {
        const shell = new LocalShell({ home, followPollMs: 100 });
        const exec = shell.exec.bind(shell);
        shell.exec = (cmd, opts) => exec(cmd.replaceAll('kill -TERM ', 'true '), opts);
        return shell;
      },
      { stopTimeoutMs: 1500 },
    );
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Stuck', hosts: ['h1'] })) as RemoteClusterPlan;
    const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    expect((await finished(side, operationId)).error).toBeUndefined();
    const home = side.shells.get('h1')!.home;
    expect(await raftdUnder(home)).not.toEqual([]);
    await side.session.invoke('clusters.delete', { clusterId });
    expect(await side.session.invoke('clusters.list', {})).toEqual([]);
    expect(await raftdUnder(home)).toEqual([]);
    expect(await readdir(join(home, '.raft-console', 'clusters')).catch(() => [])).not.toContain(clusterId);
  }, 120_000);

  it('a node added on a chosen host runs there; a refused add leaves no choice behind for the next one', async () => {
    const side = await openConsole('grow', ['h1', 'h2']);
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Grow', hosts: ['h1'] })) as RemoteClusterPlan;
    const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    expect((await finished(side, operationId)).error).toBeUndefined();
    const hostOf = async (nodeId: string) => ((await side.session.invoke('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === clusterId)?.nodes.find((n) => n.id === nodeId)?.host;

    // Refused at once (the name is taken): h2 was asked for, and must not be used later.
    await expect(side.session.invoke('membership.addNode', { clusterId, nodeId: 'n1', host: 'h2' })).rejects.toThrow(/already has a node "n1"/);
    const added = (await side.session.invoke('membership.addNode', { clusterId })) as { operationId: string; nodeId: string };
    expect((await finished(side, added.operationId)).error).toBeUndefined();
    expect(await hostOf(added.nodeId)).toBe('h1');

    const chosen = (await side.session.invoke('membership.addNode', { clusterId, host: 'h2' })) as { operationId: string; nodeId: string };
    expect((await finished(side, chosen.operationId)).error).toBeUndefined();
    expect(await hostOf(chosen.nodeId)).toBe('h2');
    // h2 had no raftd yet: the guided add said so while it uploaded it, bytes and all.
    const steps = side.progress.filter((p) => p.operationId === chosen.operationId).map((p) => p.step);
    const bundle = await raftdBundle();
    const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
    expect(steps).toContain(`h2: uploading raftd: ${mib(bundle.bytes)} of ${mib(bundle.bytes)}`);
    expect(steps.indexOf(`starting ${chosen.nodeId} on h2`)).toBeGreaterThan(steps.indexOf('deploying raftd to h2 if needed'));
    const state = (await side.session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.members.voters.sort()).toEqual(['n1', added.nodeId, chosen.nodeId].sort());
  }, 240_000);

  it("a node added on a host without Node: refused with the offer; with uploadRuntime the console's Node goes there and the node runs on it", async () => {
    const side = await openConsole('grow-runtime', ['h1', 'h2']);
    // h2's login PATH finds no Node, as the deploy looks for it.
    const shell = side.shells.get('h2')!;
    const exec = shell.exec.bind(shell);
    shell.exec = (cmd, opts) => exec(cmd.includes('command -v node') ? cmd.replace('command -v node', 'command -v no-such-node') : cmd, opts);
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Runtime', hosts: ['h1'] })) as RemoteClusterPlan;
    const { operationId, clusterId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    expect((await finished(side, operationId)).error).toBeUndefined();

    const refused = (await side.session.invoke('membership.addNode', { clusterId, host: 'h2' })) as { operationId: string; nodeId: string };
    expect((await finished(side, refused.operationId)).error).toMatch(/raftd needs Node >= 20 .*The console can upload its own Node/);
    let state = (await side.session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.members.voters).toEqual(['n1']);
    expect(state.members.learners).toEqual([]);

    const added = (await side.session.invoke('membership.addNode', { clusterId, host: 'h2', uploadRuntime: true })) as { operationId: string; nodeId: string };
    expect((await finished(side, added.operationId)).error).toBeUndefined();
    state = (await side.session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.members.voters.sort()).toEqual(['n1', added.nodeId].sort());
    const summary = ((await side.session.invoke('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === clusterId)!;
    expect(summary.nodes.find((n) => n.id === added.nodeId)?.host).toBe('h2');
    // The node on h2 runs on the runtime the console sent, not on a Node of the host's.
    const pids = await raftdUnder(shell.home);
    expect(pids.length).toBeGreaterThan(0);
    const runtimes = await Promise.all(pids.map((pid) => readlink(`/proc/${pid}/exe`)));
    expect(runtimes.some((exe) => exe.startsWith(shell.home))).toBe(true);
  }, 240_000);

  it("progress names each host by the name the operator gave its profile, never by the profile's id", async () => {
    const side = await openConsole('host-names', ['host-45a80886'], undefined, {}, { 'host-45a80886': 'rc-h1' });
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Named', hosts: ['host-45a80886'] })) as RemoteClusterPlan;
    // The create goes through connect and the deploy, then stops where the cluster is opened: no node runs.
    const shell = side.shells.get('host-45a80886')!;
    const forward = shell.forwardLocal.bind(shell);
    shell.forwardLocal = () => Promise.reject(new RemoteError('connection-lost', 'the link dropped while forwarding'));
    try {
      const { operationId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string };
      const done = await finished(side, operationId);
      expect(done.error).toMatch(/nothing was created$/);
      const steps = side.progress.filter((p) => p.operationId === operationId).map((p) => p.step);
      expect(steps).toContain('rc-h1: connect');
      expect(steps).toContain('rc-h1: deployed');
      expect(steps.filter((step) => step.includes('host-45a80886'))).toEqual([]);
      // The node rows still say which profile: the id is the reference, the renderer shows its name.
      expect(done.nodes?.map((n) => n.host)).toEqual(['host-45a80886']);
    } finally {
      shell.forwardLocal = forward;
    }
  }, 120_000);

  it('a cluster that cannot be opened once defined (its tunnel fails) is not kept: nothing is left in the console', async () => {
    const side = await openConsole('attach-fails', ['h1']);
    const plan = (await side.session.invoke('remote.clusterPlan', { name: 'Tunnel', hosts: ['h1'] })) as RemoteClusterPlan;
    const shell = side.shells.get('h1')!;
    const forward = shell.forwardLocal.bind(shell);
    shell.forwardLocal = () => Promise.reject(new RemoteError('connection-lost', 'the link dropped while forwarding'));
    try {
      const { operationId } = (await side.session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string };
      const done = await finished(side, operationId);
      expect(done.error).toMatch(/the link dropped while forwarding; nothing was created$/);
    } finally {
      shell.forwardLocal = forward;
    }
    expect(await side.session.invoke('clusters.list', {})).toEqual([]);
    // The same name can be planned and created again.
    const again = (await side.session.invoke('remote.clusterPlan', { name: 'Tunnel', hosts: ['h1'] })) as RemoteClusterPlan;
    expect(again.clusterId).toBe(plan.clusterId);
  }, 120_000);
});
