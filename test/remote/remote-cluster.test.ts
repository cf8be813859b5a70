// A remote cluster end to end on this machine: three "hosts" (LocalShells, each its own home), the
// real RaftdCluster over RemoteProcesses, the console reaching every node only through forwarded ports.
// The lab test does the same through real sshd on hosts with their own addresses.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState } from '../../electron/shared/api.js';
import { ActivityLog } from '../../electron/services/activity.js';
import type { ClusterDriver } from '../../electron/services/cluster-driver.js';
import { ClusterRegistry, type ClusterRecord } from '../../electron/services/cluster-registry.js';
import { MembershipGuide } from '../../electron/services/membership.js';
import { OperationRunner } from '../../electron/services/operations.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { clusterKinds, type ClusterKind } from '../../electron/services/cluster-kinds.js';
import { DataLayout } from '../../electron/services/paths.js';
import type { RemoteCreateParams } from '../../electron/services/remote/remote-cluster.js';
import { RemoteHosts, type HostLookup } from '../../electron/services/remote/remote-host.js';
import { remoteNodeDir } from '../../electron/services/remote/remote-processes.js';

let scratch: string;
let registry: ClusterRegistry;
const shells = new Map<string, LocalShell>();
const directory: HostLookup = {
  shell: (profile) => shells.get(profile) as LocalShell,
  address: () => '127.0.0.1',
};

let remoteHosts: RemoteHosts;
/** The remote kind as the console has it: with mutual TLS from a CA kept in the console's data dir. */
function remoteKind(): ClusterKind<RemoteCreateParams> {
  remoteHosts = new RemoteHosts(directory);
  return clusterKinds({
    layout: new DataLayout(join(scratch, 'console')),
    remote: { hosts: remoteHosts, processes: { extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000'] } },
    feed: { pollMs: 200, minRefreshMs: 50 },
    embeddedRuns: false,
  }).remote;
}

async function until(what: string, driver: ClusterDriver, ready: (state: ClusterState) => boolean, timeoutMs = 30_000): Promise<ClusterState> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await driver.refresh();
    if (ready(state)) return state;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}: ${JSON.stringify(state.nodes.map((n) => [n.id, n.process, n.role, n.reachable, n.error]))}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-remote-cluster-'));
  for (const name of ['h1', 'h2', 'h3', 'h4']) {
    await mkdir(join(scratch, name));
    shells.set(name, new LocalShell({ home: join(scratch, name), followPollMs: 100 }));
  }
  registry = await ClusterRegistry.open(join(scratch, 'clusters.json'), () => undefined);
});

afterAll(async () => {
  // Whatever a failed test left running is stopped by its pid file's owner check, host by host.
  for (const shell of shells.values()) {
    await shell.exec(`for l in ${'$'}(find ${remoteRoot()} -name node.lock 2>/dev/null); do for p in ${'$'}(grep -o '"pid":[0-9]*' "${'$'}l" | cut -d: -f2); do kill -9 "${'$'}p" 2>/dev/null; done; done; true`);
  }
  await rm(scratch, { recursive: true, force: true });
});

function remoteRoot(): string {
  return '.raft-console';
}

