// Term and leadership history of the current cluster, kept across pushes so nothing scrolls away.
import { defineStore } from 'pinia';
import { computed, shallowRef, watch } from 'vue';
import type { TimelineEvent } from '../../../electron/shared/api';
import { buildTimeline, mergeEvents, timeBaseOf, timelineNow } from '../logic/timeline';
import { useClusterStateStore } from './clusterState';

export const useTimelineStore = defineStore('timeline', () => {
  const clusterState = useClusterStateStore();
  const history = shallowRef<Record<string, TimelineEvent[]>>({});

  watch(
    () => clusterState.current,
    (state) => {
      if (!state) return;
      const kept = history.value[state.clusterId] ?? [];
      const merged = mergeEvents(kept, state.timeline);
      if (merged.length !== kept.length) history.value = { ...history.value, [state.clusterId]: merged };
    },
    { immediate: true },
  );

  const events = computed(() => {
    const state = clusterState.current;
    const kept = state ? history.value[state.clusterId] ?? [] : [];
    // At a past moment (or in a replay), what had happened by then.
    return state && clusterState.readOnlyReason ? kept.filter((e) => e.at <= timelineNow(state)) : kept;
  });

  // One time base: the events' own (simulated for embedded clusters), for "now" as well.
  const built = computed(() => {
    const state = clusterState.current;
    return state ? buildTimeline(events.value, timelineNow(state), timeBaseOf(state)) : buildTimeline(events.value, Date.now());
  });

  /** Newest first, for the list beside the chart. */
  const recent = computed(() => [...events.value].reverse().slice(0, 200));

  const electionCount = computed(() => built.value.elections.length);

  return { events, built, recent, electionCount };
});
