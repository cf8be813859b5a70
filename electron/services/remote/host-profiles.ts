// Host profiles: stored in a 0600 JSON file in a 0700 directory; secrets (passphrase or password) in
// the SecretStore, never in that file nor in exports. Export/import moves profiles between consoles
// as JSON without secrets; a jump host is referred to by name there. Import is previewed first.
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { ApiError } from '../../shared/api.js';
import type { HostDirectory } from './host-connections.js';
import {
  hostProfileFieldsSchema,
  hostProfilesFileSchema,
  type HostProfile,
  type HostProfileFields,
  type HostProfileView,
} from './host-profile.js';
import { writePrivateFile } from './private-files.js';
import type { SecretStore } from './secret-store.js';

export const HOSTS_EXPORT_FORMAT = 'raft-console-hosts';

const exportedHostSchema = hostProfileFieldsSchema.omit({ jumpHostId: true }).extend({
  /** The jump host's profile name (in the same file or already in the console). */
  jumpHost: z.string().trim().min(1).max(80).nullable().default(null),
});
const exportFileSchema = z.object({
  format: z.literal(HOSTS_EXPORT_FORMAT),
  version: z.literal(1),
  hosts: z.array(exportedHostSchema).max(10_000),
});
export type ExportedHost = z.output<typeof exportedHostSchema>;

export interface ImportPreview {
  /** Names of profiles the import creates. */
  added: string[];
  /** Names of existing profiles (matched by name) the import overwrites; their secrets stay when the auth kind is unchanged. */
  replaced: string[];
  /** Names whose profile is already exactly as in the file. */
  unchanged: string[];
}

export interface HostProfilesOptions {
  file: string;
  secrets: SecretStore;
  now?: () => number;
}

const sameName = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();
const secretKey = (id: string): string => `host:${id}`;

export class HostProfiles implements HostDirectory {
  private profiles: HostProfile[] | undefined;
  private writes: Promise<unknown> = Promise.resolve();
  private readonly now: () => number;

  constructor(private readonly opts: HostProfilesOptions) {
    this.now = opts.now ?? Date.now;
  }

  get secretsInfo(): { persistent: boolean; description: string } {
    return { persistent: this.opts.secrets.persistent, description: this.opts.secrets.description };
  }

