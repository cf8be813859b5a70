// Simulated time of embedded clusters: run, pause, step, speed.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useOperationsStore } from './operations';

/** 0.02×: the slow motion the first demo's first election plays in, offered like the others. */
export const speeds = [0.02, 0.1, 0.25, 0.5, 1, 2, 5] as const;
export const stepSizes = [10, 50, 100, 500] as const;

export const useSimulationStore = defineStore('simulation', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const clusterState = useClusterStateStore();
  const stepMs = ref<number>(100);

  /** A recorded moment (time travel, a replay) stands still, and its clock cannot be driven. */
  const frozen = computed(() => Boolean(clusterState.readOnlyReason));
  const clock = computed(() => {
    const c = clusterState.capabilities?.simulatedClock ? clusterState.current?.clock : undefined;
    return c && frozen.value ? { ...c, running: false } : c;
  });
  /** The clock's controls: only for the cluster as it is now. */
  const available = computed(() => clock.value !== undefined && !frozen.value);

  async function send(action: 'run' | 'pause' | 'step', extra: { speed?: number; stepMs?: number } = {}) {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId || !available.value) return;
    await operations.run(`Clock: ${action}`, () => connection.invoke('embedded.clock', { clusterId, action, ...extra }));
  }

  const run = () => send('run', { speed: clock.value?.speed });
  const pause = () => send('pause');
  const step = () => send('step', { stepMs: stepMs.value });
  const toggle = () => (clock.value?.running ? pause() : run());

  function setSpeed(speed: number) {
    return send(clock.value?.running ? 'run' : 'pause', { speed });
  }

  async function dropMessage(messageId: number) {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId) return;
    await operations.run('Drop message', () => connection.invoke('embedded.dropMessage', { clusterId, messageId }));
  }

  return { stepMs, clock, available, run, pause, step, toggle, setSpeed, dropMessage };
});
