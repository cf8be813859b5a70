// A simulated network for clusters living in one process (the console's live demo, tests).
// Everything happens on the injected clock and random source, so a seed replays a run exactly.
// Messages travel encoded, as over TCP: nodes never share objects, and the codec is exercised.
import type { Cancel, Clock } from '../clock.js';
import { EntryType, MessageType } from '../raft/types.js';
import type { Message, NodeId } from '../raft/types.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { Transport } from './types.js';

export interface Latency {
  /** Milliseconds, inclusive; each message draws a whole number in [min, max]. */
  min: number;
  max: number;
}

export interface MemoryNetworkOptions {
  clock: Clock;
  /** Uniform in [0, 1), seeded for reproducible runs. Drives latency and random drops. */
  random: () => number;
  latency?: Latency;
  /** Probability that a message is lost. */
  dropRate?: number;
}

export interface InFlightMessage {
  id: number;
  from: NodeId;
  to: NodeId;
  type: MessageType;
  sentAt: number;
  deliverAt: number;
  summary: string;
  bytes: number;
  fields: MessageFields;
}

/** A message's raft fields as sent, for people looking at it (the console's message panel). */
export interface MessageFields {
  term: number;
  logTerm: number;
  index: number;
  commit: number;
  reject: boolean;
  rejectHint: number;
  /** How many entries it carries; the first MAX_LISTED_ENTRIES of them below. */
  entryCount: number;
  entries: { index: number; term: number; type: 'normal' | 'config'; bytes: number }[];
  snapshot?: { index: number; term: number; bytes: number };
}

const MAX_LISTED_ENTRIES = 10;

export function messageFields(m: Message): MessageFields {
  return {
    term: m.term,
    logTerm: m.logTerm,
    index: m.index,
    commit: m.commit,
    reject: m.reject,
    rejectHint: m.rejectHint,
    entryCount: m.entries.length,
    entries: m.entries.slice(0, MAX_LISTED_ENTRIES).map((e) => ({ index: e.index, term: e.term, type: e.type === EntryType.ConfChange ? 'config' : 'normal', bytes: e.data.length })),
    ...(m.snapshot && { snapshot: { index: m.snapshot.metadata.index, term: m.snapshot.metadata.term, bytes: m.snapshot.data.length } }),
  };
}

/**
 * partition/isolated/link: the route is cut; rate: random loss; down: the receiver is not connected
 * (or crashed while the message travelled); manual: dropMessage(); malformed: failed to decode.
 */
export type DropReason = 'partition' | 'isolated' | 'link' | 'rate' | 'down' | 'manual' | 'malformed';

/** A message dropped when sent emits only 'drop'; one lost on the way emits 'send' then 'drop'. */
export interface NetworkEvent extends InFlightMessage {
  kind: 'send' | 'deliver' | 'drop';
  at: number;
  reason?: DropReason;
}

export const DEFAULT_LATENCY: Latency = { min: 2, max: 10 };

interface Pending {
  info: InFlightMessage;
  bytes: Uint8Array;
}

