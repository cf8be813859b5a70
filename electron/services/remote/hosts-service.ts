// The console's remote hosts in one place: profiles (with their secrets), known host keys, and the
// pooled SSH connections, behind the `hosts.*` API methods. Files live in <dataDir>/remote/ (0700):
// hosts.json, known_hosts, secrets.json (only with an encrypting SecretStore), all 0600.
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import { ApiError } from '../../shared/api.js';
import { HostConnections, type ConnectionTestReport, type HostConnectionsOptions, type HostStateView, type RemoteLogEntry } from './host-connections.js';
import type { HostProfileView, hostsRequestSchemas } from './host-profile.js';
import { HostProfiles, type ExportedHost, type ImportPreview } from './host-profiles.js';
import { KnownHosts } from './known-hosts.js';
import { isRemoteError, type ConnectionState, type RemoteShell } from './remote-shell.js';
import type { SecretStore } from './secret-store.js';
import { readSshConfigHosts, type SshConfigHosts, type SshConfigSource } from './ssh-config-hosts.js';

export interface HostsServiceOptions {
  /** The folder for hosts.json and known_hosts: <dataDir>/remote. */
  dir: string;
  secrets: SecretStore;
  /** Known-hosts files read but never written; default the user's ~/.ssh/known_hosts. */
  userKnownHosts?: string[];
  /** Every connection fault and state change, one line each (wire to the activity log). */
  log?: (entry: RemoteLogEntry) => void;
  /** The OpenSSH client config hosts can be imported from; default the console user's ~/.ssh/config. */
  sshConfig?: Partial<SshConfigSource>;
  /** Timeouts, keepalive and backoff of the pool (defaults suit real networks). */
  connections?: Omit<HostConnectionsOptions, 'directory' | 'knownHosts' | 'log'>;
}

export type HostsParams<M extends keyof typeof hostsRequestSchemas> = z.output<(typeof hostsRequestSchemas)[M]>;

/** A profile with its live connection state, as the Hosts view lists it. */
export interface HostListItem extends HostProfileView {
  state: ConnectionState;
  error?: HostStateView['error'];
}

/** ~/.ssh/config read as profile candidates, and what importing every candidate would do. */
export interface SshConfigPreview extends SshConfigHosts {
  preview: ImportPreview;
}

export interface HostsOverview {
  hosts: HostListItem[];
  /** Where secrets are kept, for the UI to show (memory only in web mode). */
  secrets: { persistent: boolean; description: string };
}

export class HostsService {
  readonly profiles: HostProfiles;
  readonly knownHosts: KnownHosts;
  readonly connections: HostConnections;

  constructor(private readonly opts: HostsServiceOptions) {
    this.profiles = new HostProfiles({ file: join(opts.dir, 'hosts.json'), secrets: opts.secrets });
    this.knownHosts = new KnownHosts({
      consoleFile: join(opts.dir, 'known_hosts'),
      readOnlyFiles: opts.userKnownHosts ?? [join(homedir(), '.ssh', 'known_hosts')],
      onSkipped: (file, skipped) =>
        opts.log?.({ level: 'warn', hostId: '', host: file, message: `skipped ${skipped.length} unreadable line(s) of ${file}: ${skipped.slice(0, 3).map((s) => `${s.line}: ${s.reason}`).join('; ')}` }),
    });
    this.connections = new HostConnections({ ...opts.connections, directory: this.profiles, knownHosts: this.knownHosts, ...(opts.log ? { log: opts.log } : {}) });
  }

  /** Loads the profiles now, so a broken file is reported at start and `address()` can answer at once. */
  static async open(opts: HostsServiceOptions): Promise<HostsService> {
    const service = new HostsService(opts);
    await service.refresh();
    return service;
  }

  private cached: HostProfileView[] = [];

  private async refresh(): Promise<HostProfileView[]> {
    this.cached = await this.profiles.list();
    return this.cached;
  }

  async list(): Promise<HostsOverview> {
    const states = new Map(this.connections.states().map((s) => [s.id, s]));
    const hosts = (await this.refresh()).map((p) => {
      const state = states.get(p.id);
      return { ...p, state: state?.state ?? 'idle', ...(state?.error ? { error: state.error } : {}) };
    });
    return { hosts, secrets: this.profiles.secretsInfo };
  }

