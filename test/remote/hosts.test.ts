// Host profiles: stored 0600 in a 0700 dir, secrets only in the secret store, export without secrets,
// import previewed then applied; and the two secret stores.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hostsRequestSchemas } from '../../electron/services/remote/host-profile.js';
import { HostProfiles } from '../../electron/services/remote/host-profiles.js';
import { EncryptedSecretStore, MemorySecretStore, desktopSecretStore, type SecretCipher } from '../../electron/services/remote/secret-store.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rc-hosts-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A reversible stand-in for safeStorage whose output never contains the plain text. */
const cipher: SecretCipher = {
  encrypt: (plain) => Buffer.from(Buffer.from(plain, 'utf8').map((b) => b ^ 0x5a)),
  decrypt: (data) => Buffer.from(data.map((b) => b ^ 0x5a)).toString('utf8'),
};

const base = { address: '198.51.100.1', user: 'ops', auth: { kind: 'key' as const, keyFile: '/keys/id_ed25519' } };

describe('HostProfiles', () => {
  it('creates profiles in a 0600 file inside a 0700 directory, the secret elsewhere and encrypted', async () => {
    const file = join(dir, 'remote', 'hosts.json');
    const secretsFile = join(dir, 'remote', 'secrets.json');
    const hosts = new HostProfiles({ file, secrets: new EncryptedSecretStore(secretsFile, cipher) });
    const created = await hosts.create({ ...base, name: 'db-1', groups: ['prod'], secret: 'my passphrase' });
    expect(created).toMatchObject({ name: 'db-1', port: 22, jumpHostId: null, groups: ['prod'], hasSecret: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(secretsFile)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'remote'))).mode & 0o777).toBe(0o700);
    expect(await readFile(file, 'utf8')).not.toContain('my passphrase');
    expect(await readFile(secretsFile, 'utf8')).not.toContain('my passphrase');
    // A new service on the same files (a console restart) reads both back.
    const again = new HostProfiles({ file, secrets: new EncryptedSecretStore(secretsFile, cipher) });
    expect(await again.resolve(created.id)).toEqual({ profile: expect.objectContaining({ name: 'db-1' }), secret: 'my passphrase' });
  });

  it('an update validated by the API schema changes only the fields it names', async () => {
    const hosts = new HostProfiles({ file: join(dir, 'hosts.json'), secrets: new MemorySecretStore() });
    const bastion = await hosts.create({ ...base, name: 'bastion' });
    const node = await hosts.create({ ...base, name: 'node', port: 2200, jumpHostId: bastion.id, groups: ['prod'] });
    const params = hostsRequestSchemas['hosts.update'].parse({ id: node.id, fields: { name: 'node-renamed' } });
    const updated = await hosts.update(params.id, params.fields, params.secret);
    expect(updated).toMatchObject({ name: 'node-renamed', port: 2200, jumpHostId: bastion.id, groups: ['prod'] });
  });

  it('refuses bad input with a clear error and changes nothing', async () => {
    const file = join(dir, 'hosts.json');
    const hosts = new HostProfiles({ file, secrets: new MemorySecretStore() });
    await hosts.create({ ...base, name: 'a' });
    const before = await readFile(file, 'utf8');
    await expect(hosts.create({ ...base, name: 'A' })).rejects.toThrow(/already exists/);
    await expect(hosts.create({ ...base, name: 'b', port: 70000 })).rejects.toThrow(/port/);
    await expect(hosts.create({ ...base, name: 'b', address: 'bad host!' })).rejects.toThrow(/address/);
    await expect(hosts.create({ ...base, name: 'b', jumpHostId: 'host-nothere' })).rejects.toThrow(/does not exist/);
    await expect(hosts.create({ ...base, name: 'b', auth: { kind: 'agent' }, secret: 'x' })).rejects.toThrow(/agent/);
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('jump hosts: no loops, and a jump host in use cannot be deleted', async () => {
    const hosts = new HostProfiles({ file: join(dir, 'hosts.json'), secrets: new MemorySecretStore() });
    const bastion = await hosts.create({ ...base, name: 'bastion' });
    const node = await hosts.create({ ...base, name: 'node', address: '198.51.100.2', jumpHostId: bastion.id });
    await expect(hosts.update(bastion.id, { jumpHostId: node.id })).rejects.toThrow(/loop/);
    await expect(hosts.update(bastion.id, { jumpHostId: bastion.id })).rejects.toThrow(/loop/);
    await expect(hosts.delete(bastion.id)).rejects.toThrow(/jump host of node/);
    await hosts.delete(node.id);
    await hosts.delete(bastion.id);
    expect(await hosts.list()).toEqual([]);
  });

  it('a changed auth kind or secret: null forgets the secret; duplicate copies without it', async () => {
    const secrets = new MemorySecretStore();
    const hosts = new HostProfiles({ file: join(dir, 'hosts.json'), secrets });
    const p = await hosts.create({ ...base, name: 'p', auth: { kind: 'password' }, secret: 'pw' });
    const copy = await hosts.duplicate(p.id);
    expect(copy).toMatchObject({ name: 'p (copy)', hasSecret: false, auth: { kind: 'password' } });
    expect((await hosts.update(p.id, { port: 2200 })).hasSecret).toBe(true);
    expect((await hosts.update(p.id, { auth: { kind: 'key', keyFile: '/k' } })).hasSecret).toBe(false);
    await hosts.update(p.id, {}, 'passphrase');
    expect((await hosts.resolve(p.id)).secret).toBe('passphrase');
    await hosts.update(p.id, {}, null);
    expect((await hosts.resolve(p.id)).secret).toBeUndefined();
  });

  it('exports without secrets or ids, jump hosts by name; a preview lists added and replaced; import applies exactly that', async () => {
    const source = new HostProfiles({ file: join(dir, 'a.json'), secrets: new MemorySecretStore() });
    const bastion = await source.create({ ...base, name: 'bastion', auth: { kind: 'password' }, secret: 'top secret' });
    await source.create({ ...base, name: 'node-1', address: '198.51.100.3', jumpHostId: bastion.id, groups: ['g'] });
    const exported = await source.export();
    expect(exported).not.toContain('top secret');
    expect(exported).not.toContain(bastion.id);
    expect(JSON.parse(exported).hosts[1]).toMatchObject({ name: 'node-1', jumpHost: 'bastion' });

    const targetSecrets = new MemorySecretStore();
    const target = new HostProfiles({ file: join(dir, 'b.json'), secrets: targetSecrets });
    const existing = await target.create({ ...base, name: 'Bastion', address: '198.51.100.9', auth: { kind: 'agent' } });
    const keeper = await target.create({ ...base, name: 'keeper', auth: { kind: 'password' }, secret: 'keep me' });
    const preview = await target.previewImport(exported);
    expect(preview).toEqual({ added: ['node-1'], replaced: ['Bastion'], unchanged: [] });
    expect((await target.list()).map((p) => p.address)).toEqual(['198.51.100.9', '198.51.100.1']); // nothing applied yet

    expect(await target.import(exported)).toEqual(preview);
    const after = await target.list();
    const bastionAfter = after.find((p) => p.name === 'bastion')!;
    expect(bastionAfter.id).toBe(existing.id);
    expect(bastionAfter.address).toBe('198.51.100.1');
    expect(after.find((p) => p.name === 'node-1')?.jumpHostId).toBe(existing.id);
    expect((await target.resolve(keeper.id)).secret).toBe('keep me');
    expect(await target.previewImport(exported)).toEqual({ added: [], replaced: [], unchanged: ['bastion', 'node-1'] });
  });

  it('a profile exported and imported back is unchanged, also after an edit (whatever order its fields were written in)', async () => {
    const hosts = new HostProfiles({ file: join(dir, 'hosts.json'), secrets: new MemorySecretStore() });
    const created = await hosts.create({ ...base, name: 'edited' });
    await hosts.update(created.id, { groups: ['g'] });
    expect(await hosts.previewImport(await hosts.export())).toEqual({ added: [], replaced: [], unchanged: ['edited'] });
  });

  it('refuses a bad import file with the reason and applies nothing', async () => {
    const hosts = new HostProfiles({ file: join(dir, 'hosts.json'), secrets: new MemorySecretStore() });
    await expect(hosts.previewImport('{not json')).rejects.toThrow(/not a JSON file/);
    await expect(hosts.import(JSON.stringify({ format: 'other', version: 1, hosts: [] }))).rejects.toThrow(/not a Raft Console hosts file/);
    const file = (hosts: unknown[]): string => JSON.stringify({ format: 'raft-console-hosts', version: 1, hosts });
    const host = { name: 'x', address: '198.51.100.1', port: 22, user: 'u', auth: { kind: 'agent' }, groups: [] };
    await expect(hosts.import(file([host, { ...host, name: 'X' }]))).rejects.toThrow(/twice/);
    await expect(hosts.import(file([{ ...host, jumpHost: 'nowhere' }]))).rejects.toThrow(/jump host "nowhere"/);
    await expect(hosts.import(file([{ ...host, port: 0 }]))).rejects.toThrow(/hosts\.0\.port/);
    expect(await hosts.list()).toEqual([]);
  });

  it('never overwrites a profiles file it cannot read', async () => {
    const file = join(dir, 'hosts.json');
    await writeFile(file, '{"version": 1, "hosts": [oops');
    const hosts = new HostProfiles({ file, secrets: new MemorySecretStore() });
    await expect(hosts.create({ ...base, name: 'a' })).rejects.toThrow(/not valid JSON/);
    expect(await readFile(file, 'utf8')).toBe('{"version": 1, "hosts": [oops');
  });
});

