// Guided scenarios: the catalog, and the run of the scenario whose cluster is open. The backend
// plays each step and checks it; this store asks and shows what comes back.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ScenarioSummary, ScenarioView } from '../../../electron/shared/api';
import { useClustersStore } from './clusters';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';
import { useOperationsStore } from './operations';

export const useScenariosStore = defineStore('scenarios', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const navigation = useNavigationStore();
  const clusters = useClustersStore();
  const list = ref<ScenarioSummary[]>([]);
  /** Each scenario cluster's run as last seen, by cluster id. */
  const runs = ref<Record<string, ScenarioView>>({});
  const playing = ref(false);
  /** The user went back to the list while a scenario's cluster stays open in the other views. */
  const browsing = ref(false);

  /** The open cluster, when it plays a scenario. */
  const clusterId = computed(() => (clusters.current?.scenario ? clusters.current.id : null));
  const current = computed(() => (clusterId.value && !browsing.value ? (runs.value[clusterId.value] ?? null) : null));

  async function load() {
    const outcome = await operations.run('Read the scenarios', () => connection.invoke('scenarios.list', {}), { clusterId: null });
    if (outcome.ok) list.value = outcome.value;
    await readRun();
  }

  async function readRun() {
    const id = clusterId.value;
    if (!id || runs.value[id]) return;
    const outcome = await operations.run('Read the scenario', () => connection.invoke('scenarios.state', { clusterId: id }), { quiet: true });
    if (outcome.ok) runs.value = { ...runs.value, [id]: outcome.value };
  }

  watch(clusterId, () => void readRun());
  // A reconnected console may have been restarted, reopening each scenario at its first step: read the runs again.
  watch(
    () => connection.generation,
    () => {
      runs.value = {};
      void readRun();
    },
  );

  async function start(scenarioId: string, seed?: number) {
    const title = list.value.find((s) => s.id === scenarioId)?.title ?? scenarioId;
    const outcome = await operations.run(`Start scenario “${title}”`, () => connection.invoke('scenarios.start', { scenarioId, ...(seed !== undefined && { seed }) }), { clusterId: null });
    if (!outcome.ok) return;
    runs.value = { ...runs.value, [outcome.value.clusterId]: outcome.value.view };
    browsing.value = false;
    navigation.selectCluster(outcome.value.clusterId);
  }

  async function next() {
    const id = clusterId.value;
    if (!id || playing.value || current.value?.finished) return;
    playing.value = true;
    try {
      const outcome = await operations.run('Next step', () => connection.invoke('scenarios.next', { clusterId: id }));
      if (outcome.ok) runs.value = { ...runs.value, [id]: outcome.value };
    } finally {
      playing.value = false;
    }
  }

  /** The same scenario and seed from the start: the same run. */
  function restart() {
    const run = current.value;
    if (run) return start(run.scenarioId, run.seed);
  }

  function showList() {
    browsing.value = true;
  }

  return { list, runs, playing, browsing, clusterId, current, load, start, next, restart, showList };
});