  async create(params: HostsParams<'hosts.create'>): Promise<HostProfileView> {
    const created = await this.profiles.create(params);
    await this.refresh();
    return created;
  }

  /** A changed profile drops its connection: the next use connects with the new settings. */
  async update(params: HostsParams<'hosts.update'>): Promise<HostProfileView> {
    const updated = await this.profiles.update(params.id, params.fields, params.secret);
    await this.connections.reset(params.id);
    await this.refresh();
    return updated;
  }

  async delete(params: HostsParams<'hosts.delete'>): Promise<void> {
    await this.profiles.delete(params.id);
    await this.connections.close(params.id);
    await this.refresh();
  }

  async duplicate(params: HostsParams<'hosts.duplicate'>): Promise<HostProfileView> {
    const copy = await this.profiles.duplicate(params.id, params.name);
    await this.refresh();
    return copy;
  }

  async export(params: HostsParams<'hosts.export'>): Promise<{ json: string }> {
    return { json: await this.profiles.export(params.ids) };
  }

  importPreview(params: HostsParams<'hosts.importPreview'>): Promise<ImportPreview> {
    return this.profiles.previewImport(params.json);
  }

  async import(params: HostsParams<'hosts.import'>): Promise<ImportPreview> {
    const done = await this.profiles.import(params.json);
    const replaced = (await this.refresh()).filter((p) => done.replaced.includes(p.name));
    for (const profile of replaced) await this.connections.reset(profile.id);
    return done;
  }

  private sshConfigSource(): SshConfigSource {
    const home = this.opts.sshConfig?.home ?? homedir();
    return {
      file: this.opts.sshConfig?.file ?? join(home, '.ssh', 'config'),
      home,
      // ssh's default User: the login name of whoever runs it.
      localUser: this.opts.sshConfig?.localUser ?? userInfo().username,
    };
  }

  /** The candidates as the import takes them: existing groups stay (ssh has none), the jump host by name. */
  private async sshConfigHosts(): Promise<{ found: SshConfigHosts; hosts: ExportedHost[] }> {
    const profiles = await this.profiles.list();
    const found = await readSshConfigHosts(this.sshConfigSource(), profiles);
    const hosts = found.candidates.map(({ notes: _notes, ...candidate }) => ({
      ...candidate,
      groups: profiles.find((p) => p.name.toLowerCase() === candidate.name.toLowerCase())?.groups ?? [],
    }));
    return { found, hosts };
  }

  async sshConfigPreview(): Promise<SshConfigPreview> {
    const { found, hosts } = await this.sshConfigHosts();
    return { ...found, preview: await this.profiles.previewHosts(hosts) };
  }

  /** Imports the chosen aliases; a name that is not a candidate, or a jump host left out, is refused with the reason. */
  async importSshConfig(params: HostsParams<'hosts.importSshConfig'>): Promise<ImportPreview> {
    const { found, hosts } = await this.sshConfigHosts();
    const wanted = new Set(params.names.map((n) => n.toLowerCase()));
    for (const name of params.names) {
      if (hosts.some((h) => h.name.toLowerCase() === name.toLowerCase())) continue;
      const skipped = found.skipped.find((s) => s.name.toLowerCase() === name.toLowerCase());
      throw new ApiError('invalid-input', skipped ? `${name} cannot be imported: ${skipped.reason}` : `${name} is not a host in ${found.file}`);
    }
    const chosen = hosts.filter((h) => wanted.has(h.name.toLowerCase()));
    const existing = (await this.profiles.list()).map((p) => p.name.toLowerCase());
    for (const host of chosen) {
      if (host.jumpHost && !wanted.has(host.jumpHost.toLowerCase()) && !existing.includes(host.jumpHost.toLowerCase())) {
        throw new ApiError('invalid-input', `${host.name} goes through ${host.jumpHost} (ProxyJump): import ${host.jumpHost} too`);
      }
    }
    const done = await this.profiles.importHosts(chosen);
    const replaced = (await this.refresh()).filter((p) => done.replaced.includes(p.name));
    for (const profile of replaced) await this.connections.reset(profile.id);
    return done;
  }

