// Wraps a transport to drop traffic to and from chosen peers: partitions on demand for demos and
// tests (raftd's POST /v1/fault), with the real transport left untouched.
import type { Message, NodeId } from '../raft/types.js';
import type { Transport } from '../transport/types.js';

export class FaultFilter implements Transport {
  private dropped = new Set<NodeId>();

  constructor(private readonly inner: Transport) {}

  get id(): NodeId {
    return this.inner.id;
  }

  setDropped(peers: NodeId[]): void {
    this.dropped = new Set(peers);
  }

  droppedPeers(): NodeId[] {
    return [...this.dropped];
  }

  send(messages: Message[]): void {
    if (this.dropped.size === 0) return this.inner.send(messages);
    const kept = messages.filter((m) => !this.dropped.has(m.to));
    if (kept.length > 0) this.inner.send(kept);
  }

  onMessage(handler: (message: Message) => void): void {
    this.inner.onMessage((m) => {
      if (!this.dropped.has(m.from)) handler(m);
    });
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.inner.onUnreachable?.(handler);
  }

  setPeer(id: NodeId, address: string): void {
    this.inner.setPeer(id, address);
  }

  removePeer(id: NodeId): void {
    this.inner.removePeer(id);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