describe('secret stores', () => {
  it('the memory store says secrets live in memory only until the console stops', async () => {
    const store = new MemorySecretStore();
    expect(store.persistent).toBe(false);
    expect(store.description).toMatch(/memory only until the console stops/);
    await store.set('k', 'v');
    expect(await store.get('k')).toBe('v');
    await store.delete('k');
    expect(await store.get('k')).toBeUndefined();
  });

  it('the encrypted store writes only what the cipher produced', async () => {
    const file = join(dir, 's', 'secrets.json');
    const store = new EncryptedSecretStore(file, cipher);
    await store.set('host:a', 'plain secret');
    const text = await readFile(file, 'utf8');
    expect(text).not.toContain('plain secret');
    expect(JSON.parse(text).secrets['host:a']).toBe(cipher.encrypt('plain secret').toString('base64'));
    expect(await new EncryptedSecretStore(file, cipher).get('host:a')).toBe('plain secret');
    await store.delete('host:a');
    expect(await new EncryptedSecretStore(file, cipher).get('host:a')).toBeUndefined();
  });

  it('the desktop store encrypts with safeStorage when a keychain backs it, and falls back to memory (saying so) when not', async () => {
    const safeStorage = (available: boolean, backend?: string) => ({
      isEncryptionAvailable: () => available,
      encryptString: (plain: string) => cipher.encrypt(plain),
      decryptString: (data: Buffer) => cipher.decrypt(data),
      ...(backend ? { getSelectedStorageBackend: () => backend } : {}),
    });
    const file = join(dir, 'd', 'secrets.json');
    const encrypted = desktopSecretStore(file, safeStorage(true, 'gnome_libsecret'));
    expect(encrypted.persistent).toBe(true);
    await encrypted.set('k', 'secret value');
    expect(await readFile(file, 'utf8')).not.toContain('secret value');
    for (const store of [desktopSecretStore(file, safeStorage(false)), desktopSecretStore(file, safeStorage(true, 'basic_text'))]) {
      expect(store.persistent).toBe(false);
      expect(store.description).toMatch(/No system keychain.*memory only until the console stops/);
      expect(await store.get('k')).toBeUndefined();
    }
  });
});
