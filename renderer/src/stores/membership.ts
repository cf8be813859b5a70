// The membership wizard: one server at a time. Each stage is derived from the live cluster state, so the
// wizard shows what actually happened (learner appeared, caught up, became a voter, config committed).
import { defineStore } from 'pinia';
import { computed, ref, watch } from 'vue';
import type { LogEntryView, MembershipPlan } from '../../../electron/shared/api';
import { readableError } from '../logic/errors';
import { plural } from '../logic/format';
import { nodeNameProblem } from '../logic/names';
import { describeMajorityChange, explainOverlap, majoritySize } from '../logic/quorum';
import { useClusterStateStore } from './clusterState';
import { useConnectionStore } from './connection';
import { useOperationsStore } from './operations';

export type Mode = 'add' | 'remove' | 'joint';
export type AddStage = 'plan' | 'catching-up' | 'promote' | 'promoting' | 'committed';
export type RemoveStage = 'choose' | 'transfer' | 'plan' | 'removing' | 'removed';
type Change = 'add' | 'promote' | 'remove';

export const useMembershipStore = defineStore('membership', () => {
  const connection = useConnectionStore();
  const operations = useOperationsStore();
  const clusterState = useClusterStateStore();

  const mode = ref<Mode>('add');
  const target = ref<string | null>(null);
  const newNodeId = ref('');
  /** Remote clusters: the host profile the new node runs on; null lets the backend pick the cluster's least used host. */
  const newNodeHost = ref<string | null>(null);
  /** With a chosen host: the opt-in to send the console's Node there when the host has none. */
  const newNodeUploadRuntime = ref(false);
  const addOp = ref<string | null>(null);
  /** The user asked to cancel the add under way (cleared when it ends or a new one starts). */
  const addCancelRequested = ref(false);
  const promoteOp = ref<string | null>(null);
  const removeOp = ref<string | null>(null);
  const jointOp = ref<string | null>(null);
  const transferTo = ref<string | null>(null);
  const transferring = ref(false);
  const submitting = ref(false);
  const jointAdd = ref<string[]>([]);
  const jointRemove = ref<string[]>([]);
  const plan = ref<MembershipPlan | null>(null);
  const planFor = ref<string | null>(null);
  const planError = ref<string | null>(null);
  const planLoading = ref(false);

  const state = computed(() => clusterState.current);
  const members = computed(() => state.value?.members ?? { voters: [], votersOutgoing: [], learners: [] });
  const joint = computed(() => members.value.votersOutgoing.length > 0);
  const leader = computed(() => state.value?.nodes.find((n) => n.id === state.value?.leader));

  /** What the backend says the node is in the configuration; a node it no longer lists is in none. */
  function membershipOf(id: string | null): 'voter' | 'learner' | 'none' {
    return state.value?.nodes.find((n) => n.id === id)?.membership ?? 'none';
  }

  const progressOf = (id: string | null) => (id ? operations.progress[id] : undefined);
  /** An operation is running once started until its progress says done; without progress events, the state decides. */
  const running = (id: string | null) => Boolean(id && progressOf(id) && !progressOf(id)?.done);
  const silent = (id: string | null) => Boolean(id && !progressOf(id));
  const failed = (id: string | null) => Boolean(id && progressOf(id)?.done && progressOf(id)?.error);

  /** The backend offers cancel for the add under way (until it proposes the promotion). */
  const addCancellable = computed(() => running(addOp.value) && Boolean(progressOf(addOp.value)?.cancellable));
  const addCancelling = computed(() => addCancelRequested.value && running(addOp.value));
  /** A cancelled add: what the backend undid, in its words. */
  const addCancelled = computed(() => {
    const p = progressOf(addOp.value);
    return p?.done && p.cancelled ? (p.error ?? 'cancelled') : null;
  });

  const targetMembership = computed(() => membershipOf(target.value));
  const targetNode = computed(() => state.value?.nodes.find((n) => n.id === target.value));

  /** How far the learner's log reaches toward the leader's, by the backend's lag. */
  const catchUp = computed(() => {
    const lead = leader.value;
    const behind = target.value ? state.value?.facts.lag[target.value] ?? null : null;
    if (!lead || behind === null) return { fraction: 0, behind: undefined as number | undefined };
    const fraction = lead.lastIndex === 0 ? 1 : Math.max(0, 1 - behind / lead.lastIndex);
    return { fraction, behind };
  });

  /** While catching up: how far behind, and the step the backend is on. */
  const catchUpText = computed(() => {
    const parts: string[] = [];
    if (catchUp.value.behind !== undefined) parts.push(`${plural(catchUp.value.behind, 'entry', 'entries')} behind the leader.`);
    const step = operation.value?.step;
    if (step) parts.push(`Now: ${step}.`);
    return parts.join(' ');
  });

  /** The name typed for the new node, checked before anything is asked of the backend. */
  const nameProblem = computed(() => nodeNameProblem(newNodeId.value.trim()));

  const addStage = computed<AddStage>(() => {
    // Undone by the backend: start again, whatever an older state still shows of the node.
    if (addCancelled.value) return 'plan';
    const m = targetMembership.value;
    if (m === 'voter') return running(addOp.value) || running(promoteOp.value) || joint.value ? 'promoting' : 'committed';
    if (m === 'learner') {
      if (running(promoteOp.value) || silent(promoteOp.value)) return 'promoting';
      const stillAdding = running(addOp.value) || (silent(addOp.value) && (catchUp.value.behind ?? 1) > 0);
      return stillAdding ? 'catching-up' : 'promote';
    }
    return running(addOp.value) || silent(addOp.value) ? 'catching-up' : 'plan';
  });

  const removeStage = computed<RemoveStage>(() => {
    if (!target.value) return 'choose';
    const m = targetMembership.value;
    if (removeOp.value && !failed(removeOp.value)) return m === 'none' && !running(removeOp.value) ? 'removed' : 'removing';
    if (m === 'none') return 'removed';
    return state.value?.leader === target.value ? 'transfer' : 'plan';
  });

  /** The change the current stage is about to make, which the plan describes. */
  const pendingChange = computed<{ change: Change; nodeId?: string } | null>(() => {
    if (mode.value === 'add') {
      if (addStage.value === 'plan') return { change: 'add', nodeId: newNodeId.value.trim() || undefined };
      if (addStage.value === 'promote' && target.value) return { change: 'promote', nodeId: target.value };
    }
    if (mode.value === 'remove' && removeStage.value === 'plan' && target.value) return { change: 'remove', nodeId: target.value };
    return null;
  });

  async function refreshPlan() {
    const clusterId = state.value?.clusterId;
    const change = pendingChange.value;
    if (!clusterId || !change) {
      plan.value = null;
      planFor.value = null;
      return;
    }
    if (change.change === 'add' && nameProblem.value) {
      plan.value = null;
      planFor.value = null;
      planError.value = null;
      return;
    }
    const key = `${clusterId}:${change.change}:${change.nodeId ?? ''}`;
    planLoading.value = true;
    try {
      const result = await connection.invoke('membership.plan', { clusterId, change: change.change, nodeId: change.nodeId });
      plan.value = result;
      planFor.value = key;
      planError.value = null;
    } catch (e) {
      plan.value = null;
      planError.value = readableError(e);
    } finally {
      planLoading.value = false;
    }
  }

  // Safety depends on who is up now, so the plan is asked again whenever that changes.
  const planInputs = computed(() =>
    JSON.stringify([pendingChange.value, members.value, clusterState.facts?.votersUp, state.value?.leader, state.value?.clusterId]),
  );
  watch(planInputs, refreshPlan, { immediate: true });

  const majorityText = computed(() => (plan.value ? describeMajorityChange(plan.value.before.voters, plan.value.after.voters) : ''));

  /** Why one server at a time is safe (or not), in numbers, for the pending change. */
  const overlap = computed(() => {
    const change = pendingChange.value;
    const voters = members.value.voters;
    if (!change) return null;
    if (change.change === 'add') {
      // The guided add goes on to promote the learner once it has caught up: show that step's arithmetic now too.
      const promoted = explainOverlap(voters, [...voters, change.nodeId ?? 'new']);
      return {
        overlaps: true,
        text:
          `A learner copies the log but does not vote: the majority stays ${majoritySize(voters.length)} of ${voters.length} while it catches up, so a new, empty server cannot stall commits. ` +
          `Once caught up it is promoted (${describeMajorityChange(voters.length, voters.length + 1)}): ${promoted.text}`,
      };
    }
    const id = change.nodeId ?? '';
    const after = change.change === 'promote' ? [...voters, id] : voters.filter((v) => v !== id);
    return explainOverlap(voters, after);
  });

  const canProceed = computed(() => Boolean(plan.value?.safe) && !planLoading.value && !submitting.value && planFor.value !== null);

  /** The configuration entry the leader has committed most recently, as proof the change took effect. */
  const committedConfig = computed<LogEntryView | undefined>(() => {
    const lead = leader.value;
    if (!lead) return undefined;
    return [...lead.logTail].reverse().find((e) => e.type === 'config' && e.index <= lead.commitIndex);
  });

  /** Members that could leave, with what they are now. */
  const removable = computed(() => [
    ...members.value.voters.map((id) => ({ id, membership: 'voter' as const })),
    ...members.value.learners.map((id) => ({ id, membership: 'learner' as const })),
  ]);

  /** Voters up other than `id`, the most up to date first (the backend's order): who could take over leadership from it. */
  const votersToTakeOver = (id: string | null) => (state.value?.facts.takeoverOrder ?? []).filter((v) => v !== id);

  const transferCandidates = computed(() => votersToTakeOver(target.value));

  function setMode(next: Mode) {
    mode.value = next;
    reset();
  }

  /**
   * The voters a finished add or remove left. Its result (who joined or left, and the voters) is shown
   * only while the configuration is still that: once it changes another way (another console, a
   * forced recovery), the wizard starts over rather than pair the old result with other voters.
   */
  const resultVoters = ref<string | null>(null);
  const finishedChange = computed(() => (mode.value === 'add' && addStage.value === 'committed') || (mode.value === 'remove' && removeStage.value === 'removed' && target.value !== null));
  watch([finishedChange, () => [...members.value.voters].sort().join(',')], ([done, voters]) => {
    if (!done) resultVoters.value = null;
    else if (resultVoters.value === null) resultVoters.value = voters;
    else if (resultVoters.value !== voters) reset();
  });

  function reset() {
    target.value = null;
    addOp.value = promoteOp.value = removeOp.value = jointOp.value = null;
    addCancelRequested.value = false;
    transferTo.value = null;
    jointAdd.value = [];
    jointRemove.value = [];
    newNodeId.value = '';
    newNodeHost.value = null;
    newNodeUploadRuntime.value = false;
  }

  /** Starts one step of a change with the buttons busy meanwhile; its result, or undefined when refused. */
  async function submit<T>(title: string, call: () => Promise<T>): Promise<T | undefined> {
    submitting.value = true;
    const outcome = await operations.run(title, call);
    submitting.value = false;
    return outcome.ok ? outcome.value : undefined;
  }

  async function addLearner() {
    const clusterId = state.value?.clusterId;
    if (!clusterId || !canProceed.value) return;
    const nodeId = newNodeId.value.trim() || undefined;
    const host = state.value?.kind === 'remote' ? (newNodeHost.value ?? undefined) : undefined;
    const uploadRuntime = newNodeUploadRuntime.value;
    const added = await submit('Add learner', () => connection.invoke('membership.addNode', { clusterId, nodeId, ...(host && { host, uploadRuntime }) }));
    if (!added) return;
    target.value = added.nodeId;
    addOp.value = added.operationId;
    addCancelRequested.value = false;
  }

  /** Asks the backend to stop the add and undo it; its progress then says what was undone. */
  async function cancelAdd() {
    const operationId = addOp.value;
    if (!operationId || !addCancellable.value || addCancelRequested.value) return;
    addCancelRequested.value = true;
    const outcome = await operations.run(`Cancel adding ${target.value ?? 'the node'}`, () => connection.invoke('operation.cancel', { operationId }));
    // Refused (the promotion was proposed meanwhile) or already over: nothing is being cancelled.
    if (!outcome.ok || !outcome.value.cancelled) addCancelRequested.value = false;
  }

  /** Continue with an existing learner (for instance one whose earlier promotion was interrupted). */
  function chooseLearner(id: string) {
    mode.value = 'add';
    reset();
    target.value = id;
  }

  async function promote() {
    const clusterId = state.value?.clusterId;
    const nodeId = target.value;
    if (!clusterId || !nodeId || !canProceed.value) return;
    const started = await submit(`Promote ${nodeId}`, () => connection.invoke('membership.promote', { clusterId, nodeId }));
    if (started) promoteOp.value = started.operationId;
  }

  function chooseRemoval(id: string) {
    mode.value = 'remove';
    reset();
    target.value = id;
    transferTo.value = votersToTakeOver(id)[0] ?? null;
  }

  async function transferLeadership() {
    const clusterId = state.value?.clusterId;
    const to = transferTo.value;
    if (!clusterId || !to) return;
    transferring.value = true;
    await operations.run(`Transfer leadership to ${to}`, () => connection.invoke('membership.transferLeader', { clusterId, to }));
    transferring.value = false;
  }

  async function remove() {
    const clusterId = state.value?.clusterId;
    const nodeId = target.value;
    if (!clusterId || !nodeId || !canProceed.value) return;
    const started = await submit(`Remove ${nodeId}`, () => connection.invoke('membership.removeNode', { clusterId, nodeId }));
    if (started) removeOp.value = started.operationId;
  }

  /** Joint consensus: C_old → C_old,new → C_new, with any number of servers at once. */
  const jointPreview = computed(() => {
    const cOld = members.value.voters;
    const cNew = [...cOld.filter((v) => !jointRemove.value.includes(v)), ...jointAdd.value.filter((v) => !cOld.includes(v))];
    return { cOld, cNew, direct: explainOverlap(cOld, cNew), majorityOld: majoritySize(cOld.length), majorityNew: majoritySize(cNew.length) };

  });

  const jointProblem = computed(() => {
    if (jointAdd.value.length === 0 && jointRemove.value.length === 0) return 'Choose servers to add or remove.';
    if (jointPreview.value.cNew.length === 0) return 'The new configuration needs at least one voter.';
    if (joint.value) return 'A joint configuration is already in progress; wait for it to finish.';
    return null;
  });

  async function startJoint() {
    const clusterId = state.value?.clusterId;
    if (!clusterId || jointProblem.value) return;
    const started = await submit('Joint consensus change', () =>
      connection.invoke('membership.joint', { clusterId, addVoters: jointAdd.value, removeVoters: jointRemove.value }),
    );
    if (started) jointOp.value = started.operationId;
  }

  const operation = computed(() => progressOf(addOp.value) ?? progressOf(promoteOp.value) ?? progressOf(removeOp.value) ?? progressOf(jointOp.value));
  const operationFailed = computed(() => failed(addOp.value) || failed(promoteOp.value) || failed(removeOp.value) || failed(jointOp.value));

  return {
    mode,
    target,
    newNodeId,
    newNodeHost,
    newNodeUploadRuntime,
    transferTo,
    transferring,
    submitting,
    jointAdd,
    jointRemove,
    plan,
    planError,
    planLoading,
    members,
    joint,
    leader,
    targetMembership,
    catchUp,
    catchUpText,
    nameProblem,
    addStage,
    removeStage,
    pendingChange,
    majorityText,
    overlap,
    canProceed,
    committedConfig,
    jointPreview,
    jointProblem,
    removable,
    transferCandidates,
    operation,
    operationFailed,
    addCancellable,
    addCancelling,
    addCancelled,
    setMode,
    reset,
    refreshPlan,
    addLearner,
    cancelAdd,
    chooseLearner,
    promote,
    chooseRemoval,
    transferLeadership,
    remove,
    startJoint,
  };
});
