// The SSH host profiles as the backend lists them, with each one's connection state; the last
// "Test connection" report per host; and the host-key decision the user is asked for. The backend
// decides what is trusted: this store only passes on the user's explicit answers.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { HostsOverview, HostListItem, HostStateView, ConnectionTestReport, HostKeyInfo, ImportPreview, Params } from '../../../electron/shared/api';
import { saveText } from '../api/download';
import { readableError } from '../logic/errors';
import { groupHosts, nodesOnHost } from '../logic/hosts';
import { nodeLocation, type NodeLocation } from '../logic/nodeLocation';
import { useClustersStore } from './clusters';
import { useConnectionStore } from './connection';
import { useNoticesStore } from './notices';
import { useOperationsStore } from './operations';

export type HostError = NonNullable<HostStateView['error']>;

/** A host key the user must decide on: unknown (may be accepted) or changed (may only be replaced deliberately). */
export interface KeyQuestion {
  hostId: string;
  hostName: string;
  kind: 'unknown' | 'changed';
  hostKey: HostKeyInfo;
  /** For a changed key: the fingerprints on record. */
  known: { fingerprint: string; file: string; line: number }[];
}

/** The host-key question an error carries, if any. */
export function keyQuestion(host: { id: string; name: string }, error: HostError | undefined): KeyQuestion | null {
  if (!error?.hostKey) return null;
  if (error.code === 'host-key-unknown') return { hostId: host.id, hostName: host.name, kind: 'unknown', hostKey: error.hostKey, known: [] };
  if (error.code === 'host-key-changed') return { hostId: host.id, hostName: host.name, kind: 'changed', hostKey: error.hostKey, known: error.knownFingerprints ?? [] };
  return null;
}

