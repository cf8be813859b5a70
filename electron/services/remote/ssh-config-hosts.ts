// Host profile candidates from the user's OpenSSH client config (~/.ssh/config): every concrete Host
// alias, resolved the way ssh resolves it (first obtained value wins, so `Host *` only fills gaps).
// The ssh-config library parses and computes; this module turns its answer into profile fields and
// says per host what it could not keep. Nothing here connects or runs a command (no Match exec).
import { readFile, stat } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import SSHConfig, { LineType, type Line } from 'ssh-config';
import { z } from 'zod';
import { ApiError } from '../../shared/api.js';
import { hostProfileFieldsSchema, type HostAuth } from './host-profile.js';

/** Where the config is and whose it is: what ssh takes from the user running it. */
export interface SshConfigSource {
  file: string;
  /** The home directory `~` and %d stand for. */
  home: string;
  /** The login name: the default User, and %u. */
  localUser: string;
}

/** One alias as a host profile would hold it. `jumpHost` names another candidate or an existing profile. */
export interface SshConfigCandidate {
  name: string;
  address: string;
  port: number;
  user: string;
  auth: HostAuth;
  jumpHost: string | null;
  /** What the user should know: a key file missing here, IdentityFiles not used… */
  notes: string[];
}

export interface SshConfigSkipped {
  name: string;
  reason: string;
}

export interface SshConfigHosts {
  file: string;
  /** False when the file does not exist (nothing to import, not an error). */
  found: boolean;
  candidates: SshConfigCandidate[];
  skipped: SshConfigSkipped[];
  /** About the file as a whole (Include not followed, no file…). */
  notes: string[];
}

/** An existing profile, as far as resolving jump hosts needs it. */
export interface KnownProfile {
  id: string;
  name: string;
  jumpHostId: string | null;
}

/** Far above any real client config (OpenSSH's own are a few KiB). */
export const MAX_SSH_CONFIG_BYTES = 1024 * 1024;

const isPattern = (alias: string): boolean => /[*?!]/.test(alias);
const lower = (s: string): string => s.toLowerCase();

/** Reads and resolves the config; a missing file gives an empty answer with a note. */
export async function readSshConfigHosts(source: SshConfigSource, profiles: KnownProfile[]): Promise<SshConfigHosts> {
  let text: string;
  try {
    // Looked at before reading: a FIFO or a huge file must not hang or fill the console.
    const info = await stat(source.file);
    if (!info.isFile()) throw new ApiError('invalid-input', `${source.file} is not a regular file`);
    if (info.size > MAX_SSH_CONFIG_BYTES) throw new ApiError('invalid-input', `${source.file} is larger than ${MAX_SSH_CONFIG_BYTES / 1024 / 1024} MiB: not read`);
    text = await readFile(source.file, 'utf8');
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return { file: source.file, found: false, candidates: [], skipped: [], notes: [`${source.file} does not exist: there are no OpenSSH hosts to import.`] };
    }
    throw new ApiError('invalid-input', `cannot read ${source.file}: ${(error as Error).message}`);
  }
  let config: SSHConfig;
  try {
    config = SSHConfig.parse(text);
  } catch (error) {
    throw new ApiError('invalid-input', `${source.file} is not a valid OpenSSH config: ${(error as Error).message}`);
  }
  return resolveHosts(config, source, profiles);
}

async function resolveHosts(config: SSHConfig, source: SshConfigSource, profiles: KnownProfile[]): Promise<SshConfigHosts> {
  const notes: string[] = [];
  for (const line of allDirectives(config)) {
    // The library does not follow Include; say so rather than import part of what ssh sees.
    if (/^include$/i.test(line.param)) notes.push(`Include ${valueText(line.value)} is not followed: hosts defined there are not listed.`);
  }
  dropCanonicalization(config);

  const aliases: string[] = [];
  const skipped: SshConfigSkipped[] = [];
  for (const line of config) {
    if (line.type !== LineType.DIRECTIVE || !/^host$/i.test(line.param)) continue;
    for (const alias of valueList(line.value)) {
      if (isPattern(alias)) continue;
      const same = aliases.find((a) => lower(a) === lower(alias));
      if (same === alias) continue; // the same alias in another Host line: more settings, one host
      if (same) skipped.push({ name: alias, reason: `differs from the host ${same} only in case; profile names are compared without case` });
      else aliases.push(alias);
    }
  }

  const resolved: (SshConfigCandidate & { hop: string | null })[] = [];
  for (const alias of aliases) {
    const outcome = await resolveAlias(config, alias, source);
    if ('reason' in outcome) skipped.push({ name: alias, reason: outcome.reason });
    else resolved.push(outcome);
  }

  // Jump hosts: another alias being imported or an existing profile. A host whose jump host is
  // skipped is skipped too, so repeat until nothing changes.
  const profileByName = new Map(profiles.map((p) => [lower(p.name), p]));
  const profileById = new Map(profiles.map((p) => [p.id, p]));
  let selectable = resolved;
  for (let changed = true; changed; ) {
    changed = false;
    const byName = new Map(selectable.map((c) => [lower(c.name), c]));
    const next: typeof selectable = [];
    for (const candidate of selectable) {
      const reason = jumpProblem(candidate, byName, profileByName, profileById, skipped);
      if (reason) {
        skipped.push({ name: candidate.name, reason });
        changed = true;
      } else next.push(candidate);
    }
    selectable = next;
  }
  const candidates = selectable.map(({ hop, ...candidate }) => {
    const target = hop === null ? null : (selectable.find((c) => lower(c.name) === lower(hop))?.name ?? profileByName.get(lower(hop))!.name);
    return { ...candidate, jumpHost: target };
  });
  return { file: source.file, found: true, candidates, skipped, notes };
}

