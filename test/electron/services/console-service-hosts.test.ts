// hosts.* through the console's one entry point: validated by the API schemas, answered by the
// HostsService, state changes pushed to every session as hosts.state events.
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConsoleService } from '../../../electron/services/console-service.js';
import { HostsService } from '../../../electron/services/remote/hosts-service.js';
import { fingerprintOf } from '../../../electron/services/remote/known-hosts.js';
import { RemoteHosts } from '../../../electron/services/remote/remote-host.js';
import { MemorySecretStore } from '../../../electron/services/remote/secret-store.js';
import type { EventName } from '../../../electron/shared/api.js';
import { eventually, tempDir } from '../helpers.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function open(withHosts: boolean) {
  const dir = await tempDir();
  cleanups.push(() => dir.remove());
  const hosts = withHosts ? await HostsService.open({ dir: join(dir.path, 'remote'), secrets: new MemorySecretStore(), userKnownHosts: [] }) : undefined;
  const service = await ConsoleService.open({ dataDir: dir.path, demoOnFirstRun: false, ...(hosts ? { hosts } : {}) });
  cleanups.push(async () => {
    await service.close();
    await hosts?.close();
  });
  const events: { event: EventName; payload: unknown }[] = [];
  const session = service.openSession((event, payload) => events.push({ event, payload }));
  return { session, events };
}

describe('hosts.* in the console service', () => {
  it('creates and lists profiles, refuses bad input with the field named, and says where secrets are kept', async () => {
    const { session } = await open(true);
    await expect(session.invoke('hosts.create', { name: 'db-1', address: 'bad host!', user: 'ops', auth: { kind: 'agent' } })).rejects.toMatchObject({
      code: 'invalid-input',
      message: expect.stringContaining('address'),
    });
    const created = (await session.invoke('hosts.create', { name: 'db-1', address: '127.0.0.1', user: 'ops', auth: { kind: 'password' }, secret: 'pw' })) as { id: string };
    const overview = (await session.invoke('hosts.list', {})) as { hosts: unknown[]; secrets: { persistent: boolean; description: string } };
    expect(overview.hosts).toEqual([expect.objectContaining({ id: created.id, name: 'db-1', port: 22, hasSecret: true, state: 'idle' })]);
    expect(overview.secrets).toEqual({ persistent: false, description: new MemorySecretStore().description });
    expect(JSON.stringify(overview)).not.toContain('"pw"');
  });

  it('pushes a host’s connection state to the sessions as it changes', async () => {
    const { session, events } = await open(true);
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const host = (await session.invoke('hosts.create', { name: 'gone', address: '127.0.0.1', port, user: 'ops', auth: { kind: 'agent' } })) as { id: string };
    // Trusting a key connects at once; nothing listens there, so the host becomes unreachable.
    const key = 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
    const fingerprint = fingerprintOf(Buffer.from(key, 'base64'));
    const view = await session.invoke('hosts.acceptKey', { id: host.id, keyType: 'ssh-ed25519', fingerprint, key });
    expect(view).toMatchObject({ id: host.id, state: 'unreachable' });
    await eventually(
      () => events.some((e) => e.event === 'hosts.state' && (e.payload as { id: string; state: string }).id === host.id && (e.payload as { state: string }).state === 'unreachable'),
      'a hosts.state event saying the host is unreachable',
    );
  });

  it('as the remote hosts\' directory, names a host by its profile\'s name (a renamed profile: the new name), not its id', async () => {
    const dir = await tempDir();
    cleanups.push(() => dir.remove());
    const hosts = await HostsService.open({ dir: join(dir.path, 'remote'), secrets: new MemorySecretStore(), userKnownHosts: [] });
    cleanups.push(() => hosts.close());
    const created = await hosts.create({ name: 'rc-h1', address: '127.0.0.1', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    const host = new RemoteHosts(hosts).get(created.id);
    expect(host.name).toBe(created.id);
    expect(host.displayName).toBe('rc-h1');
    await hosts.update({ id: created.id, fields: { name: 'rc-east' } });
    expect(host.displayName).toBe('rc-east');
    // A profile deleted meanwhile: its id is all that is left to name it by.
    await hosts.delete({ id: created.id });
    expect(host.displayName).toBe(created.id);
  });

  it('refuses hosts.* with the reason when the console runs without the hosts service', async () => {
    const { session } = await open(false);
    await expect(session.invoke('hosts.list', {})).rejects.toMatchObject({ code: 'unavailable', message: expect.stringContaining('hosts service') });
  });
});
