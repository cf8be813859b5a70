// The create-cluster wizard: kind → size and names → review → create.
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ClusterSummary } from '../../../electron/shared/api';
import { describeClusterSize } from '../logic/quorum';
import { useClustersStore } from './clusters';

const idPattern = /^[A-Za-z0-9_.-]+$/;

export function defaultNodeNames(size: number): string[] {
  return Array.from({ length: size }, (_, i) => `n${i + 1}`);
}

export const useClusterWizardStore = defineStore('clusterWizard', () => {
  const clusters = useClustersStore();
  const open = ref(false);
  const step = ref(0);
  const kind = ref<'embedded' | 'local'>('local');
  const name = ref('');
  const size = ref(3);
  const nodeNames = ref<string[]>(defaultNodeNames(3));
  const submitting = ref(false);

  function start() {
    step.value = 0;
    kind.value = 'local';
    name.value = `cluster-${clusters.list.length + 1}`;
    size.value = 3;
    nodeNames.value = defaultNodeNames(3);
    open.value = true;
  }

  function setSize(next: number) {
    size.value = next;
    const names = nodeNames.value.slice(0, next);
    const defaults = defaultNodeNames(next);
    for (let i = names.length; i < next; i++) names.push(defaults[i]);
    nodeNames.value = names;
  }

  function setNodeName(i: number, value: string) {
    nodeNames.value = nodeNames.value.map((n, j) => (j === i ? value.trim() : n));
  }

  /** Problems with the current step's input, in words; empty when the step may proceed. */
  const problems = computed(() => {
    const out: string[] = [];
    if (step.value >= 1) {
      if (!name.value.trim()) out.push('Give the cluster a name.');
      if (clusters.list.some((c) => c.name === name.value.trim())) out.push(`A cluster named “${name.value.trim()}” exists already.`);
      if (size.value < 1 || size.value > 9) out.push('A cluster has 1 to 9 nodes.');
      const bad = nodeNames.value.filter((n) => !idPattern.test(n));
      if (bad.length) out.push(`Node names use letters, digits, _ . - only (check ${bad.map((b) => `“${b}”`).join(', ')}).`);
      if (new Set(nodeNames.value).size !== nodeNames.value.length) out.push('Node names must differ.');
    }
    return out;
  });

  /** What this size means for availability, shown while the user picks it. */
  const sizeAdvice = computed(() => {
    return describeClusterSize(size.value);
  });

  function next() {
    if (problems.value.length === 0 && step.value < 2) step.value++;
  }

  function back() {
    if (step.value > 0) step.value--;
  }

  async function submit(): Promise<ClusterSummary | undefined> {
    if (problems.value.length) return undefined;
    submitting.value = true;
    try {
      const created = await clusters.create({ name: name.value.trim(), kind: kind.value, size: size.value, nodeNames: nodeNames.value });
      if (created) open.value = false;
      return created;
    } finally {
      submitting.value = false;
    }
  }

  return { open, step, kind, name, size, nodeNames, submitting, problems, sizeAdvice, start, setSize, setNodeName, next, back, submit };
});
