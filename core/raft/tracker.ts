// The leader's (and candidate's) bookkeeping: the active configuration, a Progress per member,
// and the votes of the current election.
import { compareNodeIds, confStateMembers, createConfState, isVoter } from './confchange.js';
import { Progress } from './progress.js';
import { jointCommittedIndex, jointVoteResult, type VoteResult } from './quorum.js';
import type { ConfState, NodeId, ProgressStatus } from './types.js';

export interface VoteTally {
  granted: number;
  rejected: number;
  result: VoteResult;
}

export class ProgressTracker {
  private conf: ConfState = createConfState([]);
  private readonly progressById = new Map<NodeId, Progress>();
  private readonly votes = new Map<NodeId, boolean>();
  /** Members and voters in a fixed order (so that every run sends the same messages in the same order). */
  private sortedIds: NodeId[] = [];
  private sortedVoterIds: NodeId[] = [];

  constructor(readonly maxInflight: number) {}

  get config(): ConfState {
    return this.conf;
  }

  /** Adopt a configuration: newcomers get a fresh Progress, departed members are dropped. */
  setConfig(cs: ConfState, lastIndex: number): void {
    this.conf = cs;
    const members = new Set(confStateMembers(cs));
    for (const id of [...this.progressById.keys()]) {
      if (!members.has(id)) this.progressById.delete(id);
    }
    for (const id of members) {
      let pr = this.progressById.get(id);
      if (!pr) {
        // Probing with the last entry sends a non-empty App right away (an empty one would wait for a heartbeat).
        pr = new Progress(Math.max(lastIndex, 1), this.maxInflight);
        // Count a newcomer as active so that CheckQuorum does not depose the leader before it answers.
        pr.recentActive = true;
        this.progressById.set(id, pr);
      }
      pr.isLearner = cs.learners.includes(id);
    }
    this.sortedIds = [...members].sort(compareNodeIds);
    this.sortedVoterIds = this.sortedIds.filter((id) => isVoter(cs, id));
  }

  progress(id: NodeId): Progress | undefined {
    return this.progressById.get(id);
  }

  ids(): readonly NodeId[] {
    return this.sortedIds;
  }

  voterIds(): readonly NodeId[] {
    return this.sortedVoterIds;
  }

  isVoter(id: NodeId): boolean {
    return isVoter(this.conf, id);
  }

  /** The only voter is `id` (so it alone decides everything). */
  isSingleton(id: NodeId): boolean {
    return this.conf.votersOutgoing.length === 0 && this.conf.voters.length === 1 && this.conf.voters[0] === id;
  }

  /** Replace every Progress as a new term starts: nothing is known about followers. */
  resetProgress(next: number, selfId: NodeId, selfMatch: number): void {
    for (const id of this.ids()) {
      const pr = new Progress(next, this.maxInflight, this.progressById.get(id)!.isLearner);
      if (id === selfId) pr.match = selfMatch;
      this.progressById.set(id, pr);
    }
  }

  /** The highest index acknowledged by a quorum (of both halves when joint). */
  committed(): number {
    return jointCommittedIndex(this.conf, (id) => this.progressById.get(id)?.match);
  }

  /** Whether a quorum was heard from since the last check; the leader itself always counts. */
  quorumActive(selfId: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progressById) active.set(id, id === selfId || pr.recentActive);
    return jointVoteResult(this.conf, active) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  /** Only the first answer of a voter counts. */
  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): VoteTally {
    let granted = 0;
    let rejected = 0;
    for (const id of this.voterIds()) {
      const vote = this.votes.get(id);
      if (vote === true) granted++;
      else if (vote === false) rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.conf, this.votes) };
  }

  progressStatus(): Record<NodeId, ProgressStatus> {
    const out: Record<NodeId, ProgressStatus> = {};
    for (const id of this.ids()) out[id] = this.progressById.get(id)!.status();
    return out;
  }
}
