// The host import dialog: which source it shows (a Raft Console hosts file, or the console user's
// ~/.ssh/config) and, for the latter, the hosts the backend found and which of them the user chose.
// The backend decides what each alias becomes, what is skipped and why; this store only keeps the choice.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { SshConfigCandidate, SshConfigPreview } from '../../../electron/shared/api';
import { useConnectionStore } from './connection';
import { useHostsStore } from './hosts';
import { useNoticesStore } from './notices';
import { useOperationsStore } from './operations';

export type ImportSource = 'file' | 'ssh-config';

/** What importing one candidate does to the profiles, as the backend's preview says. */
export type CandidateEffect = 'adds' | 'replaces' | 'unchanged';

export interface CandidateRow extends SshConfigCandidate {
  effect: CandidateEffect;
  chosen: boolean;
}

export const useHostImportStore = defineStore('hostImport', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const notices = useNoticesStore();
  const hosts = useHostsStore();

  const open = ref(false);
  const source = ref<ImportSource>('file');
  /** ~/.ssh/config as the backend read it. */
  const sshConfig = ref<SshConfigPreview | null>(null);
  const loading = ref(false);
  /** Why reading or importing failed, shown in the dialog (nothing chosen is lost). */
  const error = ref<string | null>(null);
  const chosen = ref<Record<string, boolean>>({});
  const submitting = ref(false);

  /** Shown while opened from the toolbar, or while a file's preview waits for the go-ahead. */
  const visible = computed(() => open.value || hosts.importing !== null);

  const rows = computed<CandidateRow[]>(() => {
    const preview = sshConfig.value?.preview;
    const listed = (names: string[] | undefined, name: string) => names?.some((n) => n.toLowerCase() === name.toLowerCase()) === true;
    return (sshConfig.value?.candidates ?? []).map((c) => ({
      ...c,
      effect: listed(preview?.replaced, c.name) ? 'replaces' : listed(preview?.unchanged, c.name) ? 'unchanged' : 'adds',
      chosen: chosen.value[c.name] === true,
    }));
  });
  const chosenNames = computed(() => rows.value.filter((r) => r.chosen).map((r) => r.name));

  const canConfirm = computed(() => {
    if (submitting.value) return false;
    if (source.value === 'ssh-config') return chosenNames.value.length > 0;
    const pending = hosts.importing;
    return pending !== null && pending.preview.added.length + pending.preview.replaced.length > 0;
  });

  function start(from: ImportSource = 'file') {
    open.value = true;
    void show(from);
  }

  async function show(from: ImportSource) {
    source.value = from;
    if (from === 'ssh-config' && !sshConfig.value && !loading.value) await load();
  }

  /** Reads ~/.ssh/config again; every host that can be imported starts chosen. */
  async function load() {
    loading.value = true;
    error.value = null;
    try {
      const outcome = await operations.run('Read ~/.ssh/config', () => connection.invoke('hosts.sshConfigPreview', {}), { clusterId: null, quiet: true });
      if (!outcome.ok) {
        error.value = outcome.error;
        return;
      }
      sshConfig.value = outcome.value;
      chosen.value = Object.fromEntries(outcome.value.candidates.map((c) => [c.name, true]));
    } finally {
      loading.value = false;
    }
  }

  function choose(name: string, on: boolean) {
    chosen.value = { ...chosen.value, [name]: on };
  }

  function chooseAll(on: boolean) {
    chosen.value = Object.fromEntries(rows.value.map((r) => [r.name, on]));
  }

  /** Imports from the shown source; on success the dialog closes and the Hosts view reads the profiles again. */
  async function confirm() {
    if (!canConfirm.value) return;
    if (source.value === 'file') {
      await hosts.confirmImport();
      close();
      return;
    }
    submitting.value = true;
    error.value = null;
    try {
      const names = chosenNames.value;
      const outcome = await operations.run('Import hosts from ~/.ssh/config', () => connection.invoke('hosts.importSshConfig', { names }), { clusterId: null, quiet: true });
      if (!outcome.ok) {
        error.value = outcome.error;
        return;
      }
      const { added, replaced } = outcome.value;
      notices.success(`Imported ${added.length} new and ${replaced.length} replaced host profile(s) from ~/.ssh/config.`);
      close();
      await hosts.refresh();
    } finally {
      submitting.value = false;
    }
  }

  function close() {
    open.value = false;
    source.value = 'file';
    sshConfig.value = null;
    chosen.value = {};
    error.value = null;
    hosts.cancelImport();
  }

  return { open, source, sshConfig, loading, error, chosen, submitting, visible, rows, chosenNames, canConfirm, start, show, load, choose, chooseAll, confirm, close };
});
