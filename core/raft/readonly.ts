// ReadIndex bookkeeping on the leader (etcd's readOnly, 'safe' option, as fixed in etcd-io/raft
// 63903dd). Every request gets the next round number; a heartbeat carries the newest round, and a
// voter's response proves it still followed us *after* every request up to that round arrived.
// Acks are kept per voter as the highest round echoed, so an old (duplicated, redelivered) ack can
// never confirm a request that arrived after it was sent, whatever contexts the requests carry.
import { jointCommittedIndex } from './quorum.js';
import type { ConfState, Message, NodeId } from './types.js';

export interface PendingRead {
  /** Commit index when the request arrived: reads are safe once it is applied. */
  index: number;
  request: Message;
}

/** Rounds travel as decimal ASCII: readable in traces, and nothing else parses as one. */
const ROUND_PATTERN = /^[1-9][0-9]{0,15}$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeRound(round: number): Uint8Array {
  return encoder.encode(String(round));
}

/** The round a heartbeat context names, or undefined when it names none. */
export function decodeRound(context: Uint8Array | undefined): number | undefined {
  if (!context || context.length === 0 || context.length > 16) return undefined;
  const text = decoder.decode(context);
  return ROUND_PATTERN.test(text) ? Number(text) : undefined;
}

export class ReadOnly {
  /** Requests not yet confirmed, oldest first; the first has round `confirmed + 1`. */
  private unconfirmed: PendingRead[] = [];
  /** How many requests were confirmed (and handed out) so far. */
  private confirmed = 0;
  /** Per voter, the highest round it acknowledged. */
  private readonly acks = new Map<NodeId, number>();

  get size(): number {
    return this.unconfirmed.length;
  }

  /** Rounds issued so far: the newest request's round. */
  private get issued(): number {
    return this.confirmed + this.unconfirmed.length;
  }

  /** Queue a request; returns its round. */
  addRequest(index: number, request: Message): number {
    this.unconfirmed.push({ index, request });
    return this.issued;
  }

  /**
   * `id` echoed `context` in a heartbeat response. Contexts naming no round, or a round not issued
   * yet (a forged or corrupted echo), are ignored: they must not confirm future requests.
   */
  recvAck(id: NodeId, context: Uint8Array | undefined): void {
    const round = decodeRound(context);
    if (round === undefined || round > this.issued) return;
    if (round > (this.acks.get(id) ?? 0)) this.acks.set(id, round);
  }

  /** The leader itself confirms every request issued so far. */
  ackAll(id: NodeId): void {
    if (this.issued > 0) this.acks.set(id, this.issued);
  }

  /** Releases every request a quorum of `config` has acknowledged a round at or past, oldest first. */
  maybeAdvance(config: Pick<ConfState, 'voters' | 'votersOutgoing'>): PendingRead[] {
    const quorumRound = Math.min(this.issued, jointCommittedIndex(config, (id) => this.acks.get(id)));
    if (quorumRound <= this.confirmed) return [];
    const released = this.unconfirmed.slice(0, quorumRound - this.confirmed);
    this.unconfirmed = this.unconfirmed.slice(quorumRound - this.confirmed);
    this.confirmed = quorumRound;
    return released;
  }

  /** The context for a heartbeat that confirms every pending request; undefined when none is pending. */
  heartbeatContext(): Uint8Array | undefined {
    return this.unconfirmed.length === 0 ? undefined : encodeRound(this.issued);
  }
}
