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

  /** Runs an operation as one item: recorded when it starts, updated (same id) with its outcome. */
  async track<T>(action: string, detail: string, clusterId: string | undefined, operation: () => Promise<T>): Promise<T> {
    const item = this.record(action, 'started', detail, clusterId);
    try {
      const result = await operation();
      this.settle(item, 'ok', detail);
      return result;
    } catch (error) {
      this.settle(item, 'failed', `${detail}: ${(error as Error).message}`);
      throw error;
    }
  }

  private settle(item: ActivityItem, outcome: ActivityItem['outcome'], detail: string): void {
    const settled: ActivityItem = { ...item, outcome, detail };
    const at = this.items.findIndex((i) => i.id === item.id);
    if (at >= 0) this.items[at] = settled;
    this.publish(settled);
  }

  list(limit: number): ActivityItem[] {
    return this.items.slice(-limit);
  }
}
