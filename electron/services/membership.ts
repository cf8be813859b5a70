// Membership changes as guided sequences, one server at a time (Raft dissertation §4.1):
// add as learner → wait until it has caught up → promote → confirm the configuration committed.
// Removal moves leadership away first when the target leads, and is refused when it would leave
// no quorum available. Joint consensus is the advanced path. Progress is published as events.
// An add can be cancelled until its promotion is proposed: it then undoes itself (learner removed,
// new node stopped and dropped), leaving the configuration as it was.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiError } from '../shared/api.js';
import type { ClusterState, MembershipPlan } from '../shared/api.js';
import type { MembershipTarget } from './cluster-driver.js';
import { cancelledError, type OperationRunner, type PointOfNoReturn, type StepReporter } from './operations.js';
import { majoritySize, membershipOf, successorTo } from '../shared/cluster-facts.js';

export interface MembershipOptions {
  /** A learner is caught up when its match index is within this many entries of the leader's last index. */
  catchUpThreshold?: number;
  /** How long any one step may wait. */
  stepTimeoutMs?: number;
  pollMs?: number;
}

function voterCount(voters: number) {
  return { voters, majority: voters > 0 ? majoritySize(voters) : 0 };
}

/** Whether a change is safe now, from the cluster state the console sees. */
export function planChange(state: ClusterState, change: 'add' | 'promote' | 'remove', nodeId: string | undefined, threshold: number): MembershipPlan {
  const { voters, votersOutgoing, learners } = state.members;
  // Voters up now (running and answering): only they can store the change.
  const reachableVoters = state.facts.votersUp;
  const before = voterCount(voters.length);
  const refuse = (reason: string, after = before): MembershipPlan => ({ safe: false, reason, before, after });
  if (votersOutgoing.length) return refuse('the cluster is in a joint configuration; wait until it has left it');
  if (!state.leader) return refuse('there is no leader to commit the change (no quorum right now)');
  if (reachableVoters.length < before.majority) return refuse(`only ${reachableVoters.length} of ${voters.length} voters are reachable; the change could not commit`);

  if (change === 'add') {
    if (nodeId && (state.nodes.some((n) => n.id === nodeId) || membershipOf(state.members, nodeId) !== 'none')) {
      return refuse(`${nodeId} already exists in this cluster; choose another name`);
    }
    const label = nodeId ?? 'the new node';
    return { safe: true, reason: `${label} joins as a learner: it receives the log but does not vote, so the quorum stays ${before.majority} of ${before.voters}`, before, after: before };
  }
  if (!nodeId) throw new ApiError('invalid-input', `membership.plan: nodeId is required for "${change}"`);

  if (change === 'promote') {
    const after = voterCount(voters.length + 1);
    if (!learners.includes(nodeId)) return refuse(`${nodeId} is not a learner`, after);
    const node = state.nodes.find((n) => n.id === nodeId);
    const behind = state.facts.lag[nodeId] ?? null;
    if (!node?.reachable || behind === null || behind > threshold) {
      const how = node?.reachable ? (behind !== null ? `${entries(behind)} behind` : 'not yet replicating') : 'unreachable';
      return refuse(`${nodeId} is ${how}; a voter that cannot keep up would weaken the quorum (threshold ${threshold})`, after);
    }
    const available = reachableVoters.length + 1;
    return { safe: available >= after.majority, reason: `${nodeId} becomes a voter: ${after.voters} voters, majority ${after.majority}; ${available} would be reachable`, before, after };
  }

  if (learners.includes(nodeId)) {
    return { safe: true, reason: `${nodeId} is a learner: removing it does not change the quorum`, before, after: before };
  }
  if (!voters.includes(nodeId)) return refuse(`${nodeId} is not a member of the configuration`);
  const after = voterCount(voters.length - 1);
  if (after.voters === 0) return refuse(`${nodeId} is the last voter; removing it would leave no cluster`, after);
  const available = reachableVoters.filter((id) => id !== nodeId).length;
  if (available < after.majority) {
    return refuse(`removing ${nodeId} leaves ${after.voters} voters needing ${after.majority}, but only ${available} of them are reachable: no quorum would be available`, after);
  }
  const lead = nodeId === state.leader ? '; it leads now, so leadership is transferred first' : '';
  return { safe: true, reason: `removing ${nodeId} leaves ${after.voters} voters, majority ${after.majority}, ${available} reachable${lead}`, before, after };
}

