// Creating a remote cluster as the wizard does, through real sshd on the lab's hosts: the backend's
// plan, the deploy with progress per node, and a cancel in the middle of a real SFTP upload (the Node
// runtime to rc-h4, which has no Node): the upload stops on its own channel, nothing is left under
// its final name or as a temp file, nothing is created, and the host's connection keeps working. Each
// node's raftctl command, run as shown (ssh tunnel, then raftctl with the cluster's files), gets its status.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState, ClusterSummary, OperationProgress, RemoteClusterPlan } from '../../electron/shared/api.js';
import { DEPLOY_STAGES } from '../../electron/shared/api.js';
import { raftctlCommand } from '../../electron/shared/raftctl-command.js';
import { ConsoleService, type ConsoleSession } from '../../electron/services/console-service.js';
import { HostConnections } from '../../electron/services/remote/host-connections.js';
import type { HostProfile } from '../../electron/services/remote/host-profile.js';
import { KnownHosts } from '../../electron/services/remote/known-hosts.js';
import { RemoteHosts } from '../../electron/services/remote/remote-host.js';
import { promisify } from 'node:util';
import { hostByIndex, requireLab, type Lab } from './lab.js';

const run = promisify(execFile);

const lab: Lab = requireLab();
const hosts = [1, 2, 3, 4].map((i) => hostByIndex(lab, i));
const [h1, h2, h3, h4] = hosts;

let dir: string;
let connections: HostConnections;
let service: ConsoleService;
let session: ConsoleSession;
const progress: OperationProgress[] = [];
const profiles = new Map<string, HostProfile>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-remote-create-lab-'));
  await writeFile(join(dir, 'user_known_hosts'), '');
  const knownHosts = new KnownHosts({ consoleFile: join(dir, 'known_hosts'), readOnlyFiles: [join(dir, 'user_known_hosts')] });
  for (const host of hosts) {
    const [keyType, key] = host.hostKeyPublic.split(' ');
    await knownHosts.accept({ host: host.address, port: host.port, keyType, key, fingerprint: host.hostKeyFingerprint });
    profiles.set(host.name, { id: host.name, name: host.name, address: host.address, port: host.port, user: host.user, auth: { kind: 'key', keyFile: lab.clientKey }, jumpHostId: null, groups: [], createdAt: 0, updatedAt: 0 });
  }
  connections = new HostConnections({
    directory: { resolve: async (id) => ({ profile: profiles.get(id) as HostProfile }) },
    knownHosts,
    tcpTimeoutMs: 4_000,
    handshakeTimeoutMs: 10_000,
    keepaliveIntervalMs: 1_000,
    keepaliveCountMax: 2,
    reconnectInitialMs: 200,
    reconnectMaxMs: 1_000,
  });
  service = await ConsoleService.open({
    dataDir: join(dir, 'console'),
    demoOnFirstRun: false,
    remote: { hosts: new RemoteHosts({ shell: (id) => connections.shell(id), address: (id) => (profiles.get(id) as HostProfile).address }), create: { joinTimeoutMs: 60_000 } },
    feed: { pollMs: 300, minRefreshMs: 100 },
  });
  session = service.openSession((event, payload) => {
    if (event === 'operation.progress') progress.push(payload as OperationProgress);
  });
});

afterAll(async () => {
  if (session) {
    for (const c of (await session.invoke('clusters.list', {}).catch(() => [])) as ClusterSummary[]) await session.invoke('clusters.delete', { clusterId: c.id }).catch(() => undefined);
    session.close();
  }
  await service?.close();
  await connections?.closeAll();
  await rm(dir, { recursive: true, force: true });
});

