// @vitest-environment happy-dom
// The Hosts view against the real HostsService: profiles on disk in a temp dir, real TCP and a real
// SSH server (ssh2's, on loopback) presenting host keys the console has never seen or saw differently.
import { mount, type VueWrapper } from '@vue/test-utils';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateEd25519Key } from '../../remote/ed25519-key';
import { afterEach, describe, expect, it } from 'vitest';
import { MemorySecretStore } from '../../../electron/services/remote/secret-store';
import { views } from '../../../renderer/src/logic/route';
import { shortcutFor } from '../../../renderer/src/logic/shortcuts';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import HostsView from '../../../renderer/src/views/HostsView.vue';
import { apiWithCluster, flush, makeCluster, makeState, setupStores, type FakeApi } from '../fakeApi';
import { withRealHosts, type RealHosts } from '../hostsApi';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  document.body.innerHTML = '';
});

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);

/** Waits (bounded in count) for something the backend does over real sockets to show. */
async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`never happened: ${what}`);
}

async function mountHosts(api: FakeApi = apiWithCluster()): Promise<{ w: VueWrapper; hosts: RealHosts; api: FakeApi }> {
  const hosts = await withRealHosts(api);
  cleanups.push(hosts.close);
  const pinia = setupStores(api);
  useNavigationStore().go('hosts');
  const w = mount(HostsView, { global: { plugins: [pinia] }, attachTo: document.body });
  cleanups.push(() => w.unmount());
  await flush(8);
  return { w, hosts, api };
}

async function type(testId: string, value: string) {
  const input = document.querySelector<HTMLInputElement>(`[data-testid="${testId}"] input`)!;
  input.value = value;
  input.dispatchEvent(new Event('input'));
  await flush();
}