/** Why a candidate's ProxyJump cannot be kept, or null when it can (no jump, or a known host without a loop). */
function jumpProblem(
  candidate: { name: string; hop: string | null },
  byName: Map<string, { name: string; hop: string | null }>,
  profileByName: Map<string, KnownProfile>,
  profileById: Map<string, KnownProfile>,
  skipped: SshConfigSkipped[],
): string | null {
  const hop = candidate.hop;
  if (hop === null) return null;
  if (lower(hop) === lower(candidate.name)) return `ProxyJump ${hop} names the host itself`;
  if (!byName.has(lower(hop)) && !profileByName.has(lower(hop))) {
    const skippedHop = skipped.find((s) => lower(s.name) === lower(hop));
    return skippedHop ? `its jump host ${hop} (ProxyJump) is skipped` : `its jump host ${hop} (ProxyJump) is neither a concrete Host in this file nor a host profile`;
  }
  // Follow the chain: candidates first (they replace profiles of the same name), then profiles by id.
  const visited = new Set([lower(candidate.name)]);
  let current: string | null = hop;
  while (current !== null) {
    if (visited.has(lower(current))) return `its jump hosts form a loop (${[...visited, lower(current)].join(' → ')})`;
    visited.add(lower(current));
    const asCandidate = byName.get(lower(current));
    if (asCandidate) {
      current = asCandidate.hop;
      continue;
    }
    const profile = profileByName.get(lower(current));
    const jump = profile?.jumpHostId ? profileById.get(profile.jumpHostId) : undefined;
    current = jump?.name ?? null;
  }
  return null;
}

type Resolved = (SshConfigCandidate & { hop: string | null }) | { reason: string };

