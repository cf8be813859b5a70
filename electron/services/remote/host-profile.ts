// A host profile: how to reach one machine over SSH. Declared once with zod; the API validates
// requests with these schemas and the profiles file is checked with them when read.
import { z } from 'zod';

const profileId = z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -');
// A DNS name, an IPv4 address or an IPv6 address (no brackets): what ssh2 and net.connect take.
const address = z
  .string()
  .trim()
  .min(1)
  .max(253)
  .regex(/^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?|[0-9A-Fa-f:.]+)$/, 'a host name or an IP address');
const user = z.string().min(1).max(64).regex(/^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$/, 'a login name (letters, digits, . _ -)');
const group = z.string().trim().min(1).max(40);

export const hostAuthSchema = z.discriminatedUnion('kind', [
  /** A private key file on the console's machine; its passphrase, if any, is a stored secret. */
  z.object({ kind: z.literal('key'), keyFile: z.string().min(1).max(4096) }),
  /** The SSH agent at SSH_AUTH_SOCK. */
  z.object({ kind: z.literal('agent') }),
  /** A password, kept as a stored secret. */
  z.object({ kind: z.literal('password') }),
]);
export type HostAuth = z.infer<typeof hostAuthSchema>;

// The editable fields without defaults: an update names only what changes.
const editableFields = z.object({
  name: z.string().trim().min(1).max(80),
  address,
  port: z.number().int().min(1).max(65535),
  user,
  auth: hostAuthSchema,
  jumpHostId: profileId.nullable(),
  groups: z.array(group).max(20),
});

/** What the user edits. `jumpHostId` names another profile to reach this one through (ProxyJump). */
export const hostProfileFieldsSchema = editableFields.extend({
  port: editableFields.shape.port.default(22),
  jumpHostId: editableFields.shape.jumpHostId.default(null),
  groups: editableFields.shape.groups.default([]),
});
export type HostProfileFields = z.output<typeof hostProfileFieldsSchema>;

export const hostProfileSchema = hostProfileFieldsSchema.extend({
  id: profileId,
  createdAt: z.number().int(),
  updatedAt: z.number().int(),
});
export type HostProfile = z.output<typeof hostProfileSchema>;

/** The profiles file. */
export const hostProfilesFileSchema = z.object({
  version: z.literal(1),
  hosts: z.array(hostProfileSchema).max(10_000),
});

/** A profile as the API returns it: never the secret, only whether one is stored. */
export interface HostProfileView extends HostProfile {
  hasSecret: boolean;
}

const secret = z.string().min(1).max(4096);

/** Request schemas for the `hosts.*` API methods (to be spread into electron/shared/api.ts requestSchemas). */
export const hostsRequestSchemas = {
  'hosts.list': z.object({}),
  /** `secret`: the key's passphrase or the password, kept in the secret store, never in the profiles file. */
  'hosts.create': hostProfileFieldsSchema.extend({ secret: secret.optional() }),
  /** Fields left out stay as they are; `secret: null` forgets the stored secret. */
  'hosts.update': z.object({ id: profileId, fields: editableFields.partial(), secret: secret.nullable().optional() }),
  'hosts.delete': z.object({ id: profileId }),
  'hosts.duplicate': z.object({ id: profileId, name: z.string().trim().min(1).max(80).optional() }),
  /** Profiles as JSON without secrets; all of them when `ids` is left out. */
  'hosts.export': z.object({ ids: z.array(profileId).optional() }),
  /** What importing would add or replace, without changing anything. */
  'hosts.importPreview': z.object({ json: z.string().max(4 * 1024 * 1024) }),
  'hosts.import': z.object({ json: z.string().max(4 * 1024 * 1024) }),
  /** The console user's OpenSSH config (~/.ssh/config) as profile candidates, skipped hosts with reasons, and what importing them all would do. */
  'hosts.sshConfigPreview': z.object({}),
  /** Imports the chosen aliases of ~/.ssh/config (read again now), by the rules of `hosts.import`. */
  'hosts.importSshConfig': z.object({ names: z.array(z.string().min(1).max(255)).min(1).max(10_000) }),
  /** Steps: TCP, host key, auth, Node version, OS/arch, free disk in the home directory. */
  'hosts.test': z.object({ id: profileId }),
  'hosts.state': z.object({}),
  /** Trust an unknown host key the user compared (the values the failed connection returned). */
  'hosts.acceptKey': z.object({ id: profileId, keyType: z.string().min(1).max(64), fingerprint: z.string().min(8).max(128), key: z.string().min(1).max(16_384) }),
  /** The deliberate replacement of a changed key: `previousFingerprint` as the warning showed it. */
  'hosts.replaceKey': z.object({
    id: profileId,
    keyType: z.string().min(1).max(64),
    fingerprint: z.string().min(8).max(128),
    key: z.string().min(1).max(16_384),
    previousFingerprint: z.string().min(8).max(128),
  }),
} as const;
