// ReadIndex bookkeeping on the leader (etcd's readOnly, 'safe' option): each request remembers the
// commit index at arrival and which voters confirmed leadership since, via heartbeat responses
// that echo the request's context.
import type { Message, NodeId } from './types.js';

export interface PendingRead {
  /** Commit index when the request arrived: reads are safe once it is applied. */
  index: number;
  request: Message;
  acks: Map<NodeId, boolean>;
}

/** Contexts are compared by content. */
function keyOf(context: Uint8Array): string {
  let key = '';
  for (const byte of context) key += byte.toString(16).padStart(2, '0');
  return key;
}

export class ReadOnly {
  private readonly pending = new Map<string, PendingRead>();
  private readonly queue: string[] = [];

  /** A second request with the same context as a pending one joins it. */
  addRequest(index: number, request: Message): void {
    const key = keyOf(request.context ?? new Uint8Array());
    if (this.pending.has(key)) return;
    this.pending.set(key, { index, request, acks: new Map() });
    this.queue.push(key);
  }

  /** Record that `id` confirmed the leadership for `context`; returns who has so far. */
  recvAck(id: NodeId, context: Uint8Array): ReadonlyMap<NodeId, boolean> | undefined {
    const read = this.pending.get(keyOf(context));
    if (!read) return undefined;
    read.acks.set(id, true);
    return read.acks;
  }

  /** The request with `context` is confirmed: it and every request queued before it are released. */
  advance(context: Uint8Array): PendingRead[] {
    const at = this.queue.indexOf(keyOf(context));
    if (at < 0) return [];
    const released = this.queue.splice(0, at + 1);
    return released.map((key) => {
      const read = this.pending.get(key)!;
      this.pending.delete(key);
      return read;
    });
  }

  /** The newest pending context: a heartbeat carrying it confirms every request before it too. */
  lastPendingContext(): Uint8Array | undefined {
    const key = this.queue[this.queue.length - 1];
    return key === undefined ? undefined : this.pending.get(key)!.request.context;
  }
}
