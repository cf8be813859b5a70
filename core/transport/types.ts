import type { Message, NodeId } from '../raft/types.js';

/** Moves raft messages between nodes. Best effort: raft tolerates loss, duplication and reordering. */
export interface Transport {
  readonly id: NodeId;
  /** Never blocks; messages to unknown or unreachable peers are dropped (and reported via onUnreachable). */
  send(messages: Message[]): void;
  onMessage(handler: (message: Message) => void): void;
  onUnreachable?(handler: (peer: NodeId) => void): void;
  /** Peer addresses follow membership; a transport with no addresses (in-memory) ignores them. */
  setPeer(id: NodeId, address: string): void;
  removePeer(id: NodeId): void;
  close(): Promise<void>;
}
