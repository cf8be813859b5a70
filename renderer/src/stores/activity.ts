// Every action taken on any cluster, newest first, with its time and outcome.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ActivityItem } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';

export const ACTIVITY_LIMIT = 1000;

export const useActivityStore = defineStore('activity', () => {
  const connection = useConnectionStore();
  const navigation = useNavigationStore();
  const items = ref<ActivityItem[]>([]);
  const loadError = ref<string | null>(null);
  const onlyCurrentCluster = ref(false);

  function add(item: ActivityItem) {
    // An item is pushed again when its outcome changes (started → ok): keep the latest.
    items.value = [item, ...items.value.filter((i) => i.id !== item.id)].slice(0, ACTIVITY_LIMIT);
  }

  connection.on('activity', add);

  async function load() {
    try {
      const list = await connection.invoke('activity.list', { limit: 500 });
      const known = new Map(items.value.map((i) => [i.id, i]));
      for (const item of list) if (!known.has(item.id)) known.set(item.id, item);
      items.value = [...known.values()].sort((a, b) => b.at - a.at || b.id - a.id).slice(0, ACTIVITY_LIMIT);
      loadError.value = null;
    } catch (e) {
      loadError.value = readableError(e);
    }
  }

  watch(() => connection.generation, load, { immediate: true });

  const shown = computed(() =>
    onlyCurrentCluster.value && navigation.clusterId ? items.value.filter((i) => i.clusterId === navigation.clusterId) : items.value,
  );

  const forCurrentCluster = computed(() => items.value.filter((i) => i.clusterId === navigation.clusterId));

  return { items, shown, forCurrentCluster, loadError, onlyCurrentCluster, load, add };
});