  private async load(): Promise<HostProfile[]> {
    if (this.profiles) return this.profiles;
    let text: string;
    try {
      text = await readFile(this.opts.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      this.profiles = [];
      return this.profiles;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      // Never overwrite a file we cannot read: the user's profiles would be lost.
      throw new ApiError('internal', `${this.opts.file} is not valid JSON (${(error as Error).message}); fix or move it away`);
    }
    const parsed = hostProfilesFileSchema.safeParse(json);
    if (!parsed.success) throw new ApiError('internal', `${this.opts.file} is not a host profiles file: ${issueText(parsed.error)}`);
    this.profiles = parsed.data.hosts;
    return this.profiles;
  }

  private mutate<T>(work: (profiles: HostProfile[]) => Promise<{ next: HostProfile[]; result: T }>): Promise<T> {
    const run = async (): Promise<T> => {
      const { next, result } = await work(await this.load());
      await writePrivateFile(this.opts.file, JSON.stringify({ version: 1, hosts: next }, null, 2) + '\n');
      this.profiles = next;
      return result;
    };
    const done = this.writes.then(run, run);
    this.writes = done.catch(() => undefined);
    return done;
  }

  private async view(profile: HostProfile): Promise<HostProfileView> {
    const hasSecret = profile.auth.kind !== 'agent' && (await this.opts.secrets.get(secretKey(profile.id))) !== undefined;
    return { ...profile, hasSecret };
  }

  async list(): Promise<HostProfileView[]> {
    return Promise.all((await this.load()).map((p) => this.view(p)));
  }

  async get(id: string): Promise<HostProfileView> {
    return this.view(await this.find(id));
  }

  private async find(id: string): Promise<HostProfile> {
    const profile = (await this.load()).find((p) => p.id === id);
    if (!profile) throw new ApiError('not-found', `no host profile ${id}`);
    return profile;
  }

  /** HostDirectory: the profile and its secret, for connecting. */
  async resolve(id: string): Promise<{ profile: HostProfile; secret?: string }> {
    const profile = await this.find(id);
    const secret = profile.auth.kind === 'agent' ? undefined : await this.opts.secrets.get(secretKey(id));
    return secret === undefined ? { profile } : { profile, secret };
  }

  async create(input: z.input<typeof hostProfileFieldsSchema> & { secret?: string }): Promise<HostProfileView> {
    const { secret, ...rest } = input;
    const fields = parseFields(rest);
    checkSecret(fields, secret);
    const created = await this.mutate(async (profiles) => {
      const profile: HostProfile = { ...fields, id: `host-${randomUUID().slice(0, 8)}`, createdAt: this.now(), updatedAt: this.now() };
      checkProfile(profile, profiles);
      return { next: [...profiles, profile], result: profile };
    });
    if (secret !== undefined) await this.opts.secrets.set(secretKey(created.id), secret);
    return this.view(created);
  }

  /** Changes the given fields; `secret: null` forgets the stored secret; a changed auth kind forgets it too. */
  async update(id: string, patch: Partial<z.input<typeof hostProfileFieldsSchema>>, secret?: string | null): Promise<HostProfileView> {
    let dropSecret = secret === null;
    const updated = await this.mutate(async (profiles) => {
      const current = profiles.find((p) => p.id === id);
      if (!current) throw new ApiError('not-found', `no host profile ${id}`);
      const { id: _id, createdAt, updatedAt: _u, ...currentFields } = current;
      const fields = parseFields({ ...currentFields, ...patch });
      checkSecret(fields, secret ?? undefined);
      if (fields.auth.kind !== current.auth.kind) dropSecret = true;
      const profile: HostProfile = { ...fields, id, createdAt, updatedAt: this.now() };
      checkProfile(profile, profiles);
      return { next: profiles.map((p) => (p.id === id ? profile : p)), result: profile };
    });
    if (typeof secret === 'string') await this.opts.secrets.set(secretKey(id), secret);
    else if (dropSecret) await this.opts.secrets.delete(secretKey(id));
    return this.view(updated);
  }

  /** Refused while another profile uses this one as its jump host. */
  async delete(id: string): Promise<void> {
    await this.mutate(async (profiles) => {
      const profile = profiles.find((p) => p.id === id);
      if (!profile) throw new ApiError('not-found', `no host profile ${id}`);
      const users = profiles.filter((p) => p.jumpHostId === id).map((p) => p.name);
      if (users.length) throw new ApiError('conflict', `${profile.name} is the jump host of ${users.join(', ')}: change those first`);
      return { next: profiles.filter((p) => p.id !== id), result: undefined };
    });
    await this.opts.secrets.delete(secretKey(id));
  }

  /** A copy named "<name> (copy)" (or `name`), without the secret. */
  async duplicate(id: string, name?: string): Promise<HostProfileView> {
    const source = await this.find(id);
    const profiles = await this.load();
    let copyName = name ?? `${source.name} (copy)`;
    for (let n = 2; !name && profiles.some((p) => sameName(p.name, copyName)) && n < 1000; n++) copyName = `${source.name} (copy ${n})`;
    const { id: _id, createdAt: _c, updatedAt: _u, ...fields } = source;
    return this.create({ ...fields, name: copyName });
  }

  /** Profiles as JSON without secrets or ids; the jump host is named. */
  async export(ids?: string[]): Promise<string> {
    const profiles = await this.load();
    const chosen = ids ? ids.map((id) => profiles.find((p) => p.id === id) ?? throwNotFound(id)) : profiles;
    const hosts: ExportedHost[] = chosen.map((p) => ({
      name: p.name,
      address: p.address,
      port: p.port,
      user: p.user,
      auth: p.auth,
      jumpHost: p.jumpHostId ? (profiles.find((j) => j.id === p.jumpHostId)?.name ?? null) : null,
      groups: p.groups,
    }));
    return JSON.stringify({ format: HOSTS_EXPORT_FORMAT, version: 1, hosts }, null, 2) + '\n';
  }

  async previewImport(json: string): Promise<ImportPreview> {
    return this.previewHosts(parseExport(json));
  }

  /** Applies an import; returns what it did (the same shape as the preview). */
  async import(json: string): Promise<ImportPreview> {
    return this.importHosts(parseExport(json));
  }

  /** What importing these hosts would do (by the same rules as a file's import; another source, e.g. ~/.ssh/config, gives the hosts). */
  async previewHosts(hosts: ExportedHost[]): Promise<ImportPreview> {
    return this.plan(hosts, await this.load()).preview;
  }

  async importHosts(hosts: ExportedHost[]): Promise<ImportPreview> {
    const dropSecrets: string[] = [];
    const preview = await this.mutate(async (profiles) => {
      const { preview, next, secretsToDrop } = this.plan(hosts, profiles);
      dropSecrets.push(...secretsToDrop);
      return { next, result: preview };
    });
    for (const id of dropSecrets) await this.opts.secrets.delete(secretKey(id));
    return preview;
  }

  private plan(hosts: ExportedHost[], profiles: HostProfile[]): { preview: ImportPreview; next: HostProfile[]; secretsToDrop: string[] } {
    const preview: ImportPreview = { added: [], replaced: [], unchanged: [] };
    const seen = new Set<string>();
    for (const host of hosts) {
      const lower = host.name.toLowerCase();
      if (seen.has(lower)) throw new ApiError('invalid-input', `the file names the host "${host.name}" twice`);
      seen.add(lower);
    }
    // First give every imported host its id (kept when the name exists), then resolve jump names.
    const next = [...profiles];
    const idOf = new Map<string, string>();
    const secretsToDrop: string[] = [];
    for (const host of hosts) {
      const existing = profiles.find((p) => sameName(p.name, host.name));
      idOf.set(host.name.toLowerCase(), existing?.id ?? `host-${randomUUID().slice(0, 8)}`);
    }
    const jumpId = (name: string | null): string | null => {
      if (name === null) return null;
      const id = idOf.get(name.toLowerCase()) ?? profiles.find((p) => sameName(p.name, name))?.id;
      if (!id) throw new ApiError('invalid-input', `the jump host "${name}" is neither in the file nor a profile of this console`);
      return id;
    };
    for (const host of hosts) {
      const { jumpHost, ...fields } = host;
      const id = idOf.get(host.name.toLowerCase())!;
      const existing = profiles.find((p) => p.id === id);
      const profile: HostProfile = {
        ...fields,
        jumpHostId: jumpId(jumpHost),
        id,
        createdAt: existing?.createdAt ?? this.now(),
        updatedAt: this.now(),
      };
      if (!existing) {
        next.push(profile);
        preview.added.push(host.name);
        continue;
      }
      const { createdAt: _a, updatedAt: _b, ...before } = existing;
      const { createdAt: _c, updatedAt: _d, ...after } = profile;
      // Compared as values: key order differs between a profile as created, updated or imported.
      if (isDeepStrictEqual(before, { ...after, name: existing.name })) {
        preview.unchanged.push(existing.name);
        continue;
      }
      next[next.findIndex((p) => p.id === id)] = profile;
      preview.replaced.push(existing.name);
      if (existing.auth.kind !== profile.auth.kind) secretsToDrop.push(id);
    }
    for (const profile of next) checkProfile(profile, next);
    return { preview, next, secretsToDrop };
  }
}

function throwNotFound(id: string): never {
  throw new ApiError('not-found', `no host profile ${id}`);
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid';
}

function parseFields(input: unknown): HostProfileFields {
  const parsed = hostProfileFieldsSchema.safeParse(input);
  if (!parsed.success) throw new ApiError('invalid-input', issueText(parsed.error));
  return parsed.data;
}

function checkSecret(fields: HostProfileFields, secret: string | undefined): void {
  if (secret !== undefined && fields.auth.kind === 'agent') throw new ApiError('invalid-input', 'agent authentication takes no passphrase or password');
}

/** Unique name, and a jump host that exists, is not the profile itself, and forms no loop. */
function checkProfile(profile: HostProfile, profiles: HostProfile[]): void {
  const clash = profiles.find((p) => p.id !== profile.id && sameName(p.name, profile.name));
  if (clash) throw new ApiError('conflict', `a host profile named "${clash.name}" already exists`);
  const byId = new Map(profiles.map((p) => [p.id, p]));
  byId.set(profile.id, profile);
  let hop: string | null = profile.jumpHostId;
  const visited = new Set([profile.id]);
  while (hop) {
    if (visited.has(hop)) throw new ApiError('invalid-input', `the jump hosts of "${profile.name}" form a loop`);
    visited.add(hop);
    const next = byId.get(hop);
    if (!next) throw new ApiError('invalid-input', `the jump host ${hop} of "${profile.name}" does not exist`);
    hop = next.jumpHostId;
  }
}

function parseExport(json: string): ExportedHost[] {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (error) {
    throw new ApiError('invalid-input', `not a JSON file: ${(error as Error).message}`);
  }
  const parsed = exportFileSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'file';
    throw new ApiError('invalid-input', `not a Raft Console hosts file: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data.hosts;
}
