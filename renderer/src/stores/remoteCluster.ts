// The remote part of the create-cluster wizard: how many nodes on which host, the backend's plan for
// them (remote.clusterPlan: addresses, ports, data and log paths on each host, what each deploy sends),
// then the deploy it carries out (remote.createCluster) with progress per node, and its cancel. The
// backend places node i on hosts[i], so the hosts list sent is one entry per node, in node order.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { OperationProgress, RemoteClusterPlan } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { useConnectionStore } from './connection';
import { useHostsStore } from './hosts';
import { useNavigationStore } from './navigation';
import { useNoticesStore } from './notices';
import { useOperationsStore } from './operations';

/** One host profile id per node, in node order: the first host's nodes first. */
export function hostsPerNode(counts: Record<string, number>, order: readonly string[]): string[] {
  return order.flatMap((id) => Array.from({ length: counts[id] ?? 0 }, () => id));
}

export const useRemoteClusterStore = defineStore('remoteCluster', () => {
  const connection = useConnectionStore();
  const hosts = useHostsStore();
  const operations = useOperationsStore();
  const navigation = useNavigationStore();
  const notices = useNoticesStore();
  /** Nodes per host profile id. */
  const counts = ref<Record<string, number>>({});
  const uploadRuntime = ref(false);
  const plan = ref<RemoteClusterPlan | null>(null);
  const planLoading = ref(false);
  /** The backend refused to plan at all (bad input); a host's own refusal is in plan.problems. */
  const planError = ref<string | null>(null);
  /** The deploy under way or last run: its operation id and the cluster it creates. */
  const deploy = ref<{ operationId: string; clusterId: string } | null>(null);
  const cancelling = ref(false);
  /** Which request for a plan is the latest: an older answer arriving late is dropped. */
  let planRequest = 0;
  let lastNames: string[] = [];
  let lastName = '';

  /** A fresh start; the host list is read again (profiles may have been added from another window). */
  function reset() {
    counts.value = {};
    uploadRuntime.value = false;
    plan.value = null;
    planError.value = null;
    deploy.value = null;
    cancelling.value = false;
    void hosts.refresh();
  }

  function setCount(id: string, n: number) {
    counts.value = { ...counts.value, [id]: Math.max(0, Math.min(9, Math.trunc(n))) };
  }

  const chosen = computed(() => hosts.list.map((h) => h.id).filter((id) => (counts.value[id] ?? 0) > 0));
  const chosenHosts = computed(() => hosts.list.filter((h) => chosen.value.includes(h.id)));
  const perNode = computed(() => hostsPerNode(counts.value, chosen.value));
  const size = computed(() => perNode.value.length);

  /** Asks the backend what creating the cluster would do; changes nothing on the hosts. */
  async function loadPlan(name: string, nodeNames: string[]) {
    lastName = name;
    lastNames = nodeNames;
    const request = ++planRequest;
    planLoading.value = true;
    planError.value = null;
    try {
      const answer = await connection.invoke('remote.clusterPlan', { name, hosts: perNode.value, nodeNames, uploadRuntime: uploadRuntime.value });
      if (request === planRequest) plan.value = answer;
    } catch (e) {
      if (request === planRequest) {
        plan.value = null;
        planError.value = readableError(e);
      }
    } finally {
      if (request === planRequest) planLoading.value = false;
    }
  }

  async function setUploadRuntime(value: boolean) {
    uploadRuntime.value = value;
    await loadPlan(lastName, lastNames);
  }

  const planProblems = computed(() => [...(planError.value ? [planError.value] : []), ...(plan.value?.problems ?? [])]);

  /** Carries out the plan shown; the deploy's progress arrives as operation.progress events. */
  async function create(): Promise<{ operationId: string; clusterId: string } | null> {
    if (!plan.value || planProblems.value.length) return null;
    const outcome = await operations.run(`Create remote cluster “${plan.value.name}”`, () => connection.invoke('remote.createCluster', { planId: plan.value!.planId }), { clusterId: null });
    if (!outcome.ok) return null;
    deploy.value = outcome.value;
    cancelling.value = false;
    return outcome.value;
  }

  /** The deploy's latest progress, once the backend reported some. */
  const progress = computed<OperationProgress | null>(() => (deploy.value ? (operations.progress[deploy.value.operationId] ?? null) : null));
  const deploying = computed(() => deploy.value !== null && !progress.value?.done);
  const succeeded = computed(() => !!progress.value?.done && !progress.value.error);

  // Deployed, and every node sees the leader: open the new cluster.
  watch(succeeded, (ok) => {
    if (!ok || !deploy.value) return;
    navigation.go('dashboard', deploy.value.clusterId);
    notices.success(`Cluster “${plan.value?.name ?? deploy.value.clusterId}” created with ${progress.value?.nodes?.length ?? 0} nodes on ${new Set(progress.value?.nodes?.map((n) => n.host)).size} hosts.`);
  });

  async function cancel() {
    if (!deploy.value || !deploying.value) return;
    cancelling.value = true;
    const operationId = deploy.value.operationId;
    const outcome = await operations.run('Cancel the deploy', () => connection.invoke('operation.cancel', { operationId }), { clusterId: null });
    if (!outcome.ok) cancelling.value = false;
  }

  /** After a failed or cancelled deploy: back to the plan, asked again (ports may have been taken meanwhile). */
  async function planAgain() {
    deploy.value = null;
    cancelling.value = false;
    await loadPlan(lastName, lastNames);
  }

  return {
    counts,
    uploadRuntime,
    plan,
    planLoading,
    planError,
    planProblems,
    deploy,
    progress,
    deploying,
    succeeded,
    cancelling,
    chosen,
    chosenHosts,
    perNode,
    size,
    reset,
    setCount,
    loadPlan,
    setUploadRuntime,
    create,
    cancel,
    planAgain,
  };
});
