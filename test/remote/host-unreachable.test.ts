// A lost SSH link says nothing about the processes on that host: its nodes are "unknown (host
// unreachable)", never crashed or stopped, offer no action, and count as suspended (they may come
// back), not down. RemoteProcesses decides it from the shell's state and the failure; node-view.ts
// and cluster-facts.ts carry it to every view. The lab test cuts a real link.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterFacts } from '../../electron/shared/cluster-facts.js';
import type { NodeView } from '../../electron/shared/api.js';
import { nodeView } from '../../electron/services/node-view.js';
import { Deployer } from '../../electron/services/remote/deploy.js';
import { LocalShell } from '../../electron/services/remote/local-shell.js';
import { RemoteHost } from '../../electron/services/remote/remote-host.js';
import { RemoteProcesses } from '../../electron/services/remote/remote-processes.js';
import { RemoteError, type ConnectionState, type ExecOptions, type ExecResult } from '../../electron/services/remote/remote-shell.js';

/** A host whose link the test sets: down, commands fail as SshShell's do. */
class LinkShell extends LocalShell {
  failure: RemoteError | null = null;
  set link(state: ConnectionState) {
    (this as { state: ConnectionState }).state = state;
  }
  override exec(cmd: string, opts?: ExecOptions): Promise<ExecResult> {
    if (this.failure) return Promise.reject(this.failure);
    return super.exec(cmd, opts);
  }
}

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'rc-host-unreachable-'));
});
afterAll(async () => {
  await rm(home, { recursive: true, force: true });
});

function processesOn(shell: LinkShell): RemoteProcesses {
  const host = new RemoteHost({ name: 'h1', shell, peerAddress: '127.0.0.1', deployer: new Deployer() });
  return new RemoteProcesses('c1', () => host, () => ['n1']);
}

describe('RemoteProcesses.info while the link is down', () => {
  it('is unknown with the host named while the pool reconnects, without asking the host', async () => {
    const shell = new LinkShell({ home });
    shell.link = 'reconnecting';
    let asked = 0;
    const exec = shell.exec.bind(shell);
    shell.exec = (cmd, opts) => (asked++, exec(cmd, opts));
    const info = await processesOn(shell).info('n1');
    expect(info).toMatchObject({ state: 'unknown', hostUnreachable: 'h1' });
    expect(info.detail).toMatch(/^h1 cannot be reached/);
    expect(asked).toBe(0);
  });

  it('is unknown (host unreachable) when the listing fails because the link dropped or the host does not answer', async () => {
    for (const code of ['connection-lost', 'unreachable', 'handshake-timeout'] as const) {
      const shell = new LinkShell({ home });
      shell.failure = new RemoteError(code, `the link failed (${code})`);
      expect(await processesOn(shell).info('n1')).toMatchObject({ state: 'unknown', hostUnreachable: 'h1', detail: `h1 cannot be reached: the link failed (${code})` });
    }
  });

  it('a command that fails on a host that answers is unknown but not "host unreachable"', async () => {
    const shell = new LinkShell({ home });
    shell.failure = new RemoteError('command-timeout', 'the listing did not finish');
    const info = await processesOn(shell).info('n1');
    expect(info.state).toBe('unknown');
    expect(info.hostUnreachable).toBeUndefined();
  });

  it('with the link up, a node never started is stopped', async () => {
    expect(await processesOn(new LinkShell({ home })).info('n1')).toEqual({ state: 'stopped' });
  });
});

describe('a node on an unreachable host, as every view gets it', () => {
  const members = { voters: ['n1', 'n2', 'n3'], votersOutgoing: [], learners: [] };
  const supported = ['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'forceNewCluster'] as const;
  const seen = (id: string, process: NodeView['process'], hostUnreachable?: string) =>
    nodeView(
      { id, kind: 'remote', process, reachable: hostUnreachable === undefined, lastSeen: 1, logTail: [], ...(hostUnreachable && { hostUnreachable }), status: { role: id === 'n1' ? 'leader' : 'follower', term: 3, vote: 'n1', leader: 'n1', commitIndex: 5, appliedIndex: 5, lastIndex: 5, snapshotIndex: 0 } },
      members,
      { lastIndex: 5 },
      [...supported],
    );

  it('is unknown whatever its process was last seen as, says which host, and offers no action', () => {
    for (const last of ['running', 'crashed', 'stopped', 'killed'] as const) {
      const view = seen('n3', last, 'h3');
      expect(view).toMatchObject({ process: 'unknown', hostUnreachable: 'h3', reachable: false, role: 'unknown', actions: [] });
    }
    const up = seen('n3', 'running');
    expect(up.hostUnreachable).toBeUndefined();
    expect(up.actions.length).toBeGreaterThan(0);
  });

  it('counts as a suspended voter (it may come back with the link), never as down', () => {
    const facts = clusterFacts({ leader: 'n1', members, nodes: [seen('n1', 'running'), seen('n2', 'running'), seen('n3', 'crashed', 'h3')] });
    expect(facts.votersSuspended).toEqual(['n3']);
    expect(facts.votersDown).toEqual([]);
    expect(facts.hasQuorum).toBe(true);
    expect(facts.lag.n3).toBeNull();
    // Two hosts cut: no quorum now, but not lost for good.
    const cut = clusterFacts({ leader: '', members, nodes: [seen('n1', 'running'), seen('n2', 'running', 'h2'), seen('n3', 'running', 'h3')] });
    expect(cut).toMatchObject({ hasQuorum: false, quorumLostForGood: false, votersDown: [] });
  });
});
