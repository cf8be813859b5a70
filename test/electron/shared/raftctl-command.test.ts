// The raftctl command every node shows (electron/shared/raftctl-command.ts) must work as shown: run
// from a shell on this machine against a real cluster with mutual TLS and a token, it gets the node's
// status; without the cluster's files (the old hint) the same node refuses it. The remote form, which
// forwards the node's loopback port through SSH first, is checked for its exact words.
import { execFile } from 'node:child_process';
import { statSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { ClusterState, ClusterSummary } from '../../../electron/shared/api.js';
import { raftctlCommand } from '../../../electron/shared/raftctl-command.js';
import { ConsoleService, type ConsoleSession } from '../../../electron/services/console-service.js';
import { eventually, tempDir } from '../helpers.js';

const run = promisify(execFile);
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
}, 60_000);

describe('the raftctl command of a node', () => {
  it('reaches a local node of a TLS cluster with its token and the console client certificate', async () => {
    const dir = await tempDir();
    const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, local: { extraArgs: ['--heartbeat-ms', '50', '--election-ms', '400'] } });
    const session: ConsoleSession = service.openSession(() => undefined);
    cleanups.push(async () => {
      await session.invoke('clusters.delete', { clusterId: 'tls' }).catch(() => undefined);
      session.close();
      await service.close();
      await dir.remove();
    });
    await session.invoke('clusters.create', { kind: 'local', name: 'tls', size: 1 });
    await session.invoke('clusters.start', { clusterId: 'tls' });
    await eventually(async () => ((await session.invoke('cluster.state', { clusterId: 'tls' })) as ClusterState).leader || undefined, 'a leader', 60_000);

    const summary = ((await session.invoke('clusters.list', {})) as ClusterSummary[]).find((c) => c.id === 'tls')!;
    expect(summary.tls).toBe(true);
    expect(summary.access).toEqual({
      tokenFile: `${dir.path}/access/tls/token`,
      tlsCert: `${dir.path}/pki/tls/console.crt`,
      tlsKey: `${dir.path}/pki/tls/console.key`,
      tlsCa: `${dir.path}/pki/tls/ca.crt`,
    });
    expect(statSync(summary.access!.tokenFile!).mode & 0o777).toBe(0o600);
    expect(statSync(`${dir.path}/access/tls`).mode & 0o777).toBe(0o700);

    const node = summary.nodes[0];
    const command = raftctlCommand(node, summary.access)!;
    expect(command).toBe(
      `npx raftctl --endpoints ${node.client} --token-file ${dir.path}/access/tls/token --tls-cert ${dir.path}/pki/tls/console.crt --tls-key ${dir.path}/pki/tls/console.key --tls-ca ${dir.path}/pki/tls/ca.crt status`,
    );
    const { stdout } = await run('bash', ['-c', command], { cwd: process.cwd(), timeout: 60_000 });
    // raftctl's status line: endpoint, id, role, term…
    expect(stdout.trim().split(/\s+/).slice(0, 3)).toEqual([node.client, node.id, 'leader']);

    // Without the cluster's files (the old hint) the node refuses the same request.
    await expect(run('bash', ['-c', raftctlCommand(node, undefined)!], { cwd: process.cwd(), timeout: 60_000 })).rejects.toThrow();
  }, 180_000);

  it('for a remote node: forwards its loopback client port through SSH, then asks it with the same flags', () => {
    const access = { tokenFile: '/data dir/pki/far/token', tlsCert: '/d/console.crt', tlsKey: '/d/console.key', tlsCa: '/d/ca.crt' };
    const node = { id: 'n2', kind: 'remote' as const, host: 'beta', peer: '198.51.100.12:21002', client: '127.0.0.1:22002' };
    expect(raftctlCommand(node, access, { user: 'ops', address: '198.51.100.12', port: 2222 })).toBe(
      "ssh -f -o ExitOnForwardFailure=yes -L 22002:127.0.0.1:22002 ops@198.51.100.12 -p 2222 sleep 10 && npx raftctl --endpoints 127.0.0.1:22002 --token-file '/data dir/pki/far/token' --tls-cert /d/console.crt --tls-key /d/console.key --tls-ca /d/ca.crt status",
    );
    expect(raftctlCommand({ ...node, kind: 'embedded' }, access)).toBeNull();
  });
});
