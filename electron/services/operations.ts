// Long operations (a guided membership change, a deploy) run in the background, one at a time per
// cluster: each step is published as operation.progress, and the whole is one activity entry. A
// cancellable operation gets an AbortSignal; operation.cancel aborts it and the sequence undoes its work.
import { randomUUID } from 'node:crypto';
import { ApiError } from '../shared/api.js';
import type { NodeDeployProgress, OperationProgress } from '../shared/api.js';
import type { ActivityLog } from './activity.js';

/** Reports the step under way and how far the operation is (0..1, or null when unknown); `nodes`: per-node progress, when it has some. */
export type StepReporter = (text: string, fraction: number | null, nodes?: NodeDeployProgress[]) => void;

/**
 * A cancellable sequence calls it when it reaches a step cancel could no longer undo (a promotion
 * proposed): operation.cancel is refused from then on, saying `why`, and progress stops offering it.
 */
export type PointOfNoReturn = (why: string) => void;

export interface LaunchOptions {
  /** operation.cancel may stop it: the sequence watches the signal and undoes what it did. */
  cancellable?: boolean;
}

interface Running {
  title: string;
  operationId: string;
  controller?: AbortController;
  /** Why cancel is no longer possible, once the sequence passed its point of no return. */
  noReturn?: string;
}

export class OperationRunner {
  /** The operation running on each cluster. */
  private readonly running = new Map<string, Running>();

  constructor(
    private readonly publish: (progress: OperationProgress) => void,
    private readonly activity: ActivityLog,
  ) {}

  /** Refuses (ApiError 'conflict') while an operation runs on the cluster. */
  assertIdle(clusterId: string): void {
    const running = this.running.get(clusterId);
    if (running !== undefined) throw new ApiError('conflict', `${clusterId}: "${running.title}" is still in progress; one change at a time`);
  }

  /** Starts the operation and returns its id at once; progress, the end and any error arrive as events. */
  launch(
    clusterId: string,
    action: string,
    title: string,
    sequence: (step: StepReporter, signal: AbortSignal, noReturn: PointOfNoReturn) => Promise<void>,
    options: LaunchOptions = {},
  ): string {
    this.assertIdle(clusterId);
    const operationId = randomUUID();
    const controller = new AbortController();
    const running: Running = { title, operationId, ...(options.cancellable && { controller }) };
    this.running.set(clusterId, running);
    let base: Omit<OperationProgress, 'step' | 'fraction' | 'done'> = { operationId, clusterId, title, ...(options.cancellable && { cancellable: true }) };
    const noReturn: PointOfNoReturn = (why) => {
      delete running.controller;
      running.noReturn = why;
      base = { operationId, clusterId, title };
    };
    let last = '';
    let nodes: NodeDeployProgress[] | undefined;
    const step: StepReporter = (text, fraction, reported) => {
      last = text;
      if (reported) nodes = reported;
      this.publish({ ...base, step: text, fraction, done: false, ...(nodes && { nodes }) });
    };
    void this.activity
      .track(action, title, clusterId, () => sequence(step, controller.signal, noReturn))
      .then(
        () => this.publish({ ...base, step: 'done', fraction: 1, done: true, ...(nodes && { nodes }) }),
        (error: Error) =>
          this.publish({ ...base, step: last, fraction: null, done: true, error: error.message, ...(controller.signal.aborted && { cancelled: true }), ...(nodes && { nodes }) }),
      )
      .finally(() => this.running.delete(clusterId));
    return operationId;
  }

  /** Asks a cancellable operation to stop; false when it is not running (finished already) or cannot be cancelled. */
  cancel(operationId: string): boolean {
    for (const running of this.running.values()) {
      if (running.operationId !== operationId) continue;
      if (running.noReturn) throw new ApiError('refused', `"${running.title}" can no longer be cancelled: ${running.noReturn}`);
      if (!running.controller) throw new ApiError('refused', `"${running.title}" cannot be cancelled`);
      running.controller.abort();
      return true;
    }
    return false;
  }
}

/** The error a cancelled sequence ends with. */
export function cancelledError(undone: string): ApiError {
  return new ApiError('conflict', `cancelled: ${undone}`);
}
