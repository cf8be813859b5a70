// Mirrors the backend's view of each cluster: one `cluster.state` request, then the pushed events.
import { defineStore } from 'pinia';
import { computed, ref, shallowRef, watch } from 'vue';
import type { ClusterState, ClusterSummary } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { recordLag, type LagHistory } from '../logic/lagHistory';
import { cutOffFromLeader } from '../logic/partition';
import { useConnectionStore } from './connection';
import { useNavigationStore } from './navigation';
import { useTimeTravelStore } from './timeTravel';

export const useClusterStateStore = defineStore('clusterState', () => {
  const connection = useConnectionStore();
  const navigation = useNavigationStore();
  const timeTravel = useTimeTravelStore();
  // States are immutable snapshots: replace them whole rather than making them deeply reactive.
  const states = shallowRef<Record<string, ClusterState>>({});
  const receivedAt = shallowRef<Record<string, number>>({});
  const lag = shallowRef<Record<string, LagHistory>>({});
  const loadError = ref<string | null>(null);

  function apply(state: ClusterState) {
    const previous = states.value[state.clusterId];
    if (previous && previous.at > state.at) return;
    states.value = { ...states.value, [state.clusterId]: state };
    timeTravel.noteLive(state);
    receivedAt.value = { ...receivedAt.value, [state.clusterId]: Date.now() };
    lag.value = { ...lag.value, [state.clusterId]: recordLag(lag.value[state.clusterId] ?? {}, state) };
  }

  connection.on('cluster.state', apply);

  async function load(clusterId: string | null) {
    if (!clusterId) return;
    try {
      apply(await connection.invoke('cluster.state', { clusterId }));
      loadError.value = null;
    } catch (e) {
      loadError.value = readableError(e);
    }
  }

  function reload() {
    return load(navigation.clusterId);
  }

  watch([() => navigation.clusterId, () => connection.generation], () => load(navigation.clusterId), { immediate: true });

  /** The cluster as it is now, whatever moment is shown. */
  const live = computed<ClusterState | undefined>(() => (navigation.clusterId ? states.value[navigation.clusterId] : undefined));
  /** The one "now" every view shows: live, or the recorded moment the time slider stands on. */
  const current = computed<ClusterState | undefined>(() => timeTravel.past?.state ?? live.value);
  /** Showing the past (or a replay): nothing can be done, for this reason. */
  const readOnlyReason = computed(() => timeTravel.readOnlyReason);
  const currentReceivedAt = computed(() => (navigation.clusterId ? receivedAt.value[navigation.clusterId] : undefined));
  const currentLag = computed<LagHistory>(() => {
    const kept = navigation.clusterId ? lag.value[navigation.clusterId] ?? {} : {};
    const past = timeTravel.past;
    if (!past) return kept;
    // At a past moment: the samples up to it (those the console saw then).
    return Object.fromEntries(Object.entries(kept).map(([id, samples]) => [id, samples.filter((s) => s.at <= past.state.at)]));
  });
  const leaderNode = computed(() => current.value?.nodes.find((n) => n.id === current.value?.leader && n.role === 'leader'));
  /** Quorum, leadership and lag as the backend decided them. */
  const facts = computed(() => current.value?.facts);
  /** What the cluster's driver can do: the views offer exactly this. */
  const capabilities = computed(() => current.value?.capabilities);
  const cutOff = computed(() => cutOffFromLeader(current.value?.partitions, current.value?.leader ?? ''));
  /** A cluster's health as every view shows it: for the cluster open at a recorded moment, the health it had then; else its live health. */
  function healthOf(cluster: Pick<ClusterSummary, 'id' | 'health'>): ClusterSummary['health'] {
    return cluster.id === navigation.clusterId && timeTravel.past ? timeTravel.past.health : cluster.health;
  }

  return { states, receivedAt, loadError, live, readOnlyReason, current, currentReceivedAt, currentLag, leaderNode, facts, capabilities, cutOff, healthOf, apply, load, reload };
});