export class MemoryNetwork {
  private readonly clock: Clock;
  private readonly random: () => number;
  private latency: Latency;
  private dropRate: number;
  private readonly endpoints = new Map<NodeId, MemoryTransport>();
  /** In delivery order: by deliverAt, then by id (send order). */
  private pending: Pending[] = [];
  private nextId = 1;
  private groups: NodeId[][] = [];
  private groupOf: Map<NodeId, number> | null = null;
  private readonly isolated = new Set<NodeId>();
  private readonly cutLinks = new Map<NodeId, Set<NodeId>>();
  private readonly listeners = new Set<(event: NetworkEvent) => void>();
  private cancelTimer: Cancel | undefined;
  private timerDue: number | undefined;
  private delivering = false;

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.latency = checkLatency(options.latency ?? DEFAULT_LATENCY);
    this.dropRate = checkDropRate(options.dropRate ?? 0);
  }

  /** A fresh transport for `id`; connecting again after close() models a restart. */
  connect(id: NodeId): Transport {
    if (this.endpoints.has(id)) throw new Error(`node ${id} is already connected; close its transport first`);
    const transport = new MemoryTransport(id, this.clock, {
      transmit: (from, messages) => this.transmit(from, messages),
      disconnect: (from) => this.disconnect(from),
    });
    this.endpoints.set(id, transport);
    return transport;
  }

  /** Only nodes in the same group can talk; nodes in no group are cut off from everyone. */
  partition(groups: NodeId[][]): void {
    const groupOf = new Map<NodeId, number>();
    groups.forEach((group, g) => {
      for (const id of group) {
        if (groupOf.has(id)) throw new Error(`node ${id} is listed in more than one partition group`);
        groupOf.set(id, g);
      }
    });
    this.groups = groups.map((group) => [...group]);
    this.groupOf = groupOf;
  }

  /** Restores every route: ends the partition, isolations and per-link drops (not the drop rate). */
  heal(): void {
    this.groups = [];
    this.groupOf = null;
    this.isolated.clear();
    this.cutLinks.clear();
  }

  /** Routes cut one by one: directed links (drop) and isolated nodes (cut off from everyone). */
  cuts(): { links: Array<{ from: NodeId; to: NodeId }>; isolated: NodeId[] } {
    const links = [...this.cutLinks].flatMap(([from, targets]) => [...targets].map((to) => ({ from, to })));
    return { links, isolated: [...this.isolated] };
  }

  /** The current partition groups, empty when there is none. */
  partitions(): NodeId[][] {
    return this.groups.map((group) => [...group]);
  }

  /** Cuts (on) or restores (off) the directed link from → to. */
  drop(from: NodeId, to: NodeId, on: boolean): void {
    const targets = this.cutLinks.get(from) ?? new Set<NodeId>();
    if (on) targets.add(to);
    else targets.delete(to);
    if (targets.size > 0) this.cutLinks.set(from, targets);
    else this.cutLinks.delete(from);
  }

  isolate(id: NodeId): void {
    this.isolated.add(id);
  }

  setDropRate(p: number): void {
    this.dropRate = checkDropRate(p);
  }

  setLatency(latency: Latency): void {
    this.latency = checkLatency(latency);
  }

  /** Loses one message in flight; false when it is no longer travelling. */
  dropMessage(id: number): boolean {
    const at = this.pending.findIndex((p) => p.info.id === id);
    if (at < 0) return false;
    const [lost] = this.pending.splice(at, 1);
    this.emit('drop', lost.info, 'manual');
    this.armTimer();
    return true;
  }

  /** Every message on its way, in delivery order. */
  inFlight(): InFlightMessage[] {
    return this.pending.map((p) => ({ ...p.info }));
  }

  onEvent(listener: (event: NetworkEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private transmit(from: MemoryTransport, messages: Message[]): void {
    const now = this.clock.now();
    for (const message of messages) {
      const bytes = encodeMessage(message);
      const info: InFlightMessage = {
        id: this.nextId++,
        from: from.id,
        to: message.to,
        type: message.type,
        sentAt: now,
        deliverAt: now,
        summary: summarizeMessage(message),
        bytes: bytes.length,
        fields: messageFields(message),
      };
      if (!this.endpoints.has(info.to)) {
        this.emit('drop', info, 'down');
        from.reportUnreachable(info.to);
        continue;
      }
      const cut = this.cutReason(info.from, info.to);
      if (cut) {
        this.emit('drop', info, cut);
        continue;
      }
      if (this.dropRate > 0 && this.random() < this.dropRate) {
        this.emit('drop', info, 'rate');
        continue;
      }
      const { min, max } = this.latency;
      info.deliverAt = now + min + Math.floor(this.random() * (max - min + 1));
      this.enqueue({ info, bytes });
      this.emit('send', info);
    }
    this.armTimer();
  }

  /** A crashed node loses what it was sending and what was on its way to it. */
  private disconnect(transport: MemoryTransport): void {
    if (this.endpoints.get(transport.id) !== transport) return;
    this.endpoints.delete(transport.id);
    const lost = this.pending.filter((p) => p.info.from === transport.id || p.info.to === transport.id);
    if (lost.length === 0) return;
    this.pending = this.pending.filter((p) => p.info.from !== transport.id && p.info.to !== transport.id);
    for (const p of lost) this.emit('drop', p.info, 'down');
    this.armTimer();
  }

  private cutReason(from: NodeId, to: NodeId): DropReason | undefined {
    if (this.isolated.has(from) || this.isolated.has(to)) return 'isolated';
    if (this.groupOf) {
      const group = this.groupOf.get(from);
      if (group === undefined || group !== this.groupOf.get(to)) return 'partition';
    }
    if (this.cutLinks.get(from)?.has(to)) return 'link';
    return undefined;
  }

  private enqueue(p: Pending): void {
    // Upper bound on deliverAt: ties keep send order.
    let lo = 0;
    let hi = this.pending.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.pending[mid].info.deliverAt <= p.info.deliverAt) lo = mid + 1;
      else hi = mid;
    }
    this.pending.splice(lo, 0, p);
  }

  /** One clock timer for the earliest delivery keeps timer count flat however many messages travel. */
  private armTimer(): void {
    if (this.delivering) return;
    const due = this.pending[0]?.info.deliverAt;
    if (due === this.timerDue) return;
    this.cancelTimer?.();
    this.cancelTimer = undefined;
    this.timerDue = due;
    if (due === undefined) return;
    this.cancelTimer = this.clock.after(Math.max(0, due - this.clock.now()), () => {
      this.cancelTimer = undefined;
      this.timerDue = undefined;
      this.deliverDue();
    });
  }

  private deliverDue(): void {
    this.delivering = true;
    try {
      while (this.pending.length > 0 && this.pending[0].info.deliverAt <= this.clock.now()) {
        this.deliver(this.pending.shift()!);
      }
    } finally {
      this.delivering = false;
      this.armTimer();
    }
  }

  private deliver({ info, bytes }: Pending): void {
    const receiver = this.endpoints.get(info.to);
    if (!receiver) return this.emit('drop', info, 'down');
    const cut = this.cutReason(info.from, info.to);
    if (cut) return this.emit('drop', info, cut);
    let message: Message;
    try {
      message = decodeMessage(bytes);
    } catch {
      return this.emit('drop', info, 'malformed');
    }
    this.emit('deliver', info);
    receiver.receive(message);
  }

  private emit(kind: NetworkEvent['kind'], info: InFlightMessage, reason?: DropReason): void {
    if (this.listeners.size === 0) return;
    const event: NetworkEvent = { ...info, kind, at: this.clock.now() };
    if (reason) event.reason = reason;
    for (const listener of this.listeners) listener(event);
  }
}

