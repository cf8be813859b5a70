// The hosts.* methods end to end against the lab's sshd: params validated by the API schemas,
// unknown key → accept → connected; changed key → accept refused → explicit replace → connected.
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostStateView } from '../../electron/services/remote/host-connections.js';
import { hostsRequestSchemas } from '../../electron/services/remote/host-profile.js';
import { HostsService, hostsMethods } from '../../electron/services/remote/hosts-service.js';
import { MemorySecretStore } from '../../electron/services/remote/secret-store.js';
import { hostByIndex, regenerateHostKey, requireLab, restoreHostKey } from './lab.js';

const lab = requireLab();
const [h1, h3, h4] = [1, 3, 4].map((i) => hostByIndex(lab, i));

let dir: string;
let service: HostsService;
let call: <M extends keyof typeof hostsRequestSchemas>(method: M, params: unknown) => Promise<unknown>;
const states: HostStateView[] = [];
const logs: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-hosts-service-'));
  await writeFile(join(dir, 'user_known_hosts'), '');
  service = await HostsService.open({
    dir: join(dir, 'remote'),
    secrets: new MemorySecretStore(),
    userKnownHosts: [join(dir, 'user_known_hosts')],
    log: (entry) => logs.push(`${entry.code ?? entry.level}: ${entry.message}`),
    connections: { keepaliveIntervalMs: 1_000, keepaliveCountMax: 2, tcpTimeoutMs: 4_000 },
  });
  service.onState((view) => states.push(view));
  const methods = hostsMethods(service) as Record<string, (params: unknown) => Promise<unknown>>;
  // As the console dispatches: validate with the request schema, then call.
  call = (method, params) => methods[method](hostsRequestSchemas[method].parse(params));
});
afterAll(async () => {
  await service.close();
  await rm(dir, { recursive: true, force: true });
});

describe('hosts service', () => {
  it('an unknown key: the state says key-not-trusted with the fingerprint; acceptKey connects', async () => {
    const created = (await call('hosts.create', { name: 'node-1', address: h1.address, user: h1.user, auth: { kind: 'key', keyFile: lab.clientKey } })) as { id: string };
    expect((await stat(join(dir, 'remote'))).mode & 0o777).toBe(0o700);
    await expect(service.shell('node-1').exec('true')).rejects.toMatchObject({ code: 'host-key-unknown' });
    const listed = (await call('hosts.list', {})) as { hosts: { id: string; state: string; error?: { code: string; hostKey?: { fingerprint: string; keyType: string; key: string } } }[]; secrets: { persistent: boolean; description: string } };
    expect(listed.secrets.persistent).toBe(false);
    const item = listed.hosts.find((h) => h.id === created.id)!;
    expect(item.state).toBe('key-not-trusted');
    expect(item.error?.hostKey?.fingerprint).toBe(h1.hostKeyFingerprint);
    expect(states.some((s) => s.id === created.id && s.state === 'key-not-trusted')).toBe(true);
    expect(logs.some((l) => l.startsWith('host-key-unknown'))).toBe(true);

    const after = (await call('hosts.acceptKey', { id: created.id, ...item.error!.hostKey! })) as HostStateView;
    expect(after.state).toBe('connected');
    expect(service.address('node-1')).toBe(h1.address);
    expect(service.shell('node-1')).toBe(service.shell(created.id));
  });

  it('a password profile connects with the secret given at creation', async () => {
    const created = (await call('hosts.create', { name: 'node-3', address: h3.address, user: h3.user, auth: { kind: 'password' }, secret: h3.password })) as { id: string; hasSecret: boolean };
    expect(created.hasSecret).toBe(true);
    const [keyType, key] = h3.hostKeyPublic.split(' ');
    await call('hosts.acceptKey', { id: created.id, keyType, key, fingerprint: h3.hostKeyFingerprint });
    expect((await service.shell(created.id).exec('whoami')).stdout).toBe(`${h3.user}\n`);
    const report = (await call('hosts.test', { id: created.id })) as { ok: boolean };
    expect(report.ok).toBe(true);
  });

  it('a changed key: accept is refused, replace with the wrong previous fingerprint is refused, the right one connects', async () => {
    const created = (await call('hosts.create', { name: 'node-4', address: h4.address, user: h4.user, auth: { kind: 'key', keyFile: lab.clientKey } })) as { id: string };
    const [keyType, key] = h4.hostKeyPublic.split(' ');
    await call('hosts.acceptKey', { id: created.id, keyType, key, fingerprint: h4.hostKeyFingerprint });
    try {
      const fresh = await regenerateHostKey(h4);
      await service.connections.reset(created.id); // the open connection was made before the change
      await expect(service.shell(created.id).exec('true', { timeoutMs: 10_000 })).rejects.toMatchObject({ code: 'host-key-changed' });
      const error = service.shell(created.id).lastError!;
      const presented = error.detail.hostKey!;
      expect(presented.fingerprint).toBe(fresh);
      await expect(call('hosts.acceptKey', { id: created.id, ...presented })).rejects.toMatchObject({ code: 'refused' });
      await expect(call('hosts.replaceKey', { id: created.id, ...presented, previousFingerprint: fresh })).rejects.toMatchObject({ code: 'refused' });
      expect(service.shell(created.id).state).toBe('key-not-trusted');
      const replaced = (await call('hosts.replaceKey', { id: created.id, ...presented, previousFingerprint: h4.hostKeyFingerprint })) as HostStateView;
      expect(replaced.state).toBe('connected');
    } finally {
      await restoreHostKey(h4);
    }
  });

  it('a changed profile drops its connection and the same shell connects with the new settings; delete forgets it', async () => {
    const shell = service.shell('node-1');
    const before = (await shell.exec('echo $SSH_CONNECTION')).stdout;
    const id = (await service.list()).hosts.find((h) => h.name === 'node-1')!.id;
    await call('hosts.update', { id, fields: { groups: ['lab'], auth: { kind: 'key', keyFile: lab.encryptedKey } }, secret: lab.encryptedKeyPassphrase });
    expect(shell.state).toBe('idle');
    expect(service.shell(id)).toBe(shell); // holders of the shell (remote hosts) keep a working one
    const after = (await shell.exec('echo $SSH_CONNECTION')).stdout;
    expect(after).not.toBe(before); // a new connection (another client port)
    await call('hosts.delete', { id });
    await expect(shell.exec('true')).rejects.toMatchObject({ code: 'closed' });
    expect((await service.list()).hosts.map((h) => h.name)).toEqual(['node-3', 'node-4']);
  });
});
