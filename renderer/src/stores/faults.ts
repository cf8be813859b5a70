// Fault injection on the current cluster: node process actions, network partitions, and the guarded
// last resort when a majority is gone for good.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { NodeView } from '../../../electron/shared/api';
import { nodeHealth } from '../logic/health';
import { actionLabels, type NodeAction } from '../logic/nodeActions';
import { majoritySide, partitionGroups, type Assignment } from '../logic/partition';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useNoticesStore } from './notices';
import { useOperationsStore } from './operations';

export type { NodeAction };
const verbs = actionLabels;

/** The process actions the backend offers for the node now; forced recovery has its own guarded flow. */
export function tableActions(node: Pick<NodeView, 'actions'>): NodeAction[] {
  return node.actions.filter((a): a is NodeAction => a in actionLabels);
}

export const useFaultsStore = defineStore('faults', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const notices = useNoticesStore();
  const clusterState = useClusterStateStore();
  const assignment = ref<Assignment>({});
  const sideCount = ref(2);
  const recoveryConfirm = ref('');

  const nodes = computed(() => clusterState.current?.nodes ?? []);
  const nodeIds = computed(() => nodes.value.map((n) => n.id));
  const rows = computed(() =>
    nodes.value.map((node) => ({
      node,
      actions: tableActions(node),
      health: nodeHealth(node, clusterState.current?.facts.lag[node.id] ?? null, clusterState.cutOff.has(node.id)),
    })),
  );
  const partitioned = computed(() => (clusterState.current?.partitions?.length ?? 0) > 1);

  // A new cluster starts with everyone on side A.
  watch(
    () => clusterState.current?.clusterId,
    () => {
      assignment.value = {};
      recoveryConfirm.value = '';
    },
  );

  async function act(action: NodeAction, nodeId: string) {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId) return;
    const outcome = await operations.run(`${verbs[action]} ${nodeId}`, () => connection.invoke(`node.${action}`, { clusterId, nodeId }));
    if (outcome.ok) notices.success(`${verbs[action]} ${nodeId}: done.`, clusterId);
  }

  async function killLeader() {
    const leader = clusterState.current?.leader;
    if (leader) await act('kill', leader);
  }

  function setSide(nodeId: string, side: number) {
    assignment.value = { ...assignment.value, [nodeId]: side };
  }

  function setSideCount(n: number) {
    sideCount.value = Math.max(2, Math.min(3, n));
    assignment.value = Object.fromEntries(Object.entries(assignment.value).map(([id, s]) => [id, Math.min(s, sideCount.value - 1)]));
  }

  const plan = computed(() => partitionGroups(assignment.value, nodeIds.value));

  /** Which side keeps a majority of voters and can therefore still commit. */
  const survivingSide = computed(() => {
    if (!plan.value.ok) return undefined;
    return majoritySide(plan.value.groups, clusterState.current?.members.voters ?? []);
  });

  async function applyPartition() {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId || !plan.value.ok) return;
    const groups = plan.value.groups;
    await operations.run('Partition network', () => connection.invoke('fault.partition', { clusterId, groups }));
  }

  async function heal() {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId) return;
    const outcome = await operations.run('Heal network', () => connection.invoke('fault.heal', { clusterId }));
    if (outcome.ok) assignment.value = {};
  }

  const quorum = computed(() => clusterState.facts);

  /** Nodes a forced recovery could start from: alive voters, most complete log first. */
  const recoveryCandidates = computed(() => {
    if (!quorum.value?.quorumLostForGood) return [];
    const alive = new Set([...quorum.value.votersUp, ...quorum.value.votersSuspended]);
    return nodes.value.filter((n) => alive.has(n.id) && n.actions.includes('forceNewCluster')).sort((a, b) => b.lastIndex - a.lastIndex || b.commitIndex - a.commitIndex);
  });

  /** The user types the node's id to confirm: a forced recovery cannot be undone. */
  function recoveryConfirmed(nodeId: string): boolean {
    return recoveryConfirm.value.trim() === nodeId;
  }

  async function recoverFrom(nodeId: string) {
    const clusterId = clusterState.current?.clusterId;
    if (!clusterId || !recoveryConfirmed(nodeId)) return;
    const outcome = await operations.run(`Recover from ${nodeId}`, () => connection.invoke('node.forceNewCluster', { clusterId, nodeId }));
    if (outcome.ok) {
      recoveryConfirm.value = '';
      notices.success(`${nodeId} now runs as a new one-node cluster. Add servers back with the membership wizard.`, clusterId);
    }
  }

  return {
    nodes,
    nodeIds,
    rows,
    assignment,
    sideCount,
    partitioned,
    plan,
    survivingSide,
    quorum,
    recoveryCandidates,
    recoveryConfirm,
    act,
    killLeader,
    setSide,
    setSideCount,
    applyPartition,
    heal,
    recoveryConfirmed,
    recoverFrom,
  };
});
