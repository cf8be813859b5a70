// What the console did and how it went, newest last; each change is pushed as an `activity` event.
import type { ActivityItem } from '../shared/api.js';

const KEPT = 1000;

export class ActivityLog {
  private items: ActivityItem[] = [];
  private nextId = 1;

  constructor(private readonly publish: (item: ActivityItem) => void) {}

  record(action: string, outcome: ActivityItem['outcome'], detail: string, clusterId?: string): ActivityItem {
    const item: ActivityItem = { id: this.nextId++, at: Date.now(), action, outcome, detail, ...(clusterId && { clusterId }) };
    this.items.push(item);
    if (this.items.length > KEPT) this.items.splice(0, this.items.length - KEPT);
    this.publish(item);
    return item;
  }

  /** Runs an operation, recording its start and its outcome (the error message when it fails). */
  async track<T>(action: string, detail: string, clusterId: string | undefined, operation: () => Promise<T>): Promise<T> {
    this.record(action, 'started', detail, clusterId);
    try {
      const result = await operation();
      this.record(action, 'ok', detail, clusterId);
      return result;
    } catch (error) {
      this.record(action, 'failed', `${detail}: ${(error as Error).message}`, clusterId);
      throw error;
    }
  }

  list(limit: number): ActivityItem[] {
    return this.items.slice(-limit);
  }
}