interface Wire {
  transmit(from: MemoryTransport, messages: Message[]): void;
  disconnect(from: MemoryTransport): void;
}

class MemoryTransport implements Transport {
  private messageHandler: ((message: Message) => void) | undefined;
  private unreachableHandler: ((peer: NodeId) => void) | undefined;
  private readonly unreachable = new Set<NodeId>();
  private closed = false;

  constructor(
    readonly id: NodeId,
    private readonly clock: Clock,
    private readonly wire: Wire,
  ) {}

  send(messages: Message[]): void {
    if (!this.closed) this.wire.transmit(this, messages);
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  // Addresses mean nothing in memory: nodes are found by id.
  setPeer(): void {}
  removePeer(): void {}

  close(): Promise<void> {
    this.closed = true;
    this.wire.disconnect(this);
    return Promise.resolve();
  }

  receive(message: Message): void {
    if (!this.closed) this.messageHandler?.(message);
  }

  /** Reported on the next clock turn, not inside send(): the caller may be raft itself. */
  reportUnreachable(peer: NodeId): void {
    if (this.unreachable.size === 0) {
      this.clock.after(0, () => {
        const peers = [...this.unreachable];
        this.unreachable.clear();
        if (!this.closed) for (const p of peers) this.unreachableHandler?.(p);
      });
    }
    this.unreachable.add(peer);
  }
}

/** One line for humans (the console's message tooltips and timelines). */
export function summarizeMessage(m: Message): string {
  const head = `${m.type} t${m.term}`;
  switch (m.type) {
    case MessageType.App:
      return `${head} prev ${m.index}/${m.logTerm} +${m.entries.length} commit ${m.commit}`;
    case MessageType.AppResp:
      return m.reject ? `${head} reject ${m.index} hint ${m.rejectHint}/${m.logTerm}` : `${head} match ${m.index}`;
    case MessageType.Vote:
    case MessageType.PreVote:
      return `${head} last ${m.index}/${m.logTerm}`;
    case MessageType.VoteResp:
    case MessageType.PreVoteResp:
      return `${head} ${m.reject ? 'rejected' : 'granted'}`;
    case MessageType.Heartbeat:
      return `${head} commit ${m.commit}`;
    case MessageType.Snap:
      return m.snapshot
        ? `${head} snapshot ${m.snapshot.metadata.index}/${m.snapshot.metadata.term} ${m.snapshot.data.length} B`
        : head;
    case MessageType.ReadIndexResp:
      return `${head} index ${m.index}`;
    default:
      return head;
  }
}

function checkLatency(latency: Latency): Latency {
  const { min, max } = latency;
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 0 || max < min) {
    throw new RangeError(`latency must be whole milliseconds with 0 <= min <= max, got ${min}..${max}`);
  }
  return { min, max };
}

function checkDropRate(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`drop rate must be within [0, 1], got ${p}`);
  return p;
}
