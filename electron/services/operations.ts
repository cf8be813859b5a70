// Long operations (a guided membership change, a deploy) run in the background, one at a time per
// cluster: each step is published as operation.progress, and the whole is one activity entry.
import { randomUUID } from 'node:crypto';
import { ApiError } from '../shared/api.js';
import type { OperationProgress } from '../shared/api.js';
import type { ActivityLog } from './activity.js';

/** Reports the step under way and how far the operation is (0..1, or null when unknown). */
export type StepReporter = (text: string, fraction: number | null) => void;

export class OperationRunner {
  /** The title of the operation running on each cluster. */
  private readonly running = new Map<string, string>();

  constructor(
    private readonly publish: (progress: OperationProgress) => void,
    private readonly activity: ActivityLog,
  ) {}

  /** Refuses (ApiError 'conflict') while an operation runs on the cluster. */
  assertIdle(clusterId: string): void {
    const running = this.running.get(clusterId);
    if (running !== undefined) throw new ApiError('conflict', `${clusterId}: "${running}" is still in progress; one change at a time`);
  }

  /** Starts the operation and returns its id at once; progress, the end and any error arrive as events. */
  launch(clusterId: string, action: string, title: string, sequence: (step: StepReporter) => Promise<void>): string {
    this.assertIdle(clusterId);
    this.running.set(clusterId, title);
    const operationId = randomUUID();
    const base = { operationId, clusterId, title };
    let last = '';
    const step: StepReporter = (text, fraction) => {
      last = text;
      this.publish({ ...base, step: text, fraction, done: false });
    };
    void this.activity
      .track(action, title, clusterId, () => sequence(step))
      .then(
        () => this.publish({ ...base, step: 'done', fraction: 1, done: true }),
        (error: Error) => this.publish({ ...base, step: last, fraction: null, done: true, error: error.message }),
      )
      .finally(() => this.running.delete(clusterId));
    return operationId;
  }
}
