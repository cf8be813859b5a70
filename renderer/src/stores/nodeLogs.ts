// Node log files: read with filters, follow live, download; all members merged on one time line.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { NodeLogLine } from '../../../electron/shared/api';
import { saveText } from '../api/download';
import { readableError } from '../logic/errors';
import { appendLines, downloadText, filterLines, type Level } from '../logic/nodeLogs';
import { useClusterStateStore } from './clusterState';
import { useClustersStore } from './clusters';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';
import { useOperationsStore } from './operations';

export const READ_LIMIT = 2000;
export const DOWNLOAD_LIMIT = 10_000;

export const useNodeLogsStore = defineStore('nodeLogs', () => {
  const connection = useConnectionStore();
  const navigation = useNavigationStore();
  const operations = useOperationsStore();
  const clusterState = useClusterStateStore();
  const clusters = useClustersStore();
  const nodes = ref<string[]>([]);
  const levels = ref<Level[]>([]);
  const search = ref('');
  const lines = shallowRef<NodeLogLine[]>([]);
  const loading = ref(false);
  const loadError = ref<string | null>(null);
  const live = ref(false);
  const liveClusterId = ref<string | null>(null);

  const clusterId = computed(() => navigation.clusterId);
  // Nodes removed from the cluster keep their logs: they are listed after the members.
  const retiredIds = computed(() => clusters.current?.retiredNodes ?? []);
  const nodeIds = computed(() => {
    const members = clusterState.current?.nodes.map((n) => n.id) ?? [];
    return [...members, ...retiredIds.value.filter((id) => !members.includes(id))];
  });
  const shown = computed(() => filterLines(lines.value, { nodes: nodes.value, levels: levels.value, search: search.value }));

  connection.on('nodeLogs.line', (line) => {
    if (live.value && line.clusterId === liveClusterId.value) lines.value = appendLines(lines.value, [line]);
  });

  async function load() {
    const id = clusterId.value;
    if (!id) return;
    loading.value = true;
    try {
      const result = await connection.invoke('nodeLogs.read', {
        clusterId: id,
        nodeId: nodes.value.length === 1 ? nodes.value[0] : undefined,
        search: search.value.trim() || undefined,
        levels: levels.value.length ? levels.value : undefined,
        limit: READ_LIMIT,
      });
      if (id !== clusterId.value) return;
      lines.value = appendLines([], result);
      loadError.value = null;
    } catch (e) {
      loadError.value = readableError(e);
    } finally {
      loading.value = false;
    }
  }

  async function setLive(on: boolean) {
    const id = clusterId.value;
    if (on === live.value && id === liveClusterId.value) return;
    if (live.value && liveClusterId.value) {
      const old = liveClusterId.value;
      live.value = false;
      liveClusterId.value = null;
      await operations.run('Stop following logs', () => connection.invoke('nodeLogs.unsubscribe', { clusterId: old }), { quiet: true });
    }
    if (!on || !id) return;
    const outcome = await operations.run('Follow node logs', () => connection.invoke('nodeLogs.subscribe', { clusterId: id }));
    if (outcome.ok) {
      live.value = true;
      liveClusterId.value = id;
    }
  }

  // Reading happens while the view is open; following stops when the cluster changes.
  watch(
    [() => navigation.view, clusterId],
    ([view, id], [, oldId]) => {
      if (id !== oldId) {
        lines.value = [];
        nodes.value = [];
        if (live.value) void setLive(false);
      }
      if (view === 'nodeLogs' && id) void load();
    },
    { immediate: true },
  );

  async function download() {
    const id = clusterId.value;
    if (!id) return;
    const single = nodes.value.length === 1 ? nodes.value[0] : undefined;
    const outcome = await operations.run('Download logs', () =>
      connection.invoke('nodeLogs.read', { clusterId: id, nodeId: single, limit: DOWNLOAD_LIMIT }),
    );
    if (!outcome.ok) return;
    const all = appendLines([], outcome.value, DOWNLOAD_LIMIT);
    saveText(`${id}-${single ?? 'all-nodes'}.log`, downloadText(single ? all : filterLines(all, { nodes: nodes.value, levels: [], search: '' })));
  }

  return { nodes, levels, search, lines, shown, loading, loadError, live, nodeIds, retiredIds, load, setLive, download };
});
