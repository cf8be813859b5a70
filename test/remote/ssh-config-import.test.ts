// Host profiles from the user's OpenSSH config: real files in a temp "home", parsed by the real
// ssh-config library, read through HostsService as the hosts.sshConfigPreview / hosts.importSshConfig
// methods do. Expected values are what ssh_config(5) says ssh would use for each alias.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostsRequestSchemas } from '../../electron/services/remote/host-profile.js';
import { HostsService } from '../../electron/services/remote/hosts-service.js';
import { MemorySecretStore } from '../../electron/services/remote/secret-store.js';
import { MAX_SSH_CONFIG_BYTES } from '../../electron/services/remote/ssh-config-hosts.js';

let dir: string;
let home: string;
let service: HostsService | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-sshconfig-'));
  home = join(dir, 'home');
  await mkdir(join(home, '.ssh'), { recursive: true });
});
afterEach(async () => {
  await service?.close();
  service = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function open(config: string | null): Promise<HostsService> {
  const file = join(home, '.ssh', 'config');
  if (config !== null) await writeFile(file, config);
  service = await HostsService.open({
    dir: join(dir, 'remote'),
    secrets: new MemorySecretStore(),
    userKnownHosts: [],
    sshConfig: { file, home, localUser: 'alice' },
  });
  return service;
}

// Host * comes last, as ssh_config(5) advises: it only fills what the hosts above leave unset.
const realistic = `# machines at work
Host bastion
  HostName bastion.example.net
  User admin
  IdentityFile ~/.ssh/id_ed25519

Host db1
  HostName db1.internal
  Port 2222
  ProxyJump bastion
  IdentityFile %d/.ssh/id_db_missing

Host web-*
  User deploy

Host web-1

Host broken
  HostName broken.example.net
  User "bad user"

Host *
  User ops
  Port 2200
  ServerAliveInterval 30
`;

describe('hosts from ~/.ssh/config', () => {
  it('lists each concrete alias as ssh resolves it: first obtained value wins, patterns only fill gaps and are not imported', async () => {
    await writeFile(join(home, '.ssh', 'id_ed25519'), 'not really a key\n');
    const hosts = await open(realistic);
    const found = await hosts.sshConfigPreview();
    expect(found.found).toBe(true);
    expect(found.notes).toEqual([]);
    expect(found.candidates).toEqual([
      // Port from Host *; its User comes too late (admin was obtained first).
      { name: 'bastion', address: 'bastion.example.net', port: 2200, user: 'admin', auth: { kind: 'key', keyFile: join(home, '.ssh', 'id_ed25519') }, jumpHost: null, notes: [] },
      {
        name: 'db1',
        address: 'db1.internal',
        port: 2222,
        user: 'ops',
        auth: { kind: 'key', keyFile: join(home, '.ssh', 'id_db_missing') },
        jumpHost: 'bastion',
        notes: [`the key file ${join(home, '.ssh', 'id_db_missing')} does not exist on this machine`],
      },
      // No HostName: the alias is the address. User from web-* (before Host *); no IdentityFile: the agent.
      { name: 'web-1', address: 'web-1', port: 2200, user: 'deploy', auth: { kind: 'agent' }, jumpHost: null, notes: [] },
    ]);
    expect(found.skipped).toEqual([{ name: 'broken', reason: 'user: a login name (letters, digits, . _ -)' }]);
    expect(found.preview).toEqual({ added: ['bastion', 'db1', 'web-1'], replaced: [], unchanged: [] });
  });

  it("matches Host patterns as ssh does: ? is exactly one character, and a negated pattern rules a section out", async () => {
    const hosts = await open(`Host web?
  User one-char
  Port 2022

Host web web1 app
  HostName %h.example.net

Host * !app
  User deploy
`);
    const found = await hosts.sshConfigPreview();
    const summary = found.candidates.map((c) => [c.name, c.user, c.port, c.address]);
    expect(summary).toEqual([
      // web? needs one more character: not web (ssh-config 5.3.0 alone would lend web its User and Port).
      ['web', 'deploy', 22, 'web.example.net'],
      ['web1', 'one-char', 2022, 'web1.example.net'],
      // !app keeps Host * from app: its user is the console user's login name, as ssh would use.
      ['app', 'alice', 22, 'app.example.net'],
    ]);
  });

  it('imports the chosen aliases with the jump host linked by id; a second preview shows them unchanged', async () => {
    const hosts = await open(realistic);
    const done = await hosts.importSshConfig(hostsRequestSchemas['hosts.importSshConfig'].parse({ names: ['db1', 'bastion'] }));
    expect(done).toEqual({ added: ['bastion', 'db1'], replaced: [], unchanged: [] });
    const { hosts: listed } = await hosts.list();
    expect(listed.map((h) => h.name)).toEqual(['bastion', 'db1']);
    const bastion = listed.find((h) => h.name === 'bastion')!;
    const db1 = listed.find((h) => h.name === 'db1')!;
    expect(db1).toMatchObject({ address: 'db1.internal', port: 2222, user: 'ops', jumpHostId: bastion.id, groups: [] });
    expect(bastion.jumpHostId).toBeNull();
    // Stored on disk, not only in memory.
    const file = JSON.parse(await readFile(join(dir, 'remote', 'hosts.json'), 'utf8')) as { hosts: { name: string; jumpHostId: string | null }[] };
    expect(file.hosts.find((h) => h.name === 'db1')?.jumpHostId).toBe(bastion.id);

    // Groups are the console's own (ssh has none): setting one does not make the host differ from the config.
    await hosts.update({ id: bastion.id, fields: { groups: ['edge'] } });
    const again = await hosts.sshConfigPreview();
    expect(again.preview).toEqual({ added: ['web-1'], replaced: [], unchanged: ['bastion', 'db1'] });

    // A changed config replaces the profile of the same name (case-insensitively), keeping its id and groups.
    await writeFile(join(home, '.ssh', 'config'), realistic.replace('HostName bastion.example.net', 'HostName bastion2.example.net').replace('Host bastion', 'Host BASTION').replace('ProxyJump bastion', 'ProxyJump BASTION'));
    expect((await hosts.sshConfigPreview()).preview).toEqual({ added: ['web-1'], replaced: ['bastion'], unchanged: ['db1'] });
    await hosts.importSshConfig({ names: ['BASTION'] });
    const after = (await hosts.list()).hosts.find((h) => h.id === bastion.id)!;
    expect(after).toMatchObject({ name: 'BASTION', address: 'bastion2.example.net', groups: ['edge'] });
  });

  it('refuses an alias that is skipped, unknown, or whose jump host is left out, and imports nothing', async () => {
    const hosts = await open(realistic);
    await expect(hosts.importSshConfig({ names: ['broken'] })).rejects.toThrow('broken cannot be imported: user: a login name');
    await expect(hosts.importSshConfig({ names: ['nowhere'] })).rejects.toThrow(`nowhere is not a host in ${join(home, '.ssh', 'config')}`);
    await expect(hosts.importSshConfig({ names: ['web-*'] })).rejects.toThrow('is not a host in');
    await expect(hosts.importSshConfig({ names: ['db1'] })).rejects.toThrow('db1 goes through bastion (ProxyJump): import bastion too');
    expect((await hosts.list()).hosts).toEqual([]);
  });

  it('a jump host may be an existing profile; one that is neither imported nor a profile skips the host, and so do hosts behind it', async () => {
    const hosts = await open(`Host app
  ProxyJump gateway
Host deep
  ProxyJump app
Host far
  ProxyJump ops@edge:2022
Host multi
  ProxyJump app,gateway
Host self
  ProxyJump self
Host cmd
  ProxyCommand ssh -W %h:%p gateway
`);
    const before = await hosts.sshConfigPreview();
    expect(before.candidates).toEqual([]);
    expect(before.skipped).toEqual([
      { name: 'multi', reason: 'ProxyJump app,gateway has 2 hops; a profile has one jump host (give the jump host its own ProxyJump)' },
      { name: 'cmd', reason: 'it connects through ProxyCommand, which a host profile cannot hold' },
      { name: 'app', reason: 'its jump host gateway (ProxyJump) is neither a concrete Host in this file nor a host profile' },
      { name: 'far', reason: 'its jump host edge (ProxyJump) is neither a concrete Host in this file nor a host profile' },
      { name: 'self', reason: 'ProxyJump self names the host itself' },
      { name: 'deep', reason: 'its jump host app (ProxyJump) is skipped' },
    ]);

    const create = (name: string, address: string) => hosts.create(hostsRequestSchemas['hosts.create'].parse({ name, address, user: 'ops', auth: { kind: 'agent' } }));
    const gateway = await create('Gateway', 'gw.example.net');
    await create('edge', 'edge.example.net');
    const after = await hosts.sshConfigPreview();
    expect(after.candidates.map((c) => [c.name, c.jumpHost, c.notes])).toEqual([
      ['app', 'Gateway', []],
      ['deep', 'app', []],
      ['far', 'edge', ['ProxyJump ops@edge:2022: the jump host\'s own profile gives its user and port']],
    ]);
    await hosts.importSshConfig({ names: ['app', 'deep'] });
    const listed = (await hosts.list()).hosts;
    const app = listed.find((h) => h.name === 'app')!;
    // No User anywhere: ssh's default, the console user's login name.
    expect(app).toMatchObject({ user: 'alice', address: 'app', port: 22, auth: { kind: 'agent' }, jumpHostId: gateway.id });
    expect(listed.find((h) => h.name === 'deep')?.jumpHostId).toBe(app.id);
  });

  it('runs nothing: Match exec is not evaluated; Include is reported as not followed', async () => {
    const marker = join(dir, 'exec-ran');
    const hosts = await open(`Include ~/.ssh/config.d/*
Match exec "touch ${marker}"
  User fromexec
Host box
  HostName box.example.net
  IdentityFile ~/.ssh/a
  IdentityFile ~/.ssh/b
`);
    const found = await hosts.sshConfigPreview();
    expect(found.notes).toEqual(['Include ~/.ssh/config.d/* is not followed: hosts defined there are not listed.']);
    expect(found.candidates).toEqual([
      {
        name: 'box',
        address: 'box.example.net',
        port: 22,
        user: 'alice',
        auth: { kind: 'key', keyFile: join(home, '.ssh', 'a') },
        jumpHost: null,
        notes: [`the key file ${join(home, '.ssh', 'a')} does not exist on this machine`, `only the first IdentityFile is used; ~/.ssh/b left out`],
      },
    ]);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a missing config is an empty list with a note; an unparsable, oversized or non-file one is a clear error', async () => {
    const hosts = await open(null);
    const file = join(home, '.ssh', 'config');
    expect(await hosts.sshConfigPreview()).toEqual({
      file,
      found: false,
      candidates: [],
      skipped: [],
      notes: [`${file} does not exist: there are no OpenSSH hosts to import.`],
      preview: { added: [], replaced: [], unchanged: [] },
    });
    await writeFile(file, 'Host box\n  HostName "unterminated\n');
    await expect(hosts.sshConfigPreview()).rejects.toThrow(`${file} is not a valid OpenSSH config`);
    await writeFile(file, `Host box\n${'# padding\n'.repeat(MAX_SSH_CONFIG_BYTES / 10 + 1)}`);
    await expect(hosts.sshConfigPreview()).rejects.toThrow(`${file} is larger than 1 MiB: not read`);
    await rm(file);
    await mkdir(file);
    await expect(hosts.sshConfigPreview()).rejects.toThrow(`${file} is not a regular file`);
  });
});