export class MembershipGuide {
  private readonly threshold: number;
  private readonly stepTimeoutMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly operations: OperationRunner,
    options: MembershipOptions = {},
  ) {
    this.threshold = options.catchUpThreshold ?? 10;
    this.stepTimeoutMs = options.stepTimeoutMs ?? 60_000;
    this.pollMs = options.pollMs ?? 200;
  }

  plan(target: MembershipTarget, change: 'add' | 'promote' | 'remove', nodeId?: string): MembershipPlan {
    return planChange(target.state(), change, nodeId, this.threshold);
  }

  /**
   * Add → catch up → promote → committed, for a new node (started by the target). Cancellable until
   * the promotion is proposed; a cancel undoes what was done (see undoAdd).
   */
  addNode(target: MembershipTarget, requested?: string): { operationId: string; nodeId: string } {
    const nodeId = target.newNodeId(requested);
    this.assertSafe(target, 'add', nodeId);
    const operationId = this.operations.launch(
      target.clusterId,
      'membership',
      `Add ${nodeId}`,
      async (step, signal, noReturn) => {
        /** The log index of the learner's configuration entry, once proposed. */
        let learnerEntry: number | undefined;
        try {
          step('starting the new node', 0);
          await target.provisionNode(nodeId, (text) => step(text, 0), signal);
          signal.throwIfAborted();
          step('adding as learner', 0.2);
          const index = (learnerEntry = await target.addLearner(nodeId));
          await this.waitFor(target, `${nodeId} to appear as learner`, (s) => s.members.learners.includes(nodeId) && committed(s, index), signal);
          await this.promoteSteps(target, nodeId, step, 0.3, { signal, noReturn });
        } catch (error) {
          // Aborted before the point of no return (after it, cancel is refused and the signal never fires).
          if (!signal.aborted) throw error;
          throw await this.undoAdd(target, nodeId, step, learnerEntry);
        }
      },
      { cancellable: true },
    );
    return { operationId, nodeId };
  }

  /**
   * A cancelled add, before its promotion was proposed: the learner (if it was added) leaves the
   * configuration, committed, then the new node (if it was defined) is stopped and dropped. The
   * cluster's state decides what is undone, not how far the sequence got; once the learner's entry
   * was proposed, that state is read after the entry committed (or was overwritten by a new leader),
   * so a configuration still on its way is not missed. Returns the error the operation ends with.
   */
  private async undoAdd(target: MembershipTarget, nodeId: string, step: StepReporter, learnerEntry: number | undefined): Promise<Error> {
    const undone: string[] = [];
    try {
      const state = learnerEntry === undefined ? await target.refresh() : await this.waitFor(target, `the entry adding ${nodeId} to commit`, (s) => committed(s, learnerEntry));
      if (membershipOf(state.members, nodeId) !== 'none') {
        step(`cancelling: removing ${nodeId} from the configuration`, null);
        const index = await target.remove(nodeId);
        await this.waitFor(target, `the configuration without ${nodeId} to commit`, (s) => membershipOf(s.members, nodeId) === 'none' && committed(s, index));
        undone.push(`the learner ${nodeId} was removed from the configuration`);
      }
      if (isDefined(target, nodeId)) {
        step(`cancelling: stopping and removing ${nodeId}`, null);
        await target.retireNode(nodeId);
        undone.push(`${nodeId} was stopped and removed`);
      }
    } catch (error) {
      const done = undone.length ? `${undone.join('; ')}; but ` : '';
      return new ApiError('unavailable', `cancelled: ${done}undoing the rest failed, ${nodeId} may remain: ${(error as Error).message}`);
    }
    return cancelledError(undone.length ? `${undone.join('; ')}; the configuration is as before` : `${nodeId} was not started; nothing changed`);
  }

  promote(target: MembershipTarget, nodeId: string): { operationId: string } {
    const state = target.state();
    if (!state.members.learners.includes(nodeId)) throw new ApiError('refused', `${nodeId} is not a learner of ${target.clusterId}`);
    return { operationId: this.launch(target, `Promote ${nodeId}`, (step) => this.promoteSteps(target, nodeId, step, 0)) };
  }

  removeNode(target: MembershipTarget, nodeId: string): { operationId: string } {
    this.assertSafe(target, 'remove', nodeId);
    const operationId = this.launch(target, `Remove ${nodeId}`, async (step) => {
      let state = await target.refresh();
      if (state.leader === nodeId) {
        const successor = successorTo(state.facts, nodeId);
        if (!successor) throw new ApiError('refused', `no other voter of ${target.clusterId} is reachable to take over leadership`);
        step(`transferring leadership to ${successor}`, 0.1);
        await target.transferLeader(successor);
        state = await this.waitFor(target, `a new leader other than ${nodeId}`, (s) => s.leader !== '' && s.leader !== nodeId);
      }
      const plan = planChange(state, 'remove', nodeId, this.threshold);
      if (!plan.safe) throw new ApiError('refused', plan.reason);
      step(`removing ${nodeId} from the configuration`, 0.4);
      const index = await target.remove(nodeId);
      step('waiting for the new configuration to commit', 0.6);
      await this.waitFor(target, 'the configuration without it to commit', (s) => membershipOf(s.members, nodeId) === 'none' && committed(s, index));
      step(`stopping ${nodeId}`, 0.9);
      await target.retireNode(nodeId);
    });
    return { operationId };
  }

  /** Advanced: one joint change C_old,new, left automatically once committed. New voters are started first. */
  joint(target: MembershipTarget, addVoters: string[], removeVoters: string[]): { operationId: string } {
    const state = target.state();
    if (addVoters.length + removeVoters.length === 0) throw new ApiError('invalid-input', 'membership.joint: name at least one voter to add or remove');
    if (!state.leader) throw new ApiError('refused', `${target.clusterId} has no leader right now (no quorum?)`);
    const notVoters = removeVoters.filter((id) => !state.members.voters.includes(id));
    if (notVoters.length) throw new ApiError('refused', `not voters: ${notVoters.join(', ')}`);
    const finalVoters = [...state.members.voters.filter((id) => !removeVoters.includes(id)), ...addVoters];
    if (finalVoters.length === 0) throw new ApiError('refused', 'the new configuration would have no voters');
    const operationId = this.launch(target, `Joint change +${addVoters.join(',') || '-'} −${removeVoters.join(',') || '-'}`, async (step) => {
      const known = new Set(target.state().nodes.map((n) => n.id));
      for (const id of addVoters.filter((id) => !known.has(id))) {
        step(`starting ${id}`, 0.1);
        await target.provisionNode(id);
      }
      step('entering the joint configuration', 0.3);
      const index = await target.joint(addVoters, removeVoters);
      step('waiting for C_new to commit and the joint configuration to be left', 0.6);
      await this.waitFor(target, 'the joint configuration to be left', (s) => s.members.votersOutgoing.length === 0 && sameSet(s.members.voters, finalVoters) && committed(s, index));
      for (const id of removeVoters) {
        step(`stopping ${id}`, 0.9);
        await target.retireNode(id);
      }
    });
    return { operationId };
  }

  /** With `cancel` (a cancellable add): the catch-up wait stops on abort, and proposing the promotion is its point of no return. */
  private async promoteSteps(
    target: MembershipTarget,
    nodeId: string,
    step: StepReporter,
    start: number,
    cancel?: { signal: AbortSignal; noReturn: PointOfNoReturn },
  ): Promise<void> {
    step('waiting for the learner to catch up', start);
    await this.waitFor(
      target,
      `${nodeId} to catch up`,
      (s) => {
        const behind = s.facts.lag[nodeId] ?? null;
        if (behind !== null) step(`catching up: ${entries(behind)} behind (threshold ${this.threshold})`, start + 0.3 * (1 - Math.min(1, behind / 1000)));
        return behind !== null && behind <= this.threshold && s.nodes.some((n) => n.id === nodeId && n.reachable);
      },
      cancel?.signal,
    );
    const plan = planChange(target.state(), 'promote', nodeId, this.threshold);
    if (!plan.safe) throw new ApiError('refused', plan.reason);
    // Checked and given up in one go: no cancel can slip in between.
    cancel?.signal.throwIfAborted();
    cancel?.noReturn(`the promotion of ${nodeId} to voter has been proposed; it finishes, and removing ${nodeId} is a separate change`);
    step(`promoting ${nodeId} to voter${cancel ? '; cancel is no longer possible' : ''}`, start + 0.4);
    const index = await target.promote(nodeId);
    step(`waiting for the new configuration to commit${cancel ? '; cancel is no longer possible' : ''}`, start + 0.5);
    await this.waitFor(target, `${nodeId} to be a committed voter`, (s) => s.members.voters.includes(nodeId) && committed(s, index));
  }

  private assertSafe(target: MembershipTarget, change: 'add' | 'remove', nodeId: string): void {
    this.operations.assertIdle(target.clusterId);
    const plan = planChange(target.state(), change, nodeId, this.threshold);
    if (!plan.safe) throw new ApiError('refused', plan.reason);
  }

  private launch(target: MembershipTarget, title: string, sequence: (step: StepReporter) => Promise<void>): string {
    return this.operations.launch(target.clusterId, 'membership', title, sequence);
  }

  /** Polls until `ready`; `signal` stops the wait at once (it rejects with the abort). */
  private async waitFor(target: MembershipTarget, what: string, ready: (state: ClusterState) => boolean, signal?: AbortSignal): Promise<ClusterState> {
    const deadline = Date.now() + this.stepTimeoutMs;
    for (;;) {
      signal?.throwIfAborted();
      const state = await target.refresh();
      if (ready(state)) return state;
      if (Date.now() > deadline) throw new ApiError('unavailable', `gave up waiting for ${what} after ${Math.round(this.stepTimeoutMs / 1000)} s`);
      await sleep(this.pollMs, undefined, signal && { signal });
    }
  }
}

/** The target has the node defined: it refuses the id as taken. */
function isDefined(target: MembershipTarget, nodeId: string): boolean {
  try {
    target.newNodeId(nodeId);
    return false;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'conflict') return true;
    throw error;
  }
}

/** The configuration entry at `index` is committed on the leader. */
function committed(state: ClusterState, index: number): boolean {
  const leader = state.nodes.find((n) => n.id === state.leader);
  return !!leader && leader.commitIndex >= index;
}

const entries = (n: number) => `${n} ${n === 1 ? 'entry' : 'entries'}`;

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
