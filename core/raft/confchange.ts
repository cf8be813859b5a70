// Membership changes as pure functions on ConfState (etcd's confchange.Changer):
// simple (one voter at a time), enter-joint (C_old,new) and leave-joint.
import type { ConfChange, ConfChangeSingle, ConfState, NodeId } from './types.js';

/** Thrown for a change that cannot be applied to a configuration; the message says why. */
export class ConfChangeError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'ConfChangeError';
  }
}

/** Numeric ids ("2" < "10") sort as numbers, others as strings, so that every node iterates alike. */
export function compareNodeIds(a: NodeId, b: NodeId): number {
  const numeric = /^\d+$/;
  if (numeric.test(a) && numeric.test(b) && a.length !== b.length) return a.length - b.length;
  return a < b ? -1 : a > b ? 1 : 0;
}

function sorted(ids: Iterable<NodeId>): NodeId[] {
  return [...ids].sort(compareNodeIds);
}

export function createConfState(voters: NodeId[], learners: NodeId[] = []): ConfState {
  return { voters: sorted(new Set(voters)), votersOutgoing: [], learners: sorted(new Set(learners)), learnersNext: [], autoLeave: false };
}

export function isJoint(cs: ConfState): boolean {
  return cs.votersOutgoing.length > 0;
}

/** Every node the configuration knows: voters of either half and learners (current and next). */
export function confStateMembers(cs: ConfState): NodeId[] {
  return sorted(new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]));
}

export function isVoter(cs: ConfState, id: NodeId): boolean {
  return cs.voters.includes(id) || cs.votersOutgoing.includes(id);
}

/** What a ConfChange does: an empty one leaves joint consensus; several changes, or a non-'auto' transition, enter it. */
export function confChangeKind(cc: ConfChange): 'simple' | 'enter-joint' | 'leave-joint' {
  if (cc.changes.length === 0) return 'leave-joint';
  if (cc.changes.length > 1 || (cc.transition ?? 'auto') !== 'auto') return 'enter-joint';
  return 'simple';
}

/** The configuration after `cc`. Throws ConfChangeError, leaving `cs` untouched, when the change is unsafe. */
export function changeConfState(cs: ConfState, cc: ConfChange): ConfState {
  switch (confChangeKind(cc)) {
    case 'leave-joint':
      return leaveJoint(cs);
    case 'enter-joint':
      return enterJoint(cs, cc.transition !== 'explicit', cc.changes);
    case 'simple':
      return simple(cs, cc.changes[0]);
  }
}

interface Draft {
  voters: Set<NodeId>;
  votersOutgoing: Set<NodeId>;
  learners: Set<NodeId>;
  learnersNext: Set<NodeId>;
}

function draftOf(cs: ConfState): Draft {
  return {
    voters: new Set(cs.voters),
    votersOutgoing: new Set(cs.votersOutgoing),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
  };
}

function confStateOf(draft: Draft, autoLeave: boolean): ConfState {
  return {
    voters: sorted(draft.voters),
    votersOutgoing: sorted(draft.votersOutgoing),
    learners: sorted(draft.learners),
    learnersNext: sorted(draft.learnersNext),
    autoLeave,
  };
}

function simple(cs: ConfState, change: ConfChangeSingle): ConfState {
  if (isJoint(cs)) {
    throw new ConfChangeError('the configuration is joint: leave it (an empty change) before a one-at-a-time change');
  }
  const draft = draftOf(cs);
  applyChanges(draft, [change]);
  return confStateOf(draft, false);
}

function enterJoint(cs: ConfState, autoLeave: boolean, changes: ConfChangeSingle[]): ConfState {
  if (isJoint(cs)) throw new ConfChangeError('the configuration is already joint: leave it before entering another');
  if (cs.voters.length === 0) throw new ConfChangeError('cannot enter a joint configuration from one without voters');
  const draft = draftOf(cs);
  draft.votersOutgoing = new Set(draft.voters);
  applyChanges(draft, changes);
  return confStateOf(draft, autoLeave);
}

function leaveJoint(cs: ConfState): ConfState {
  if (!isJoint(cs)) throw new ConfChangeError('the configuration is not joint: there is nothing to leave');
  const draft = draftOf(cs);
  for (const id of draft.learnersNext) draft.learners.add(id);
  draft.learnersNext.clear();
  draft.votersOutgoing.clear();
  return confStateOf(draft, false);
}

function applyChanges(draft: Draft, changes: ConfChangeSingle[]): void {
  const seen = new Set<NodeId>();
  for (const { type, id } of changes) {
    if (typeof id !== 'string' || id === '') throw new ConfChangeError('a change needs a non-empty node id');
    if (seen.has(id)) throw new ConfChangeError(`node ${id} appears more than once in one change`);
    seen.add(id);
    switch (type) {
      case 'addVoter':
        if (draft.voters.has(id)) throw new ConfChangeError(`node ${id} is already a voter`);
        draft.learners.delete(id);
        draft.learnersNext.delete(id);
        draft.voters.add(id);
        break;
      case 'addLearner':
        if (draft.learners.has(id) || draft.learnersNext.has(id)) {
          throw new ConfChangeError(`node ${id} is already a learner`);
        }
        draft.voters.delete(id);
        // A voter of C_old keeps voting there until the joint configuration is left.
        if (draft.votersOutgoing.has(id)) draft.learnersNext.add(id);
        else draft.learners.add(id);
        break;
      case 'remove':
        if (!draft.voters.has(id) && !draft.learners.has(id) && !draft.learnersNext.has(id)) {
          throw new ConfChangeError(`node ${id} is not a member: nothing to remove`);
        }
        draft.voters.delete(id);
        draft.learners.delete(id);
        draft.learnersNext.delete(id);
        break;
      default:
        throw new ConfChangeError(`unknown change type ${JSON.stringify(type)} for node ${id}`);
    }
  }
  if (draft.voters.size === 0) throw new ConfChangeError('the change would leave the configuration without voters');
}
