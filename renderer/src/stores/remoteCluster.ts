// The remote part of the create-cluster wizard: how many nodes on which host, and what the backend
// says deploying to each host would send (remote.plan). The backend places node i on hosts[i % n],
// so the hosts list sent is one entry per node, in node order.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { RemoteDeployPlan } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { useConnectionStore } from './connection';
import { useHostsStore } from './hosts';

export interface HostPlan {
  loading: boolean;
  plan?: RemoteDeployPlan;
  /** The backend's refusal, as it worded it (e.g. no Node and the runtime not opted in). */
  error?: string;
}

/** One host profile id per node, in node order: the first host's nodes first. */
export function hostsPerNode(counts: Record<string, number>, order: readonly string[]): string[] {
  return order.flatMap((id) => Array.from({ length: counts[id] ?? 0 }, () => id));
}

export const useRemoteClusterStore = defineStore('remoteCluster', () => {
  const connection = useConnectionStore();
  const hosts = useHostsStore();
  /** Nodes per host profile id. */
  const counts = ref<Record<string, number>>({});
  const uploadRuntime = ref(false);
  const plans = ref<Record<string, HostPlan>>({});

  /** A fresh start; the host list is read again (profiles may have been added from another window). */
  function reset() {
    counts.value = {};
    uploadRuntime.value = false;
    plans.value = {};
    void hosts.refresh();
  }

  function setCount(id: string, n: number) {
    counts.value = { ...counts.value, [id]: Math.max(0, Math.min(9, Math.trunc(n))) };
  }

  const chosen = computed(() => hosts.list.map((h) => h.id).filter((id) => (counts.value[id] ?? 0) > 0));
  const chosenHosts = computed(() => hosts.list.filter((h) => chosen.value.includes(h.id)));
  const perNode = computed(() => hostsPerNode(counts.value, chosen.value));
  const size = computed(() => perNode.value.length);

  /** Asks the backend, host by host, what a deploy would send; changes nothing there. */
  async function loadPlans() {
    const ids = chosen.value;
    plans.value = Object.fromEntries(ids.map((id) => [id, { loading: true }]));
    await Promise.all(
      ids.map(async (id) => {
        try {
          const plan = await connection.invoke('remote.plan', { host: id, uploadRuntime: uploadRuntime.value });
          plans.value = { ...plans.value, [id]: { loading: false, plan } };
        } catch (e) {
          plans.value = { ...plans.value, [id]: { loading: false, error: readableError(e) } };
        }
      }),
    );
  }

  async function setUploadRuntime(value: boolean) {
    uploadRuntime.value = value;
    await loadPlans();
  }

  const totalUploadBytes = computed(() => Object.values(plans.value).reduce((sum, p) => sum + (p.plan?.uploadBytes ?? 0), 0));
  const planProblems = computed(() =>
    Object.entries(plans.value)
      .filter(([, p]) => p.error)
      .map(([id, p]) => `${hosts.byId(id)?.name ?? id}: ${p.error}`),
  );
  const plansLoading = computed(() => Object.values(plans.value).some((p) => p.loading));

  return { counts, uploadRuntime, plans, chosen, chosenHosts, perNode, size, totalUploadBytes, planProblems, plansLoading, reset, setCount, loadPlans, setUploadRuntime };
});
