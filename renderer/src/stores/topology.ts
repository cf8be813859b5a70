// Acting where one looks: the node or message picked in the topology drawing, and what can be done to it.
// Node actions are the ones its driver publishes (NodeView.actions); the rest are cluster operations.
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import { actionLabels, type NodeAction } from '../logic/nodeActions';
import { useFaultsStore } from './faults';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useOperationsStore } from './operations';
import { useSimulationStore } from './simulation';

export type Selection = { kind: 'node'; id: string } | { kind: 'message'; id: number };

export const useTopologyStore = defineStore('topology', () => {
  const clusterState = useClusterStateStore();
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const faults = useFaultsStore();
  const simulation = useSimulationStore();
  const selected = ref<Selection | null>(null);

  watch(
    () => clusterState.current?.clusterId,
    () => (selected.value = null),
  );

  const state = computed(() => clusterState.current);
  const node = computed(() => (selected.value?.kind === 'node' ? state.value?.nodes.find((n) => n.id === selected.value?.id) : undefined));
  const message = computed(() => (selected.value?.kind === 'message' ? state.value?.messages?.find((m) => m.id === selected.value?.id) : undefined));
  /** The picked message is no longer in flight: delivered, or dropped. */
  const messageGone = computed(() => selected.value?.kind === 'message' && !message.value);

  const nodeActions = computed<NodeAction[]>(() => (node.value?.actions ?? []).filter((a): a is NodeAction => a in actionLabels));
  const partitioned = computed(() => (state.value?.partitions?.length ?? 0) > 1);
  /** Cut one node off from all others: only while no partition is in place and the node is not alone. */
  const canIsolate = computed(() => Boolean(node.value && !partitioned.value && (state.value?.nodes.length ?? 0) > 1));
  /** Leadership can move to an up voter other than the leader, while there is a leader to hand it over. */
  const canLead = computed(() => {
    const s = state.value;
    return Boolean(node.value && s?.leader && node.value.id !== s.leader && s.facts.takeoverOrder.includes(node.value.id));
  });
  const canDrop = computed(() => Boolean(message.value && state.value?.capabilities.dropMessages));

  function selectNode(id: string) {
    selected.value = selected.value?.kind === 'node' && selected.value.id === id ? null : { kind: 'node', id };
  }

  function selectMessage(id: number) {
    selected.value = { kind: 'message', id };
  }

  function clear() {
    selected.value = null;
  }

  function act(action: NodeAction) {
    if (node.value) return faults.act(action, node.value.id);
  }

  async function isolate() {
    const s = state.value;
    const id = node.value?.id;
    if (!s || !id || !canIsolate.value) return;
    const others = s.nodes.map((n) => n.id).filter((n) => n !== id);
    await operations.run(`Isolate ${id}`, () => connection.invoke('fault.partition', { clusterId: s.clusterId, groups: [[id], others] }));
  }

  async function lead() {
    const s = state.value;
    const id = node.value?.id;
    if (!s || !id || !canLead.value) return;
    await operations.run(`Transfer leadership to ${id}`, () => connection.invoke('membership.transferLeader', { clusterId: s.clusterId, to: id }));
  }

  async function drop() {
    const m = message.value;
    if (!m || !canDrop.value) return;
    await simulation.dropMessage(m.id);
    selected.value = null;
  }

  /** Why the picked node's election timer cannot be fired now (null: it can), decided from what the driver says it can do. */
  const campaignBlocked = computed<string | null>(() => {
    const n = node.value;
    if (!n) return null;
    if (!state.value?.capabilities.forceElection) return 'Embedded clusters only: raftd has no request that fires a node’s election timer.';
    if (n.process !== 'running') return `${n.id} is not running.`;
    if (n.role === 'leader') return `${n.id} leads: its election timer does not run.`;
    if (n.membership !== 'voter') return `${n.id} is not a voter, so it never campaigns.`;
    return null;
  });

  async function campaign() {
    const s = state.value;
    const id = node.value?.id;
    if (!s || !id || campaignBlocked.value) return;
    await operations.run(`Force ${id}'s election timeout`, () => connection.invoke('node.campaign', { clusterId: s.clusterId, nodeId: id }));
  }

  return { selected, node, message, messageGone, nodeActions, partitioned, canIsolate, canLead, canDrop, campaignBlocked, selectNode, selectMessage, clear, act, isolate, heal: faults.heal, lead, campaign, drop };
});
