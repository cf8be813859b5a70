// The leader's view of one follower (etcd's tracker.Progress).
//   probe:     next is a guess; one App at a time until the follower confirms a match.
//   replicate: match is known; Apps are pipelined optimistically, bounded by the inflight window.
//   snapshot:  a snapshot is on its way; nothing else is sent until it is reported done.
import { Inflights } from './inflights.js';
import type { ProgressState, ProgressStatus } from './types.js';

export class Progress {
  /** Highest index known to be in the follower's log. */
  match = 0;
  /** Next index to send. Invariant: match < next. */
  next: number;
  state: ProgressState = 'probe';
  /** Index of the snapshot being sent, in snapshot state. */
  pendingSnapshot = 0;
  /** Heard from since the last CheckQuorum (and snapshots go only to recently active followers). */
  recentActive = false;
  /** Probe: a probe is outstanding. Replicate: the inflight window is full. Any response clears it. */
  msgAppFlowPaused = false;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public isLearner = false,
  ) {
    this.next = next;
    this.inflights = new Inflights(maxInflight);
  }

  private resetState(state: ProgressState): void {
    this.msgAppFlowPaused = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot the follower has at least the snapshot (if it applied it).
    const floor = this.state === 'snapshot' ? this.pendingSnapshot : 0;
    this.resetState('probe');
    this.next = Math.max(this.match + 1, floor + 1);
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
    this.next = snapshotIndex + 1;
  }

  /** Bookkeeping after an App with `count` entries went out. */
  sentEntries(count: number): void {
    if (this.state === 'replicate') {
      if (count > 0) {
        this.next += count;
        this.inflights.add(this.next - 1);
      }
      this.msgAppFlowPaused = this.inflights.full();
    } else if (this.state === 'probe') {
      // Every App in probe state is a probe: wait for its answer (or a heartbeat response).
      this.msgAppFlowPaused = true;
    } else {
      throw new Error('sending entries to a follower in snapshot state');
    }
  }

  /** The follower acknowledged `index`. False when that was already known. */
  maybeUpdate(index: number): boolean {
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  /**
   * The follower rejected an App whose prevIndex was `rejected`; `matchHint` is the highest index
   * that may match. False when the rejection is stale (answers an App sent before a newer decision).
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), this.match + 1);
    this.msgAppFlowPaused = false;
    return true;
  }

  isPaused(): boolean {
    return this.state === 'snapshot' || this.msgAppFlowPaused;
  }

  status(): ProgressStatus {
    return {
      match: this.match,
      next: this.next,
      state: this.state,
      isLearner: this.isLearner,
      recentActive: this.recentActive,
      inflight: this.inflights.count,
    };
  }
}