/** An SSH server on loopback with its own ed25519 host key; it refuses every login and counts the attempts. */
async function sshServer() {
  const key = generateEd25519Key();
  const blob = ssh2.utils.parseKey(key.public) as { getPublicSSH(): Buffer };
  const seen = { logins: 0 };
  const server = new ssh2.Server({ hostKeys: [key.private] }, (client) => {
    client.on('authentication', (ctx) => {
      seen.logins++;
      ctx.reject();
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const publicBlob = blob.getPublicSSH();
  // The fingerprint as `ssh-keygen -lf` prints it: SHA256 of the key blob, base64 without padding.
  const fingerprint = `SHA256:${createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '')}`;
  return { port: (server.address() as AddressInfo).port, fingerprint, keyBase64: publicBlob.toString('base64'), seen };
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

describe('hosts view', () => {
  it('is the tenth view, opened with the 0 key', () => {
    expect(views.indexOf('hosts')).toBe(9);
    expect(shortcutFor({ key: '0', ctrlKey: false, metaKey: false, altKey: false })).toEqual({ kind: 'go', view: 'hosts' });
  });

  it('adds a profile from the form, shows where secrets are kept as the backend says, and keeps the password out of the file', async () => {
    const { hosts } = await mountHosts();
    expect(byTestId('empty-state')).not.toBeNull();
    expect(byTestId('hosts-secrets')?.textContent).toBe(new MemorySecretStore().description);

    byTestId('host-add')!.click();
    await flush();
    // A fresh form names no problem yet, but cannot be saved empty.
    expect(byTestId('host-form-problems')).toBeNull();
    expect(byTestId('host-form-save')?.hasAttribute('disabled')).toBe(true);
    await type('host-form-name', 'db-1');
    await type('host-form-address', '127.0.0.1');
    await type('host-form-user', 'ops');
    byTestId('host-form-auth-password')!.querySelector('input')!.click();
    await flush();
    await type('host-form-secret', 'hunter2-secret');
    expect(byTestId('host-form-problems')).toBeNull();
    byTestId('host-form-save')!.click();
    await until(() => document.querySelector('[data-testid^="host-card-"]') !== null, 'the new host card');

    const [profile] = (await hosts.service.list()).hosts;
    expect(profile).toMatchObject({ name: 'db-1', address: '127.0.0.1', user: 'ops', auth: { kind: 'password' }, hasSecret: true });
    expect(byTestId(`host-group-Ungrouped`)?.textContent).toContain('db-1');
    expect(byTestId(`host-state-${profile.id}`)?.textContent?.trim()).toBe('not connected yet');
    expect(await readFile(join(hosts.dir, 'remote', 'hosts.json'), 'utf8')).not.toContain('hunter2-secret');
  });

  it('shows the API schema’s objection before sending, and sends nothing while there is one', async () => {
    const { api } = await mountHosts();
    byTestId('host-add')!.click();
    await flush();
    await type('host-form-name', 'bad');
    await type('host-form-address', 'not a host!');
    await type('host-form-user', 'ops');
    expect(byTestId('host-form-problems')?.textContent).toContain('address: a host name or an IP address');
    await type('host-form-user', '');
    expect(byTestId('host-form-problems')?.textContent).toContain('user: required');
    expect(byTestId('host-form-save')?.hasAttribute('disabled')).toBe(true);
    expect(api.callsOf('hosts.create')).toEqual([]);
  });

  it('groups profiles, lists the raftd nodes each runs, and duplicates one', async () => {
    const remote = makeCluster({ id: 'r1', name: 'Remote one', kind: 'remote', nodes: [{ id: 'n1', kind: 'remote', host: 'alpha' }, { id: 'n2', kind: 'remote', host: 'beta' }] });
    const api = apiWithCluster(makeState(), [remote]);
    const { hosts } = await mountHosts(api);
    const alpha = await hosts.service.create({ name: 'alpha', address: '127.0.0.1', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: ['prod'] });
    await hosts.service.create({ name: 'beta', address: '127.0.0.1', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: alpha.id, groups: [] });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();
    await flush();
    expect(byTestId('host-group-prod')?.textContent).toContain('alpha');
    expect(byTestId('host-group-prod')?.textContent).not.toContain('beta');
    expect(byTestId('host-group-Ungrouped')?.textContent).toContain('through alpha');
    expect(byTestId(`host-nodes-${alpha.id}`)?.textContent).toContain('Remote one / n1');
    expect(byTestId(`host-nodes-${alpha.id}`)?.textContent).not.toContain('n2');

    byTestId(`host-duplicate-${alpha.id}`)!.click();
    await until(() => document.querySelectorAll('[data-testid^="host-card-"]').length === 3, 'the copy');
    expect((await hosts.service.list()).hosts.map((h) => h.name).sort()).toEqual(['alpha', 'alpha (copy)', 'beta'].sort());
  });

  it('tests a connection step by step: a closed port fails at TCP and the later steps are not tried', async () => {
    const { hosts } = await mountHosts();
    const port = await freePort();
    const host = await hosts.service.create({ name: 'closed', address: '127.0.0.1', port, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();
    await flush();
    byTestId(`host-test-button-${host.id}`)!.click();
    await until(() => byTestId(`host-test-${host.id}`) !== null, 'the test report');
    expect(byTestId('host-test-step-tcp')?.dataset.status).toBe('failed');
    expect(byTestId('host-test-step-auth')?.dataset.status ?? 'skipped').toBe('skipped');
    expect(byTestId('host-test-step-tcp')?.textContent).toContain('refused');
    expect(byTestId(`host-test-${host.id}`)?.dataset.ok).toBe('false');
    expect(byTestId('host-key-dialog')).toBeNull();
  });
});

describe('host connection state', () => {
  it('follows the hosts.state events the backend pushes, without reading the list again', async () => {
    const { hosts, api } = await mountHosts();
    const host = await hosts.service.create({ name: 'edge', address: '127.0.0.1', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();
    await flush();
    const reads = api.callsOf('hosts.list').length;
    api.emit('hosts.state', { id: host.id, state: 'reconnecting', error: { code: 'connection-lost', message: 'edge: the connection was lost (keepalive)' } });
    await flush();
    expect(byTestId(`host-state-${host.id}`)?.textContent?.trim()).toBe('reconnecting');
    expect(byTestId(`host-error-${host.id}`)?.textContent).toContain('the connection was lost');
    expect(api.callsOf('hosts.list').length).toBe(reads);
  });
});

describe('host profiles import', () => {
  it('previews what a file adds and replaces, changes nothing until confirmed, then imports', async () => {
    const { hosts } = await mountHosts();
    await hosts.service.create({ name: 'alpha', address: '127.0.0.1', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    // The file another console exported: alpha on another port, and gamma.
    const other = await withRealHosts(apiWithCluster());
    cleanups.push(other.close);
    await other.service.create({ name: 'alpha', address: '127.0.0.1', port: 2200, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    await other.service.create({ name: 'gamma', address: '127.0.0.2', port: 22, user: 'ops', auth: { kind: 'agent' }, jumpHostId: null, groups: [] });
    const { json } = await other.service.export({});
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().previewImport('hosts.json', json);
    await flush();
    expect(byTestId('host-import-added')?.textContent).toContain('gamma');
    expect(byTestId('host-import-replaced')?.textContent).toContain('alpha');
    expect((await hosts.service.list()).hosts.map((h) => [h.name, h.port])).toEqual([['alpha', 22]]);
    byTestId('host-import-confirm')!.click();
    await until(() => document.querySelectorAll('[data-testid^="host-card-"]').length === 2, 'the imported profiles');
    expect((await hosts.service.list()).hosts.map((h) => [h.name, h.port]).sort()).toEqual([['alpha', 2200], ['gamma', 22]]);
  });
});

describe('host key confirmation', () => {
  it('an unknown key opens the dialog with its fingerprint and the command to compare it; nothing is sent before accepting', async () => {
    const server = await sshServer();
    const { hosts } = await mountHosts();
    const host = await hosts.service.create({ name: 'new-box', address: '127.0.0.1', port: server.port, user: 'ops', auth: { kind: 'password' }, jumpHostId: null, groups: [], secret: 'pw' });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();
    await flush();

    byTestId(`host-test-button-${host.id}`)!.click();
    await until(() => byTestId('host-key-fingerprint') !== null, 'the host key dialog');
    expect(byTestId('host-key-type')?.textContent).toBe('ssh-ed25519');
    expect(byTestId('host-key-fingerprint')?.textContent).toBe(server.fingerprint);
    expect(byTestId('host-key-host')?.textContent).toBe(`127.0.0.1:${server.port}`);
    expect(byTestId('host-key-command')?.textContent).toBe('ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub');
    expect(server.seen.logins).toBe(0);
    await expect(readFile(join(hosts.dir, 'remote', 'known_hosts'), 'utf8')).rejects.toThrow(/ENOENT/);

    byTestId('host-key-accept')!.click();
    await until(() => byTestId('host-key-fingerprint') === null && server.seen.logins > 0, 'the accepted key and a login attempt');
    expect(await readFile(join(hosts.dir, 'remote', 'known_hosts'), 'utf8')).toContain(server.keyBase64);
    // The test server refuses every login: the view says so, not "key not trusted".
    await until(() => byTestId(`host-state-${host.id}`)?.textContent?.trim() === 'login refused', 'the refused login');
    // The key is trusted now: the card no longer offers to review it (the old test report asked about it).
    expect(byTestId(`host-review-key-${host.id}`)).toBeNull();
  });

  it('declining leaves the key untrusted and sends nothing', async () => {
    const server = await sshServer();
    const { hosts } = await mountHosts();
    const host = await hosts.service.create({ name: 'new-box', address: '127.0.0.1', port: server.port, user: 'ops', auth: { kind: 'password' }, jumpHostId: null, groups: [], secret: 'pw' });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();
    byTestId(`host-test-button-${host.id}`)!.click();
    await until(() => byTestId('host-key-dismiss') !== null, 'the host key dialog');
    byTestId('host-key-dismiss')!.click();
    await flush(10);
    expect(byTestId('host-key-fingerprint')).toBeNull();
    expect(server.seen.logins).toBe(0);
    expect(byTestId('host-test-step-host-key')?.dataset.status).toBe('failed');
    // It can be reviewed again from the card.
    expect(byTestId(`host-review-key-${host.id}`)).not.toBeNull();
  });

  it('a changed key is a red warning with both fingerprints and no accept; replacing is a separate, confirmed action', async () => {
    const server = await sshServer();
    const old = generateEd25519Key();
    const oldBlob = (ssh2.utils.parseKey(old.public) as { getPublicSSH(): Buffer }).getPublicSSH();
    const oldFingerprint = `SHA256:${createHash('sha256').update(oldBlob).digest('base64').replace(/=+$/, '')}`;
    const { hosts, api } = await mountHosts();
    await hosts.service.knownHosts.accept({ host: '127.0.0.1', port: server.port, keyType: 'ssh-ed25519', fingerprint: oldFingerprint, key: oldBlob.toString('base64') });
    const host = await hosts.service.create({ name: 'old-box', address: '127.0.0.1', port: server.port, user: 'ops', auth: { kind: 'password' }, jumpHostId: null, groups: [], secret: 'pw' });
    const { useHostsStore } = await import('../../../renderer/src/stores/hosts');
    await useHostsStore().refresh();

    byTestId(`host-test-button-${host.id}`)!.click();
    await until(() => byTestId(`host-key-changed-${host.id}`) !== null, 'the changed-key warning');
    expect(byTestId('host-key-new')?.textContent).toBe(server.fingerprint);
    expect(byTestId('host-key-old')?.textContent).toBe(oldFingerprint);
    expect(byTestId('host-key-dialog')).toBeNull();
    expect(byTestId(`host-review-key-${host.id}`)).toBeNull();
    expect(server.seen.logins).toBe(0);

    byTestId(`host-replace-key-${host.id}`)!.click();
    await flush();
    expect(byTestId('host-key-replace-confirm')?.hasAttribute('disabled')).toBe(true);
    byTestId('host-key-replace-compared')!.click();
    await flush();
    byTestId('host-key-replace-confirm')!.click();
    await until(() => api.callsOf('hosts.replaceKey').length === 1 && server.seen.logins > 0, 'the replacement and a login attempt');
    expect(api.callsOf('hosts.replaceKey')[0]).toMatchObject({ id: host.id, fingerprint: server.fingerprint, previousFingerprint: oldFingerprint });
    const knownHosts = await readFile(join(hosts.dir, 'remote', 'known_hosts'), 'utf8');
    expect(knownHosts).toContain(server.keyBase64);
    expect(knownHosts).not.toContain(oldBlob.toString('base64'));
    // Replaced: the red warning of the last test is gone with it.
    await until(() => byTestId(`host-key-changed-${host.id}`) === null, 'the warning to go');
    expect(byTestId(`host-replace-key-${host.id}`)).toBeNull();
  });
});
