// The add / edit host profile form: its draft, the problems the API's own schema finds in it, and
// the request it becomes. Secrets are sent once and never read back (the API only says one is stored).
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { hostsRequestSchemas } from '../../../electron/services/remote/host-profile';
import type { HostListItem, Params } from '../../../electron/shared/api';
import { useHostsStore } from './hosts';

export type AuthKind = 'key' | 'agent' | 'password';

export interface HostDraft {
  name: string;
  address: string;
  port: number;
  user: string;
  authKind: AuthKind;
  keyFile: string;
  /** The key's passphrase or the password; empty: none (create) or keep the stored one (edit). */
  secret: string;
  /** Edit only: forget the stored secret. */
  forgetSecret: boolean;
  jumpHostId: string | null;
  groups: string[];
}

function emptyDraft(): HostDraft {
  return { name: '', address: '', port: 22, user: '', authKind: 'key', keyFile: '~/.ssh/id_ed25519', secret: '', forgetSecret: false, jumpHostId: null, groups: [] };
}

function draftOf(host: HostListItem): HostDraft {
  return {
    name: host.name,
    address: host.address,
    port: host.port,
    user: host.user,
    authKind: host.auth.kind,
    keyFile: host.auth.kind === 'key' ? host.auth.keyFile : '~/.ssh/id_ed25519',
    secret: '',
    forgetSecret: false,
    jumpHostId: host.jumpHostId,
    groups: [...host.groups],
  };
}

function fieldsOf(draft: HostDraft) {
  const auth = draft.authKind === 'key' ? { kind: 'key' as const, keyFile: draft.keyFile.trim() } : { kind: draft.authKind };
  return { name: draft.name.trim(), address: draft.address.trim(), port: draft.port, user: draft.user.trim(), auth, jumpHostId: draft.jumpHostId, groups: draft.groups };
}

export const useHostFormStore = defineStore('hostForm', () => {
  const hosts = useHostsStore();
  const open = ref(false);
  /** null: a new profile; else the id of the profile being edited. */
  const editing = ref<string | null>(null);
  const draft = ref<HostDraft>(emptyDraft());
  const submitting = ref(false);
  /** Whether the profile being edited has a secret stored (the secret itself never comes back). */
  const hasSecret = ref(false);
  /** Fields the user changed: a fresh form does not greet them with every empty field's complaint. */
  const touched = ref<Set<string>>(new Set());

  function startCreate() {
    editing.value = null;
    draft.value = emptyDraft();
    hasSecret.value = false;
    touched.value = new Set();
    open.value = true;
  }

  function startEdit(id: string) {
    const host = hosts.byId(id);
    if (!host) return;
    editing.value = id;
    draft.value = draftOf(host);
    hasSecret.value = host.hasSecret;
    touched.value = new Set();
    open.value = true;
  }

  function set<K extends keyof HostDraft>(field: K, value: HostDraft[K]) {
    draft.value = { ...draft.value, [field]: value };
    touched.value = new Set([...touched.value, field === 'authKind' || field === 'keyFile' ? 'auth' : field]);
  }

  const createRequest = computed<Params<'hosts.create'>>(() => ({ ...fieldsOf(draft.value), ...(draft.value.secret ? { secret: draft.value.secret } : {}) }));

  const updateRequest = computed<Params<'hosts.update'>>(() => ({
    id: editing.value ?? '',
    fields: fieldsOf(draft.value),
    ...(draft.value.secret ? { secret: draft.value.secret } : draft.value.forgetSecret ? { secret: null } : {}),
  }));

  /** What the API would refuse, found with its own schema: one message per field, "required" for an empty one. */
  const allProblems = computed(() => {
    const result = editing.value ? hostsRequestSchemas['hosts.update'].safeParse(updateRequest.value) : hostsRequestSchemas['hosts.create'].safeParse(createRequest.value);
    if (result.success) return [];
    const byField = new Map<string, string>();
    for (const issue of result.error.issues) {
      const path = issue.path.filter((p) => p !== 'fields').map(String);
      const field = path[0] ?? 'profile';
      const value = (draft.value as unknown as Record<string, unknown>)[field];
      if (!byField.has(field)) byField.set(field, value === '' ? 'required' : issue.message);
    }
    return [...byField.entries()].map(([field, message]) => ({ field, text: `${field}: ${message}` }));
  });
  /** Shown: problems of the fields the user changed; the Save button waits for all of them. */
  const problems = computed(() => allProblems.value.filter((p) => touched.value.has(p.field)).map((p) => p.text));
  const canSave = computed(() => allProblems.value.length === 0);

  /** Profiles this one may jump through: any other (the backend refuses a loop). */
  const jumpChoices = computed(() => hosts.list.filter((h) => h.id !== editing.value).map((h) => ({ label: `${h.name} (${h.user}@${h.address})`, value: h.id })));

  async function submit(): Promise<boolean> {
    if (!canSave.value) return false;
    submitting.value = true;
    try {
      const ok = editing.value ? await hosts.update(updateRequest.value) : await hosts.create(createRequest.value);
      if (ok) open.value = false;
      return ok;
    } finally {
      submitting.value = false;
    }
  }

  return { open, editing, draft, submitting, hasSecret, problems, canSave, jumpChoices, startCreate, startEdit, set, submit };
});