describe('a remote cluster', () => {
  it('is created across hosts, elects, serves KV through the tunnels, fails over, grows and shrinks by the guided flow, and re-attaches', async () => {
    const kind = remoteKind();
    const ids = ['n1', 'n2', 'n3'];
    const defined = await kind.define(ids, { name: 'Far', kind: 'remote', size: 3, hosts: ['h1', 'h2', 'h3'], uploadRuntime: false }, registry, 'far');
    const record: ClusterRecord = { id: 'far', name: 'Far', kind: 'remote', createdAt: Date.now(), ...defined };
    expect(record.tls).toBe(true);
    expect(record.nodes.map((n) => n.host)).toEqual(['h1', 'h2', 'h3']);
    // Peers on the host's address, clients on its loopback, every client port distinct (redirects name them).
    expect(new Set(record.nodes.map((n) => n.client)).size).toBe(3);
    for (const node of record.nodes) expect(node.client).toMatch(/^127\.0\.0\.1:\d+$/);
    await registry.add(record);

    const driver = await kind.attach(record, registry, () => undefined);
    try {
      await driver.start();
      let state = await until('a leader', driver, (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));

      // Mutual TLS: a node's client port refuses plain HTTP; each host holds its node's key (0600), never the CA key.
      await expect(fetch(`http://${record.nodes[0].client}/v1/status`, { signal: AbortSignal.timeout(5000) })).rejects.toThrow();
      const modes = await directory.shell('h1').exec(`stat -c '%a %n' ${remoteNodeDir('far', 'n1')}/tls-*`);
      expect(modes.stdout.trim().split('\n').sort()).toEqual(['tls-ca.crt', 'tls-node.crt', 'tls-node.key'].map((f) => `600 ${remoteNodeDir('far', 'n1')}/${f}`));
      const keys = await directory.shell('h1').exec(`find . -name '*.key'`);
      expect(keys.stdout.trim().split('\n')).toEqual([`./${remoteNodeDir('far', 'n1')}/tls-node.key`]);

      // Writes go to any node: a follower's 307 names the leader's client address, mapped to its tunnel.
      await driver.kvPut('greeting', 'hello');
      expect(await driver.kvGet('greeting', false)).toEqual({ value: 'hello' });

      // Kill the leader's process on its host: another takes over and still serves the data.
      const oldLeader = state.leader;
      await driver.node(oldLeader, 'kill');
      state = await until('a new leader', driver, (s) => s.leader !== '' && s.leader !== oldLeader);
      expect(state.nodes.find((n) => n.id === oldLeader)?.process).toBe('killed');
      expect(await driver.kvGet('greeting', false)).toEqual({ value: 'hello' });
      await driver.node(oldLeader, 'start');
      state = await until('the old leader back', driver, (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));

      // Partition one node away (raftd's /v1/fault) and heal.
      const lonely = state.nodes.find((n) => n.id !== state.leader)?.id as string;
      await driver.partition([[lonely]]);
      await driver.kvPut('during', 'partition');
      await driver.heal();
      await until(`${lonely} caught up`, driver, (s) => {
        const leader = s.nodes.find((n) => n.id === s.leader);
        return !!leader && s.nodes.find((n) => n.id === lonely)?.appliedIndex === leader.appliedIndex;
      });

      // Grow onto a fourth host through the guided one-at-a-time flow, then shrink.
      const operations: Array<{ done: boolean; error?: string }> = [];
      const guide = new MembershipGuide(new OperationRunner((p) => operations.push(p), new ActivityLog(() => undefined)), { pollMs: 100, stepTimeoutMs: 30_000 });
      remoteHosts.placeNextNode('far', { profile: 'h4', uploadRuntime: false });
      const { nodeId } = guide.addNode(driver);
      await waitDone(operations);
      expect(registry.get('far').nodes.find((n) => n.id === nodeId)?.host).toBe('h4');
      state = await until(`${nodeId} a voter`, driver, (s) => s.members.voters.includes(nodeId));
      expect(state.members.voters).toHaveLength(4);

      operations.length = 0;
      guide.removeNode(driver, 'n1');
      await waitDone(operations);
      state = await until('n1 gone', driver, (s) => !s.members.voters.includes('n1'));
      expect(registry.get('far').nodes.map((n) => n.id)).not.toContain('n1');
      const { stdout } = await directory.shell('h1').exec(`ls ${remoteNodeDir('far', 'n1')}`);
      expect(stdout.split('\n')).not.toContain('data');

      // A console restart: a new kind, new hosts, new driver: every remote node re-attached as it runs.
      const pids = state.nodes.map((n) => [n.id, n.process]);
      await driver.close();
      const again = await remoteKind().attach(registry.get('far'), registry, () => undefined);
      const reattached = await until('every node re-attached', again, (s) => s.leader !== '' && s.nodes.every((n) => n.reachable));
      expect(reattached.nodes.map((n) => [n.id, n.process])).toEqual(pids);
      expect(await again.kvGet('during', false)).toEqual({ value: 'partition' });
      await again.destroy();
      const left = await directory.shell('h2').exec(`ls ${remoteRoot()}/clusters`);
      expect(left.stdout.trim()).toBe('');
    } finally {
      await driver.close().catch(() => undefined);
    }
  }, 240_000);
});

async function waitDone(operations: Array<{ done: boolean; error?: string }>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!operations.some((o) => o.done)) {
    if (Date.now() > deadline) throw new Error('the operation did not finish');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const last = operations.find((o) => o.done);
  if (last?.error) throw new Error(last.error);
}
