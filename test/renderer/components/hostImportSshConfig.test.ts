// @vitest-environment happy-dom
// The host import dialog's "From ~/.ssh/config" source, in the Hosts view, against the real HostsService
// reading a config in a temp home: what it lists, unchecking, what it asks the backend to import, the
// skipped hosts with their reasons, and the imported profiles in the Hosts view afterwards.
import { mount } from '@vue/test-utils';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { useNavigationStore } from '../../../renderer/src/stores/navigation';
import HostsView from '../../../renderer/src/views/HostsView.vue';
import { apiWithCluster, flush, setupStores } from '../fakeApi';
import { withRealHosts } from '../hostsApi';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  document.body.innerHTML = '';
});

const byTestId = (id: string) => document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
const text = (id: string) => byTestId(id)?.textContent?.replace(/\s+/g, ' ').trim();
const checked = (name: string) => byTestId(`ssh-host-choose-${name}`)?.getAttribute('aria-checked');

async function until(check: () => boolean, what: string) {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`never happened: ${what}`);
}

const config = `Host bastion
  HostName bastion.example.net
  User admin
  IdentityFile ~/.ssh/id_ed25519

Host db1
  HostName db1.internal
  ProxyJump bastion
  IdentityFile ~/.ssh/id_db

Host web-*
  User deploy

Host web-1

Host broken
  User "bad user"

Host *
  User ops
  Port 2200
`;

/** The Hosts view with the import dialog open on its ~/.ssh/config source; `sshConfig` undefined: no config file. */
async function openSshImport(sshConfig: string | undefined, shown: string) {
  const api = apiWithCluster();
  const hosts = await withRealHosts(api, sshConfig === undefined ? {} : { sshConfig });
  cleanups.push(hosts.close);
  await writeFile(join(hosts.home, '.ssh', 'id_ed25519'), 'key\n');
  const pinia = setupStores(api);
  useNavigationStore().go('hosts');
  const w = mount(HostsView, { global: { plugins: [pinia] }, attachTo: document.body });
  cleanups.push(() => w.unmount());
  await flush(8);
  byTestId('host-import')!.click();
  await flush();
  byTestId('host-import-source-ssh-config')!.click();
  await until(() => byTestId(shown) !== null, shown);
  return { api, hosts };
}

const mountWithConfig = () => openSshImport(config, 'ssh-import-candidates');

describe('host import from ~/.ssh/config', () => {
  it('lists the concrete hosts as ssh resolves them, all chosen, and the skipped ones with their reasons', async () => {
    const { hosts } = await mountWithConfig();
    const rows = [...document.querySelectorAll('[data-testid^="ssh-host-choose-"]')].map((e) => e.getAttribute('data-testid'));
    expect(rows).toEqual(['ssh-host-choose-bastion', 'ssh-host-choose-db1', 'ssh-host-choose-web-1']);
    expect(['bastion', 'db1', 'web-1'].map(checked)).toEqual(['true', 'true', 'true']);
    expect(text('ssh-host-where-bastion')).toBe('admin@bastion.example.net:2200');
    expect(text('ssh-host-auth-bastion')).toBe(`key ${join(hosts.home, '.ssh', 'id_ed25519')}`);
    expect(text('ssh-host-where-db1')).toBe('ops@db1.internal:2200');
    expect(text('ssh-host-jump-db1')).toBe('through bastion');
    expect(text('ssh-host-notes-db1')).toBe(`the key file ${join(hosts.home, '.ssh', 'id_db')} does not exist on this machine`);
    expect(byTestId('ssh-host-notes-bastion')).toBeNull();
    expect(text('ssh-host-where-web-1')).toBe('deploy@web-1:2200');
    expect(text('ssh-host-auth-web-1')).toBe('SSH agent');
    expect(text('ssh-host-effect-web-1')).toBe('new');
    expect(byTestId('ssh-host-web-*')).toBeNull();
    expect(text('ssh-skipped-broken')).toBe('broken: user: a login name (letters, digits, . _ -)');
  });

  it('imports only the chosen hosts; a jump host left out is refused in the dialog, and the Hosts view lists what was imported', async () => {
    const { api, hosts } = await mountWithConfig();
    byTestId('ssh-host-choose-web-1')!.click();
    byTestId('ssh-host-choose-bastion')!.click();
    await flush();
    expect(['bastion', 'db1', 'web-1'].map(checked)).toEqual(['false', 'true', 'false']);

    byTestId('host-import-confirm')!.click();
    await until(() => byTestId('ssh-import-error') !== null, 'the refusal');
    expect(api.callsOf('hosts.importSshConfig')).toEqual([{ names: ['db1'] }]);
    expect(text('ssh-import-error')).toContain('db1 goes through bastion (ProxyJump): import bastion too');
    expect(checked('db1')).toBe('true'); // the choice is kept
    expect((await hosts.service.list()).hosts).toEqual([]);

    byTestId('ssh-host-choose-bastion')!.click();
    await flush();
    byTestId('host-import-confirm')!.click();
    await until(() => document.querySelectorAll('[data-testid^="host-card-"]').length === 2, 'the imported profiles');
    expect(api.callsOf('hosts.importSshConfig')).toEqual([{ names: ['db1'] }, { names: ['bastion', 'db1'] }]);
    const listed = (await hosts.service.list()).hosts;
    expect(listed.map((h) => h.name)).toEqual(['bastion', 'db1']);
    const db1 = listed.find((h) => h.name === 'db1')!;
    expect(byTestId(`host-card-${db1.id}`)?.textContent).toContain('through bastion');
    await until(() => byTestId('ssh-import-candidates') === null, 'the dialog to close');

    // Opened again, the imported ones are already the same.
    byTestId('host-import')!.click();
    await flush();
    byTestId('host-import-source-ssh-config')!.click();
    await until(() => byTestId('ssh-import-candidates') !== null, 'the candidates again');
    expect(['bastion', 'db1', 'web-1'].map((n) => text(`ssh-host-effect-${n}`))).toEqual(['already the same', 'already the same', 'new']);
  });

  it('a missing ~/.ssh/config says so and offers nothing to import', async () => {
    const { hosts } = await openSshImport(undefined, 'ssh-import-notes');
    expect(text('ssh-import-notes')).toBe(`${join(hosts.home, '.ssh', 'config')} does not exist: there are no OpenSSH hosts to import.`);
    expect(byTestId('ssh-import-candidates')).toBeNull();
    expect(byTestId('host-import-confirm')?.hasAttribute('disabled')).toBe(true);
  });
});
