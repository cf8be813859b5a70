// Cancelling a guided add on a remote host while raftd is still being uploaded there: the cancel
// reaches the deploy (provisionNode → defineNode → RemoteHost.deployment), the upload stops, and
// nothing is left: no node in the cluster or its configuration, no file on the host. Hosts are
// LocalShell homes on this machine, as in test/remote/remote-create.test.ts.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterState, ClusterSummary, OperationProgress, RemoteClusterPlan } from '../../../electron/shared/api.js';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import { raftdBundle } from '../../../electron/services/remote/deploy-bundle.js';
import { LocalShell } from '../../../electron/services/remote/local-shell.js';
import { RemoteHosts } from '../../../electron/services/remote/remote-host.js';
import { StalledUploadShell } from '../../remote/stalled-upload-shell.js';
import { eventually } from '../helpers.js';

let scratch: string;
let service: ConsoleService | undefined;
let session: ConsoleSession | undefined;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rc-membership-cancel-'));
  await raftdBundle(); // built once, before anything waits on it
}, 120_000);

afterAll(async () => {
  if (session) {
    for (const summary of (await session.invoke('clusters.list', {}).catch(() => [])) as ClusterSummary[]) {
      await session.invoke('clusters.delete', { clusterId: summary.id }).catch(() => undefined);
    }
    session.close();
  }
  await service?.close();
  await rm(scratch, { recursive: true, force: true });
}, 60_000);

describe('cancelling a guided add on a remote host', () => {
  it('cancelled during the upload to the new host: the upload stops, and neither the cluster nor the host keeps anything', async () => {
    const h1 = new LocalShell({ home: join(scratch, 'h1'), followPollMs: 100 });
    const h2 = new StalledUploadShell(join(scratch, 'h2'));
    await mkdir(h1.home, { recursive: true });
    await mkdir(h2.home, { recursive: true });
    const shells = new Map<string, LocalShell>([
      ['h1', h1],
      ['h2', h2],
    ]);
    const hosts = new RemoteHosts({ shell: (profile) => shells.get(profile)!, address: () => '127.0.0.1' });
    service = await ConsoleService.open({
      dataDir: join(scratch, 'console'),
      demoOnFirstRun: false,
      remote: { hosts, processes: { extraArgs: ['--heartbeat-ms', '100', '--election-ms', '1000'] }, create: { joinTimeoutMs: 30_000, pollMs: 100 } },
      feed: { pollMs: 200, minRefreshMs: 50 },
    });
    const progress: OperationProgress[] = [];
    session = service.openSession((event, payload) => {
      if (event === 'operation.progress') progress.push(payload as OperationProgress);
    });
    const call = session.invoke.bind(session);
    const finished = (operationId: string) => eventually(() => progress.find((p) => p.operationId === operationId && p.done), 'the operation to end', 120_000);

    const plan = (await call('remote.clusterPlan', { name: 'Grow', hosts: ['h1'] })) as RemoteClusterPlan;
    const created = (await call('remote.createCluster', { planId: plan.planId })) as { operationId: string; clusterId: string };
    expect((await finished(created.operationId)).error).toBeUndefined();
    const { clusterId } = created;
    const before = (await call('cluster.state', { clusterId })) as ClusterState;

    const added = (await call('membership.addNode', { clusterId, host: 'h2' })) as { operationId: string; nodeId: string };
    await h2.uploadStarted;
    expect(progress.filter((p) => p.operationId === added.operationId).at(-1)?.cancellable).toBe(true);
    expect(await call('operation.cancel', { operationId: added.operationId })).toEqual({ cancelled: true });
    const end = await finished(added.operationId);
    expect(end).toMatchObject({ cancelled: true, error: `cancelled: ${added.nodeId} was not started; nothing changed` });

    const after = (await call('cluster.state', { clusterId })) as ClusterState;
    expect(after.members).toEqual(before.members);
    expect(after.nodes.map((n) => n.id)).toEqual(before.nodes.map((n) => n.id));
    const summary = ((await call('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === clusterId);
    expect(summary?.nodes.map((n) => n.id)).toEqual(before.nodes.map((n) => n.id));
    const found = await h2.exec('find .raft-console -type f 2>/dev/null; true');
    expect(found.stdout.trim()).toBe('');
  }, 240_000);
});
