// The SSH pool against an in-process ssh2 server on loopback: runs everywhere (no root, no lab), so
// the host key rule and the reconnect are checked on every `npm test`, not only where the lab runs.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, utils, type Connection } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HostConnections } from '../../electron/services/remote/host-connections.js';
import type { HostProfile } from '../../electron/services/remote/host-profile.js';
import { KnownHosts } from '../../electron/services/remote/known-hosts.js';
import { isRemoteError, type ConnectionState, type RemoteError } from '../../electron/services/remote/remote-shell.js';

let dir: string;
let server: Server;
let port: number;
let hostFingerprint: string;
let clientKey: string;
const connections = new Set<Connection>();
let authAttempts = 0;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-ssh-loopback-'));
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'client')]);
  hostFingerprint = execFileSync('ssh-keygen', ['-lf', join(dir, 'host.pub')]).toString().split(' ')[1];
  clientKey = join(dir, 'client');
  const allowed = utils.parseKey(await readFile(join(dir, 'client.pub')));
  if (allowed instanceof Error) throw allowed;
  const allowedKey = Array.isArray(allowed) ? allowed[0] : allowed;
  server = new Server({ hostKeys: [await readFile(join(dir, 'host'))] }, (client) => {
    connections.add(client);
    client.on('close', () => connections.delete(client));
    client.on('error', () => undefined);
    client.on('authentication', (ctx) => {
      authAttempts++;
      if (ctx.method === 'publickey' && ctx.key.algo === allowedKey.type && ctx.key.data.equals(allowedKey.getPublicSSH())) {
        if (!ctx.signature) return ctx.accept();
        if (ctx.blob && allowedKey.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true) return ctx.accept();
      }
      ctx.reject(['publickey']);
    });
    client.on('session', (accept) => {
      accept().on('exec', (acceptExec, _reject, info) => {
        const stream = acceptExec();
        stream.write(`ran: ${info.command}\n`);
        stream.exit(0);
        stream.end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const client of connections) client.end();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function pool(knownHosts: KnownHosts, profilePort = port): HostConnections {
  const profile: HostProfile = { id: 'h', name: 'h', address: '127.0.0.1', port: profilePort, user: 'u', auth: { kind: 'key', keyFile: clientKey }, jumpHostId: null, groups: [], createdAt: 0, updatedAt: 0 };
  return new HostConnections({ directory: { resolve: async () => ({ profile }) }, knownHosts, keepaliveIntervalMs: 500, keepaliveCountMax: 2, reconnectInitialMs: 50, reconnectMaxMs: 200 });
}

async function failure(promise: Promise<unknown>): Promise<RemoteError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  if (!isRemoteError(error)) throw new Error(`expected a RemoteError, got ${String(error)}`);
  return error;
}

describe('SSH pool on loopback', () => {
  it('stops at an unknown key with the ssh-keygen fingerprint, connects once accepted, and reconnects after the server drops it', async () => {
    await writeFile(join(dir, 'user_known_hosts'), '');
    const knownHosts = new KnownHosts({ consoleFile: join(dir, 'console', 'known_hosts'), readOnlyFiles: [join(dir, 'user_known_hosts')] });
    const hosts = pool(knownHosts);
    try {
      const shell = hosts.shell('h');
      const unknown = await failure(shell.exec('true'));
      expect(unknown.code).toBe('host-key-unknown');
      expect(unknown.detail.hostKey?.fingerprint).toBe(hostFingerprint);
      expect(authAttempts).toBe(0); // refused before authentication: not even 'none' was tried
      await knownHosts.accept(unknown.detail.hostKey!);
      expect((await shell.exec('hello')).stdout).toBe('ran: hello\n');
      expect(shell.state).toBe('connected');

      const states: ConnectionState[] = [];
      shell.on('state', (state) => states.push(state));
      for (const client of connections) client.end();
      await expect.poll(() => states.includes('reconnecting')).toBe(true);
      await expect.poll(() => shell.state).toBe('connected');
      expect((await shell.exec('again')).stdout).toBe('ran: again\n');
    } finally {
      await hosts.closeAll();
    }
  });

  it('a closed port is refused', async () => {
    const closed = new Server({ hostKeys: [await readFile(join(dir, 'host'))] }, () => undefined);
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const freePort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const hosts = pool(new KnownHosts({ consoleFile: join(dir, 'c2', 'known_hosts'), readOnlyFiles: [] }), freePort);
    try {
      const error = await failure(hosts.shell('h').exec('true'));
      expect(error.code).toBe('refused');
      expect(hosts.shell('h').state).toBe('unreachable');
    } finally {
      await hosts.closeAll();
    }
  });
});
