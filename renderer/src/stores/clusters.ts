// The clusters the console knows, with their health; create, start, stop, delete.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ClusterSummary, NodeKind, Params } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';
import { useNoticesStore } from './notices';
import { useOperationsStore } from './operations';

export const useClustersStore = defineStore('clusters', () => {
  const connection = useConnectionStore();
  const navigation = useNavigationStore();
  const operations = useOperationsStore();
  const notices = useNoticesStore();
  const list = ref<ClusterSummary[]>([]);
  const loaded = ref(false);
  const loadError = ref<string | null>(null);

  function replace(next: ClusterSummary[]) {
    list.value = next;
    loaded.value = true;
    navigation.chooseDefault(next);
  }

  connection.on('clusters.changed', replace);

  async function refresh() {
    try {
      replace(await connection.invoke('clusters.list', {}));
      loadError.value = null;
    } catch (e) {
      loadError.value = readableError(e);
    }
  }

  watch(() => connection.generation, refresh, { immediate: true });

  const byKind = computed(() => {
    const groups: Record<NodeKind, ClusterSummary[]> = { embedded: [], local: [], remote: [] };
    for (const c of list.value) groups[c.kind].push(c);
    return groups;
  });

  const current = computed(() => list.value.find((c) => c.id === navigation.clusterId));

  async function create(params: Params<'clusters.create'>): Promise<ClusterSummary | undefined> {
    const outcome = await operations.run(`Create cluster “${params.name}”`, () => connection.invoke('clusters.create', params), { clusterId: null });
    if (!outcome.ok) return undefined;
    const created = outcome.value;
    if (!list.value.some((c) => c.id === created.id)) list.value = [...list.value, created];
    navigation.go('dashboard', created.id);
    // A new cluster is meant to run: start its nodes unless the backend already did.
    if (created.health === 'stopped') await start(created.id);
    notices.success(`Cluster “${created.name}” created with ${created.nodes.length} nodes.`);
    return created;
  }

  async function remove(id: string) {
    const name = list.value.find((c) => c.id === id)?.name ?? id;
    const outcome = await operations.run(`Delete cluster “${name}”`, () => connection.invoke('clusters.delete', { clusterId: id }), { clusterId: null });
    if (!outcome.ok) return;
    replace(list.value.filter((c) => c.id !== id));
  }

  async function start(id: string) {
    const name = list.value.find((c) => c.id === id)?.name ?? id;
    await operations.run(`Start cluster “${name}”`, () => connection.invoke('clusters.start', { clusterId: id }));
  }

  async function stop(id: string) {
    const name = list.value.find((c) => c.id === id)?.name ?? id;
    await operations.run(`Stop cluster “${name}”`, () => connection.invoke('clusters.stop', { clusterId: id }));
  }

  function open(id: string) {
    navigation.go('dashboard', id);
  }

  return { list, loaded, loadError, byKind, current, refresh, create, remove, start, stop, open };
});