/** One alias's settings as ssh would use them, checked by the profile schema. */
async function resolveAlias(config: SSHConfig, alias: string, source: SshConfigSource): Promise<Resolved> {
  // ignoreCase: directive names are case-insensitive in ssh; matchExec off: reading must run nothing.
  const computed = hostSectionsFor(config, alias).compute(alias, { ignoreCase: true, matchExec: false });
  const one = (key: string): string | undefined => {
    const value = computed[key];
    return Array.isArray(value) ? value[0] : value;
  };
  const notes: string[] = [];

  const proxyJump = one('proxyjump');
  const proxyCommand = one('proxycommand');
  if ((!proxyJump || proxyJump === 'none') && proxyCommand && proxyCommand !== 'none') {
    return { reason: `it connects through ProxyCommand, which a host profile cannot hold` };
  }

  const address = expandHostName(one('hostname') ?? alias, alias);
  const portText = one('port') ?? '22';
  if (!/^\d+$/.test(portText)) return { reason: `Port ${portText} is not a number` };
  const port = Number(portText);
  const user = one('user') ?? source.localUser;

  let auth: HostAuth = { kind: 'agent' };
  const identityFiles = ([] as string[]).concat(computed.identityfile ?? []);
  if (identityFiles.length > 0) {
    const expanded = expandPath(identityFiles[0], { ...source, alias, address, port, user });
    if ('reason' in expanded) return expanded;
    auth = { kind: 'key', keyFile: expanded.path };
    if (expanded.relative) notes.push(`IdentityFile ${identityFiles[0]} is a relative path: taken from the home directory`);
    if (!(await isFile(expanded.path))) notes.push(`the key file ${expanded.path} does not exist on this machine`);
    if (identityFiles.length > 1) notes.push(`only the first IdentityFile is used; ${identityFiles.slice(1).join(', ')} left out`);
  }

  let hop: string | null = null;
  if (proxyJump && proxyJump !== 'none') {
    const hops = proxyJump.split(',');
    if (hops.length > 1) return { reason: `ProxyJump ${proxyJump} has ${hops.length} hops; a profile has one jump host (give the jump host its own ProxyJump)` };
    const parsed = /^(?:ssh:\/\/)?(?:([^@]+)@)?(\[[^\]]+\]|[^:@]+)(?::(\d+))?$/.exec(proxyJump);
    if (!parsed) return { reason: `ProxyJump ${proxyJump} is not user@host:port` };
    hop = parsed[2];
    if (parsed[1] || parsed[3]) notes.push(`ProxyJump ${proxyJump}: the jump host's own profile gives its user and port`);
  }

  const checked = hostProfileFieldsSchema.safeParse({ name: alias, address, port, user, auth, jumpHostId: null, groups: [] });
  if (!checked.success) return { reason: issueText(checked.error) };
  const fields = checked.data;
  return { name: fields.name, address: fields.address, port: fields.port, user: fields.user, auth: fields.auth, jumpHost: hop, hop, notes };
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'value'}: ${issue.message}` : 'invalid';
}

/** HostName takes %h (the alias) and %%, as in ssh. */
function expandHostName(value: string, alias: string): string {
  return value.replace(/%([%h])/g, (_m, token: string) => (token === '%' ? '%' : alias));
}

/** An IdentityFile as ssh expands it: `~`, then %d %u %h %r %n %p %%. */
function expandPath(
  value: string,
  ctx: SshConfigSource & { alias: string; address: string; port: number; user: string },
): { path: string; relative: boolean } | { reason: string } {
  let path = value;
  if (path === '~' || path.startsWith('~/')) path = ctx.home + path.slice(1);
  else if (path.startsWith('~')) return { reason: `IdentityFile ${value}: another user's home (~name) is not expanded` };
  const tokens: Record<string, string> = { '%': '%', d: ctx.home, u: ctx.localUser, h: ctx.address, r: ctx.user, n: ctx.alias, p: String(ctx.port) };
  let unknown: string | undefined;
  path = path.replace(/%(.)/g, (match, token: string) => {
    if (token in tokens) return tokens[token];
    unknown ??= match;
    return match;
  });
  if (unknown) return { reason: `IdentityFile ${value} uses ${unknown}, which the import does not expand` };
  // ssh reads a relative IdentityFile from the directory it runs in; the console has no such place.
  const relative = !isAbsolute(path);
  return { path: relative ? join(ctx.home, path) : path, relative };
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * The config without the Host sections that do not apply to `alias` by ssh's pattern rule. The
 * library's own matcher (ssh-config 5.3.0) lets `?` match no character, so `Host web?` would lend
 * its settings to `web`; sections it keeps are then matched by it as before.
 */
function hostSectionsFor(config: SSHConfig, alias: string): SSHConfig {
  const kept = SSHConfig.parse('');
  kept.push(...config.filter((line) => line.type !== LineType.DIRECTIVE || !/^host$/i.test(line.param) || hostPatternsMatch(valueList(line.value), alias)));
  return kept;
}

/** ssh_config(5) PATTERNS: a negated pattern that matches rules the section out; else any pattern matching rules it in. */
function hostPatternsMatch(patterns: string[], alias: string): boolean {
  let matched = false;
  for (const pattern of patterns) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), alias)) return false;
    } else if (globMatches(pattern, alias)) {
      matched = true;
    }
  }
  return matched;
}

/** `*` any run of characters, `?` exactly one. */
function globMatches(pattern: string, text: string): boolean {
  const source = pattern.replace(/[\\^$.|+()[\]{}]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^(?:${source})$`).test(text);
}

/** Every directive, top level and inside Host/Match sections. */
function* allDirectives(config: SSHConfig): Generator<Extract<Line, { param: string }>> {
  for (const line of config) {
    if (line.type !== LineType.DIRECTIVE) continue;
    yield line;
    if ('config' in line) yield* allDirectives(line.config);
  }
}

/** CanonicalizeHostName makes the library run DNS lookups (nslookup): reading a file must not. */
function dropCanonicalization(config: SSHConfig): void {
  for (let i = config.length - 1; i >= 0; i--) {
    const line = config[i];
    if (line.type !== LineType.DIRECTIVE) continue;
    if (/^canonicalizehostname$/i.test(line.param)) config.splice(i, 1);
    else if ('config' in line) dropCanonicalization(line.config);
  }
}

function valueList(value: string | { val: string }[]): string[] {
  return typeof value === 'string' ? [value] : value.map((v) => v.val);
}

function valueText(value: string | { val: string }[]): string {
  return valueList(value).join(' ');
}