  test(params: HostsParams<'hosts.test'>): Promise<ConnectionTestReport> {
    return this.connections.test(params.id);
  }

  state(): HostStateView[] {
    return this.connections.states();
  }

  onState(listener: (view: HostStateView) => void): () => void {
    return this.connections.on('state', (id) => listener(this.connections.shell(id).view()));
  }

  /** Trusts the key the user compared, then connects (so the Hosts view shows the outcome). */
  async acceptKey(params: HostsParams<'hosts.acceptKey'>): Promise<HostStateView> {
    const { profile } = await this.profiles.resolve(params.id);
    await this.rethrow(() =>
      this.knownHosts.accept({ host: profile.address, port: profile.port, keyType: params.keyType, fingerprint: params.fingerprint, key: params.key }),
    );
    return this.reconnect(params.id);
  }

  /** The deliberate replacement of a changed key; `previousFingerprint` must be the one on record. */
  async replaceKey(params: HostsParams<'hosts.replaceKey'>): Promise<HostStateView> {
    const { profile } = await this.profiles.resolve(params.id);
    await this.rethrow(() =>
      this.knownHosts.replace(
        { host: profile.address, port: profile.port, keyType: params.keyType, fingerprint: params.fingerprint, key: params.key },
        params.previousFingerprint,
      ),
    );
    return this.reconnect(params.id);
  }

  private async reconnect(id: string): Promise<HostStateView> {
    await this.connections.reset(id, 'its host key was accepted');
    await this.connections
      .shell(id)
      .exec('true', { timeoutMs: 20_000 })
      .catch(() => undefined); // the state carries the outcome
    return this.connections.shell(id).view();
  }

  /** Key decisions refused by KnownHosts become API errors a caller can show as they are. */
  private async rethrow(work: () => Promise<void>): Promise<void> {
    try {
      await work();
    } catch (error) {
      if (isRemoteError(error)) throw new ApiError(error.code === 'io' ? 'invalid-input' : 'refused', error.message);
      throw error;
    }
  }

  // HostLookup (remote-host.ts): hosts by profile id or name.

  private profileFor(ref: string): HostProfileView {
    const profile = this.cached.find((p) => p.id === ref) ?? this.cached.find((p) => p.name.toLowerCase() === ref.toLowerCase());
    if (!profile) throw new ApiError('not-found', `no host profile ${ref}`);
    return profile;
  }

  /** The pooled shell of a host profile. */
  shell(ref: string): RemoteShell {
    return this.connections.shell(this.profileFor(ref).id);
  }

  /** The profile's address: where other nodes reach a node's peer port on that host. */
  address(ref: string): string {
    return this.profileFor(ref).address;
  }

  /** The name the operator gave the profile, as the Hosts view shows it. */
  displayName(ref: string): string {
    return this.profileFor(ref).name;
  }

  close(): Promise<void> {
    return this.connections.closeAll();
  }
}

/** The `hosts.*` API methods, keyed like the request schemas, for the console's dispatcher. */
export function hostsMethods(service: HostsService): { [M in keyof typeof hostsRequestSchemas]: (params: HostsParams<M>) => Promise<unknown> } {
  return {
    'hosts.list': () => service.list(),
    'hosts.create': (p) => service.create(p),
    'hosts.update': (p) => service.update(p),
    'hosts.delete': (p) => service.delete(p),
    'hosts.duplicate': (p) => service.duplicate(p),
    'hosts.export': (p) => service.export(p),
    'hosts.importPreview': (p) => service.importPreview(p),
    'hosts.import': (p) => service.import(p),
    'hosts.sshConfigPreview': () => service.sshConfigPreview(),
    'hosts.importSshConfig': (p) => service.importSshConfig(p),
    'hosts.test': (p) => service.test(p),
    'hosts.state': async () => service.state(),
    'hosts.acceptKey': (p) => service.acceptKey(p),
    'hosts.replaceKey': (p) => service.replaceKey(p),
  };
}