async function finished(operationId: string, timeoutMs = 180_000): Promise<OperationProgress> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const done = progress.find((p) => p.operationId === operationId && p.done);
    if (done) return done;
    if (Date.now() > deadline) throw new Error(`operation ${operationId} did not finish: ${JSON.stringify(progress.at(-1)?.nodes)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('remote.createCluster on the lab hosts', () => {
  it('carries out the plan on rc-h1..rc-h3 with progress per node, each node through every stage to the leader', async () => {
    const plan = (await session.invoke('remote.clusterPlan', { name: 'planned', hosts: [h1.name, h2.name, h3.name] })) as RemoteClusterPlan;
    expect(plan.problems).toEqual([]);
    for (const [i, node] of plan.nodes.entries()) {
      expect(node.peer).toMatch(new RegExp(`^${hosts[i].address.replace(/\./g, '\\.')}:\\d+$`));
      expect(node.dataDir).toBe(`${hosts[i].home}/.raft-console/clusters/planned/nodes/${node.nodeId}/data`);
    }
    const { operationId, clusterId } = (await session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    const done = await finished(operationId);
    expect(done.error).toBeUndefined();
    for (const [i, node] of plan.nodes.entries()) {
      const seen = progress.filter((p) => p.operationId === operationId).map((p) => p.nodes?.find((n) => n.nodeId === node.nodeId)?.stage);
      expect(seen.filter((s, j) => s !== seen[j - 1])).toEqual(DEPLOY_STAGES);
      expect(done.nodes?.find((n) => n.nodeId === node.nodeId)).toMatchObject({ stage: 'leader', state: 'done', uploadedBytes: plan.hosts[i].deploy?.uploadBytes });
    }
    const state = (await session.invoke('cluster.state', { clusterId })) as ClusterState;
    expect(state.leader).not.toBe('');

    // The raftctl command each node shows works as shown from this machine: the SSH tunnel to the
    // node's loopback client port, then raftctl with the cluster's token and client certificate.
    // (The operator's ssh has their key and known hosts; here a wrapper gives ssh the lab's with -F.)
    const summary = ((await session.invoke('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === clusterId)!;
    const sshDir = join(dir, 'ssh');
    await mkdir(join(sshDir, 'bin'), { recursive: true });
    await writeFile(join(sshDir, 'known_hosts'), hosts.map((h) => `${h.address} ${h.hostKeyPublic}`).join('\n') + '\n');
    await writeFile(join(sshDir, 'config'), `Host *\n  IdentityFile ${lab.clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${join(sshDir, 'known_hosts')}\n  StrictHostKeyChecking yes\n  BatchMode yes\n`);
    await writeFile(join(sshDir, 'bin', 'ssh'), `#!/bin/sh\nexec /usr/bin/ssh -F ${join(sshDir, 'config')} "$@"\n`, { mode: 0o755 });
    for (const [i, node] of summary.nodes.entries()) {
      const command = raftctlCommand(node, summary.access, { user: hosts[i].user, address: hosts[i].address, port: hosts[i].port })!;
      expect(command).toMatch(/^ssh -f .* && npx raftctl --endpoints 127\.0\.0\.1:\d+ --token-file .* --tls-cert .* --tls-key .* --tls-ca .* status$/);
      const { stdout } = await run('bash', ['-c', command], { cwd: process.cwd(), timeout: 90_000, env: { ...process.env, PATH: `${join(sshDir, 'bin')}:${process.env.PATH}` } });
      expect(stdout.trim().split(/\s+/)[1]).toBe(node.id);
    }
    await session.invoke('clusters.delete', { clusterId });
  }, 240_000);

  it('a cancel in the middle of the Node runtime upload to rc-h4 stops it: no file under its final name, no temp file, nothing created', async () => {
    const shell = connections.shell(h4.name);
    await shell.exec('rm -rf .raft-console/node-*');
    const plan = (await session.invoke('remote.clusterPlan', { name: 'stopped', hosts: [h4.name], uploadRuntime: true })) as RemoteClusterPlan;
    expect(plan.hosts[0].deploy).toMatchObject({ runtime: 'uploaded', runtimePresent: false });
    const runtimeBytes = plan.hosts[0].deploy!.runtimeBytes!;
    const { operationId } = (await session.invoke('remote.createCluster', { planId: plan.planId })) as { operationId: string };
    const deadline = Date.now() + 60_000;
    while (!progress.some((p) => p.operationId === operationId && p.nodes?.some((n) => n.upload && n.upload.total === runtimeBytes && n.upload.sent > 0 && n.upload.sent < runtimeBytes))) {
      if (Date.now() > deadline) throw new Error(`no runtime upload under way: ${JSON.stringify(progress.at(-1)?.nodes)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await session.invoke('operation.cancel', { operationId })).toEqual({ cancelled: true });
    const done = await finished(operationId);
    expect(done).toMatchObject({ cancelled: true });
    expect(done.error).toMatch(/^cancelled: nothing was created/);
    expect(done.nodes?.[0]).toMatchObject({ stage: 'upload', state: 'cancelled' });
    expect(((await session.invoke('clusters.list', {})) as ClusterSummary[]).map((c) => c.id)).not.toContain(plan.clusterId);
    const left = await shell.exec(`find .raft-console -path '*node-v*' -type f; find .raft-console -name '*.tmp-*'; ls -d .raft-console/clusters/${plan.clusterId} 2>/dev/null; true`);
    expect(left.stdout.trim()).toBe('');
    // The host's connection carries on.
    expect((await shell.exec('true')).code).toBe(0);
  }, 180_000);
});
