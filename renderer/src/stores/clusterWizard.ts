// The create-cluster wizard: kind → size and names → review → create.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { ClusterSummary } from '../../../electron/shared/api';
import { describeClusterSize } from '../logic/quorum';
import { useClustersStore } from './clusters';
import { useRemoteClusterStore } from './remoteCluster';

const idPattern = /^[A-Za-z0-9_.-]+$/;

export function defaultNodeNames(size: number): string[] {
  return Array.from({ length: size }, (_, i) => `n${i + 1}`);
}

export const useClusterWizardStore = defineStore('clusterWizard', () => {
  const clusters = useClustersStore();
  const remote = useRemoteClusterStore();
  const open = ref(false);
  const step = ref(0);
  const kind = ref<'embedded' | 'local' | 'remote'>('local');
  const name = ref('');
  const size = ref(3);
  const nodeNames = ref<string[]>(defaultNodeNames(3));
  const sending = ref(false);
  /** Creating: the request is under way, or a remote cluster's deploy runs (the wizard shows its progress). */
  const submitting = computed(() => sending.value || remote.deploying);

  function start() {
    step.value = 0;
    kind.value = 'local';
    name.value = `cluster-${clusters.list.length + 1}`;
    size.value = 3;
    nodeNames.value = defaultNodeNames(3);
    remote.reset();
    open.value = true;
  }

  function setSize(next: number) {
    size.value = next;
    const names = nodeNames.value.slice(0, next);
    const defaults = defaultNodeNames(next);
    for (let i = names.length; i < next; i++) names.push(defaults[i]);
    nodeNames.value = names;
  }

  /** Remote clusters: nodes per host; the size follows their sum. */
  function setHostCount(id: string, n: number) {
    remote.setCount(id, n);
    setSize(remote.size);
  }

  function setNodeName(i: number, value: string) {
    nodeNames.value = nodeNames.value.map((n, j) => (j === i ? value.trim() : n));
  }

  /** Problems with the current step's input, in words; empty when the step may proceed. */
  const problems = computed(() => {
    const out: string[] = [];
    if (step.value >= 1) {
      if (!name.value.trim()) out.push('Give the cluster a name.');
      // Once a remote deploy is under way, the cluster it is creating is listed: that is no clash.
      const deploying = kind.value === 'remote' && remote.deploy !== null;
      if (!deploying && clusters.list.some((c) => c.name === name.value.trim())) out.push(`A cluster named “${name.value.trim()}” exists already.`);
      if (kind.value === 'remote' && remote.size === 0) out.push('Choose how many nodes run on at least one host.');
      else if (size.value < 1 || size.value > 9) out.push('A cluster has 1 to 9 nodes.');
      const bad = nodeNames.value.filter((n) => !idPattern.test(n));
      if (bad.length) out.push(`Node names use letters, digits, _ . - only (check ${bad.map((b) => `“${b}”`).join(', ')}).`);
      if (new Set(nodeNames.value).size !== nodeNames.value.length) out.push('Node names must differ.');
    }
    if (step.value >= 2 && kind.value === 'remote') {
      out.push(...remote.planProblems);
      if (remote.deploy && !remote.deploying && !remote.succeeded) out.push('The deploy did not complete (see each node above): review the plan again to retry.');
    }
    return out;
  });

  /** What this size means for availability, shown while the user picks it. */
  const sizeAdvice = computed(() => {
    return describeClusterSize(size.value);
  });

  function next() {
    if (problems.value.length === 0 && step.value < 2) step.value++;
    if (step.value === 2 && kind.value === 'remote') void remote.loadPlan(name.value.trim(), nodeNames.value);
  }

  function back() {
    if (step.value > 0) step.value--;
  }

  /** Local and embedded clusters are created at once; a remote one is deployed as the plan says, its progress shown here. */
  async function submit(): Promise<ClusterSummary | undefined> {
    if (problems.value.length || submitting.value) return undefined;
    sending.value = true;
    try {
      if (kind.value === 'remote') {
        if (!remote.planLoading) await remote.create();
        return undefined;
      }
      const created = await clusters.create({ name: name.value.trim(), size: size.value, nodeNames: nodeNames.value, kind: kind.value });
      if (created) open.value = false;
      return created;
    } finally {
      sending.value = false;
    }
  }

  // A remote deploy that completed: the wizard closes (the remote store opens the new cluster).
  watch(
    () => remote.succeeded,
    (ok) => {
      if (ok && kind.value === 'remote') open.value = false;
    },
  );

  return { open, step, kind, name, size, nodeNames, submitting, problems, sizeAdvice, start, setSize, setHostCount, setNodeName, next, back, submit };
});
