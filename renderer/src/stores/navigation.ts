// Which view is shown and for which cluster; mirrored into the URL hash.
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { clusterViews, formatRoute, parseRoute, type ViewName } from '../logic/route';

export const useNavigationStore = defineStore('navigation', () => {
  const view = ref<ViewName>('clusters');
  const clusterId = ref<string | null>(null);
  /** True once the user (or the URL) chose a place; until then the console picks the demo cluster. */
  const chosen = ref(false);

  function go(next: ViewName, cluster?: string | null) {
    view.value = next;
    if (cluster !== undefined) clusterId.value = cluster;
    chosen.value = true;
  }

  function selectCluster(id: string | null) {
    clusterId.value = id;
  }

  /** Opens the dashboard of the first embedded cluster (the demo) unless the user already went somewhere. */
  function chooseDefault(clusters: readonly { id: string; kind: string }[]) {
    if (!clusterId.value || !clusters.some((c) => c.id === clusterId.value)) {
      const pick = clusters.find((c) => c.kind === 'embedded') ?? clusters[0];
      clusterId.value = pick?.id ?? null;
      if (!chosen.value && pick) view.value = 'dashboard';
      if (!pick && clusterViews.has(view.value)) view.value = 'clusters';
    }
  }

  function fromHash(hash: string) {
    const route = parseRoute(hash);
    if (!route) return;
    view.value = route.view;
    if (route.clusterId) clusterId.value = route.clusterId;
    chosen.value = true;
  }

  function toHash(): string {
    return formatRoute({ view: view.value, clusterId: clusterViews.has(view.value) ? clusterId.value : null });
  }

  return { view, clusterId, chosen, go, selectCluster, chooseDefault, fromHash, toHash };
});