export const useHostsStore = defineStore('hosts', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const notices = useNoticesStore();
  const clusters = useClustersStore();

  const list = ref<HostListItem[]>([]);
  const secrets = ref<HostsOverview['secrets'] | null>(null);
  const loaded = ref(false);
  const loadError = ref<string | null>(null);
  /** The last "Test connection" report per host id (OS, arch and Node once known). */
  const reports = ref<Record<string, ConnectionTestReport>>({});
  const testing = ref<Record<string, boolean>>({});
  /** An unknown key shown in the confirmation dialog; nothing is sent until the user accepts. */
  const pendingKey = ref<KeyQuestion | null>(null);
  /** A changed key the user chose to replace (the deliberate action), shown in its own dialog. */
  const replacing = ref<KeyQuestion | null>(null);
  /** An import file read and previewed by the backend, waiting for the user's go-ahead. */
  const importing = ref<{ fileName: string; json: string; preview: ImportPreview } | null>(null);

  function byId(id: string): HostListItem | undefined {
    return list.value.find((h) => h.id === id);
  }

  function name(id: string): string {
    return byId(id)?.name ?? id;
  }

  async function refresh() {
    try {
      const overview = await connection.invoke('hosts.list', {});
      list.value = overview.hosts;
      secrets.value = overview.secrets;
      loaded.value = true;
      loadError.value = null;
    } catch (e) {
      loadError.value = readableError(e);
    }
  }

  function applyState(view: HostStateView) {
    list.value = list.value.map((h) => (h.id === view.id ? { ...h, state: view.state, error: view.error } : h));
    const question = keyQuestion({ id: view.id, name: name(view.id) }, view.error);
    if (question?.kind === 'unknown' && !pendingKey.value) pendingKey.value = question;
  }

  // Link states arrive as hosts.state events; the list itself is read on (re)connect and after each change made here.
  connection.on('hosts.state', applyState);
  watch(() => connection.generation, refresh, { immediate: true });

  const groups = computed(() => groupHosts(list.value));
  const nodesByHost = computed(() => Object.fromEntries(list.value.map((h) => [h.id, nodesOnHost(h, clusters.list)])));

  /** Where each cluster's nodes run (local and remote ones), with the raftctl command to reach each. */
  const locationsByCluster = computed<Record<string, NodeLocation[]>>(() =>
    Object.fromEntries(
      clusters.list.map((c) => [
        c.id,
        c.nodes
          .map((n) => nodeLocation(n, n.host ? list.value.find((h) => h.id === n.host || h.name.toLowerCase() === n.host!.toLowerCase()) : undefined, c.access))
          .filter((l): l is NodeLocation => l !== null),
      ]),
    ),
  );

  /** The key question on a host's connection, else in its last test (a changed key stays shown as a warning on its card). */
  const questions = computed(() =>
    Object.fromEntries(list.value.map((h) => [h.id, keyQuestion(h, h.error) ?? keyQuestion(h, reports.value[h.id]?.steps.find((s) => s.status === 'failed')?.error)])),
  );

  async function create(params: Params<'hosts.create'>): Promise<boolean> {
    const outcome = await operations.run(`Add host “${params.name}”`, () => connection.invoke('hosts.create', params), { clusterId: null });
    if (outcome.ok) await refresh();
    return outcome.ok;
  }

  async function update(params: Params<'hosts.update'>): Promise<boolean> {
    const outcome = await operations.run(`Save host “${name(params.id)}”`, () => connection.invoke('hosts.update', params), { clusterId: null });
    if (outcome.ok) await refresh();
    return outcome.ok;
  }

  /** Drops a host's last test report: once its key is trusted or replaced, the report's key question no longer holds. */
  function forgetReport(id: string) {
    const { [id]: _gone, ...rest } = reports.value;
    reports.value = rest;
  }

  async function remove(id: string) {
    const outcome = await operations.run(`Delete host “${name(id)}”`, () => connection.invoke('hosts.delete', { id }), { clusterId: null });
    if (!outcome.ok) return;
    forgetReport(id);
    await refresh();
  }

  async function duplicate(id: string) {
    const outcome = await operations.run(`Duplicate host “${name(id)}”`, () => connection.invoke('hosts.duplicate', { id }), { clusterId: null });
    if (outcome.ok) await refresh();
  }

  /** Runs the backend's step-by-step test; an unknown host key found on the way opens the confirmation. */
  async function test(id: string) {
    testing.value = { ...testing.value, [id]: true };
    try {
      const outcome = await operations.run(`Test connection to “${name(id)}”`, () => connection.invoke('hosts.test', { id }), { clusterId: null, quiet: true });
      if (!outcome.ok) {
        notices.error(`Test connection to “${name(id)}” failed`, outcome.error, null);
        return;
      }
      reports.value = { ...reports.value, [id]: outcome.value };
      const failed = outcome.value.steps.find((s) => s.status === 'failed');
      const question = keyQuestion({ id, name: name(id) }, failed?.error);
      if (question?.kind === 'unknown') pendingKey.value = question;
      await refresh();
    } finally {
      testing.value = { ...testing.value, [id]: false };
    }
  }

  /** The user compared the fingerprint and accepts it: the backend records it and connects. */
  async function acceptKey() {
    const question = pendingKey.value;
    if (!question) return;
    const { keyType, fingerprint, key } = question.hostKey;
    const outcome = await operations.run(`Trust the host key of “${question.hostName}”`, () => connection.invoke('hosts.acceptKey', { id: question.hostId, keyType, fingerprint, key }), {
      clusterId: null,
    });
    pendingKey.value = null;
    if (outcome.ok) {
      forgetReport(question.hostId);
      applyState(outcome.value);
    }
    await refresh();
  }

  function dismissKey() {
    pendingKey.value = null;
  }

  function reviewKey(id: string) {
    const question = questions.value[id];
    if (question?.kind === 'unknown') pendingKey.value = question;
  }

  function startReplace(id: string) {
    const question = questions.value[id];
    if (question?.kind === 'changed') replacing.value = question;
  }

  function cancelReplace() {
    replacing.value = null;
  }

  /** Replaces a changed key: the backend checks `previousFingerprint` is the one on record. */
  async function replaceKey() {
    const question = replacing.value;
    if (!question) return;
    const { keyType, fingerprint, key } = question.hostKey;
    const previousFingerprint = question.known[0]?.fingerprint ?? '';
    const outcome = await operations.run(
      `Replace the host key of “${question.hostName}”`,
      () => connection.invoke('hosts.replaceKey', { id: question.hostId, keyType, fingerprint, key, previousFingerprint }),
      { clusterId: null },
    );
    replacing.value = null;
    if (outcome.ok) {
      forgetReport(question.hostId);
      applyState(outcome.value);
    }
    await refresh();
  }

  /** Every profile as the backend exports it (no secrets), saved as a file. */
  async function exportAll() {
    const outcome = await operations.run('Export host profiles', () => connection.invoke('hosts.export', {}), { clusterId: null });
    if (outcome.ok) saveText('raft-console-hosts.json', outcome.value.json);
  }

  /** Reads a profiles file and asks the backend what importing it would add or replace; changes nothing yet. */
  async function previewImport(fileName: string, json: string) {
    const outcome = await operations.run(`Read ${fileName}`, () => connection.invoke('hosts.importPreview', { json }), { clusterId: null });
    if (outcome.ok) importing.value = { fileName, json, preview: outcome.value };
  }

  async function confirmImport() {
    const pending = importing.value;
    if (!pending) return;
    const outcome = await operations.run(`Import ${pending.fileName}`, () => connection.invoke('hosts.import', { json: pending.json }), { clusterId: null });
    importing.value = null;
    if (!outcome.ok) return;
    const { added, replaced } = outcome.value;
    notices.success(`Imported ${added.length} new and ${replaced.length} replaced host profile(s).`);
    await refresh();
  }

  function cancelImport() {
    importing.value = null;
  }

  return {
    importing,
    exportAll,
    previewImport,
    confirmImport,
    cancelImport,
    list,
    secrets,
    loaded,
    loadError,
    reports,
    testing,
    pendingKey,
    replacing,
    groups,
    nodesByHost,
    locationsByCluster,
    questions,
    byId,
    refresh,
    create,
    update,
    remove,
    duplicate,
    test,
    acceptKey,
    dismissKey,
    reviewKey,
    startReplace,
    cancelReplace,
    replaceKey,
  };
});
