// Raft messages over TCP, one process per node (raftd). Each node dials one connection per peer
// and sends only on it; connections a node accepts only receive. So every ordered pair of nodes
// has exactly one connection, and messages from A to B keep their order.
//
// A dialer first sends a handshake {clusterId, from, to, nonce, hmac}; the acceptor checks it and
// answers {ok} or {ok: false, reason} (then closes). Only then do message frames flow.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import { Packr, Unpackr } from 'msgpackr';
import * as z from '../validation.js';
import type { Message, NodeId, RaftLogger } from '../raft/types.js';
import { decodeMessage, encodeMessage } from './codec.js';
import { FrameDecoder, encodeFrames } from './frames.js';
import type { Transport } from './types.js';

export interface HostPort {
  host: string;
  port: number;
}

export interface TcpTransportOptions {
  id: NodeId;
  clusterId: string;
  /** Shared secret of the cluster; '' (the default) still keeps other clusters out via clusterId. */
  token?: string;
  /** Port 0 picks a free port; see address() after start(). */
  listen: HostPort;
  /** Peer id → "host:port". */
  peers: Record<NodeId, string>;
  logger?: RaftLogger;
  /** Largest accepted frame (one message, e.g. a snapshot). Default 64 MiB. */
  maxFrameBytes?: number;
  /** Bytes waiting to be written to one peer before new messages are dropped. Default 16 MiB. */
  maxQueueBytes?: number;
  /** Time allowed for connect + handshake, each way. Default 5 s. */
  handshakeTimeoutMs?: number;
  /** Reconnect delay: doubles from initialMs up to maxMs after each failure (with jitter). */
  backoff?: { initialMs: number; maxMs: number };
}

export interface PeerStats {
  /** Messages handed to the socket. */
  sent: number;
  /** Messages delivered from this peer. */
  received: number;
  /** Messages to this peer lost: peer unknown or down, queue full, or connection lost with them queued. */
  dropped: number;
  /** Whether our outbound connection to this peer is up. */
  connected: boolean;
}

export interface TcpTransportStats {
  /** Inbound connections refused at the handshake (wrong cluster, token or addressee; bad or late handshake). */
  refused: number;
  /** Authenticated connections closed for an oversized or undecodable frame. */
  malformed: number;
  /** Messages dropped because their from/to did not match the connection's handshake. */
  misaddressed: number;
  peers: Record<NodeId, PeerStats>;
}

const MiB = 1024 * 1024;
const HANDSHAKE_MAX_BYTES = 4096;
const KEEPALIVE_MS = 10_000;
const NONCE_BYTES = 16;
const HMAC_BYTES = 32;
const MAX_ID_LENGTH = 256;

const handshakePacker = new Packr({ useRecords: false });
const handshakeUnpacker = new Unpackr({ useRecords: false, mapsAsObjects: true });

const bytesOfLength = (n: number) =>
  z.instanceof(Uint8Array).check(z.refine((b) => b.length === n, { message: `must be ${n} bytes` }));
const handshakeSchema = z.object({
  clusterId: z.string().check(z.maxLength(MAX_ID_LENGTH)),
  from: z.string().check(z.minLength(1), z.maxLength(MAX_ID_LENGTH)),
  to: z.string().check(z.maxLength(MAX_ID_LENGTH)),
  nonce: bytesOfLength(NONCE_BYTES),
  hmac: bytesOfLength(HMAC_BYTES),
});
const ackSchema = z.object({ ok: z.boolean(), reason: z.optional(z.string().check(z.maxLength(1024))) });
type Handshake = z.infer<typeof handshakeSchema>;

const silentLogger: RaftLogger = { debug() {}, info() {}, warn() {} };

/** Parses "host:port" or "[v6]:port"; throws a message naming the bad input. */
export function parseHostPort(address: string, what = 'address'): HostPort {
  const colon = address.lastIndexOf(':');
  let host = colon > 0 ? address.slice(0, colon) : '';
  const port = Number(address.slice(colon + 1));
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error(`invalid ${what} "${address}": expected host:port with a port in 1..65535`);
  }
  return { host, port };
}

function handshakeMac(token: string, clusterId: string, from: NodeId, to: NodeId, nonce: Uint8Array): Buffer {
  // JSON keeps the fields unambiguous whatever characters the ids contain.
  const signed = JSON.stringify([clusterId, from, to, Buffer.from(nonce).toString('hex')]);
  return createHmac('sha256', token).update(signed).digest();
}

interface Counters {
  sent: number;
  received: number;
  dropped: number;
}

/** What a PeerLink needs from its transport. */
interface LinkContext {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly token: string;
  readonly logger: RaftLogger;
  readonly maxQueueBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly backoff: { initialMs: number; maxMs: number };
  counters(peer: NodeId): Counters;
  reportUnreachable(peer: NodeId): void;
}

/**
 * Our outbound connection to one peer. Dialed when there is something to send; after a failure,
 * messages are dropped (raft retransmits) until the backoff delay has passed.
 */
class PeerLink {
  private state: 'idle' | 'connecting' | 'open' | 'backoff' | 'closed' = 'idle';
  private socket: net.Socket | undefined;
  private queue: Uint8Array[] = [];
  private queuedBytes = 0;
  private writing = false;
  private failures = 0;
  private retryAt = 0;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private lastError = '';

  constructor(
    readonly peer: NodeId,
    readonly address: HostPort,
    private readonly ctx: LinkContext,
  ) {}

  get connected(): boolean {
    return this.state === 'open';
  }

  /** Queues one encoded message; false when it had to be dropped. */
  enqueue(payload: Uint8Array): boolean {
    if (this.state === 'closed') return false;
    if (this.state === 'backoff') {
      if (Date.now() < this.retryAt) return false;
      this.dial();
    } else if (this.state === 'idle') {
      this.dial();
    }
    // A lone message may exceed the bound (a big snapshot); otherwise the bound is strict.
    if (this.queue.length > 0 && this.queuedBytes + payload.length > this.ctx.maxQueueBytes) return false;
    this.queue.push(payload);
    this.queuedBytes += payload.length;
    return true;
  }

  /** Writes everything queued as one batch, unless a write is still pending (its callback flushes again). */
  flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || this.writing || this.queue.length === 0 || !socket) return;
    const batch = encodeFrames(this.queue);
    this.ctx.counters(this.peer).sent += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = true;
    socket.write(batch, () => {
      if (this.socket !== socket) return;
      this.writing = false;
      this.flush();
    });
  }

  close(): void {
    this.state = 'closed';
    this.discardQueue();
    this.socket?.destroy();
    this.socket = undefined;
    clearTimeout(this.handshakeTimer);
  }

  private dial(): void {
    this.state = 'connecting';
    const { self, clusterId, token } = this.ctx;
    const socket = net.connect({ host: this.address.host, port: this.address.port, noDelay: true });
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.socket = socket;
    this.lastError = '';
    const nonce = randomBytes(NONCE_BYTES);
    const hmac = handshakeMac(token, clusterId, self, this.peer, nonce);
    socket.write(encodeFrames([handshakePacker.pack({ clusterId, from: self, to: this.peer, nonce, hmac })]));

    const decoder = new FrameDecoder(HANDSHAKE_MAX_BYTES);
    this.handshakeTimer = setTimeout(() => this.abort(socket, 'no handshake answer in time'), this.ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(socket, decoder, chunk));
    socket.on('error', (err) => {
      this.lastError = err.message;
    });
    socket.on('close', () => this.onClose(socket));
  }

  private onData(socket: net.Socket, decoder: FrameDecoder, chunk: Buffer): void {
    if (this.state !== 'connecting') {
      // The acceptor only ever sends its handshake answer.
      return this.abort(socket, 'peer sent data after the handshake');
    }
    decoder.push(chunk);
    let frame: Buffer | undefined;
    let ack: z.infer<typeof ackSchema>;
    try {
      frame = decoder.next();
      if (!frame) return;
      ack = ackSchema.parse(handshakeUnpacker.unpack(frame));
    } catch (err) {
      return this.abort(socket, `bad handshake answer (${(err as Error).message})`);
    }
    // Logged by onClose, at warn level for the first failure in a row only.
    if (!ack.ok) return this.abort(socket, `peer refused our connection: ${ack.reason ?? 'no reason given'}`);
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    this.ctx.logger.info(`connected to peer ${this.peer} at ${this.describe()}${this.failures > 0 ? ` after ${this.failures} failed attempts` : ''}`);
    this.failures = 0;
    this.flush();
  }

  private abort(socket: net.Socket, reason: string): void {
    this.lastError = reason;
    socket.destroy();
  }

  private onClose(socket: net.Socket): void {
    if (this.socket !== socket) return;
    clearTimeout(this.handshakeTimer);
    this.socket = undefined;
    this.writing = false;
    if (this.state === 'closed') return;
    const wasOpen = this.state === 'open';
    this.discardQueue();
    this.failures++;
    const { initialMs, maxMs } = this.ctx.backoff;
    const delay = Math.min(maxMs, initialMs * 2 ** Math.min(this.failures - 1, 30));
    // Equal jitter: nodes that lost the same peer do not all redial at the same moment.
    this.retryAt = Date.now() + delay / 2 + Math.random() * (delay / 2);
    this.state = 'backoff';
    const why = this.lastError || 'closed by peer';
    if (wasOpen) this.ctx.logger.warn(`connection to peer ${this.peer} at ${this.describe()} lost: ${why}`);
    else if (this.failures === 1) this.ctx.logger.warn(`cannot connect to peer ${this.peer} at ${this.describe()}: ${why}; retrying with backoff`);
    else this.ctx.logger.debug(`still cannot connect to peer ${this.peer} (attempt ${this.failures}): ${why}`);
    this.ctx.reportUnreachable(this.peer);
  }

  private discardQueue(): void {
    this.ctx.counters(this.peer).dropped += this.queue.length;
    this.queue = [];
    this.queuedBytes = 0;
  }

  private describe(): string {
    return `${this.address.host}:${this.address.port}`;
  }
}

/** What an InboundConnection needs from its transport. */
interface InboundContext {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly token: string;
  readonly logger: RaftLogger;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  accepted(conn: InboundConnection): void;
  closed(conn: InboundConnection): void;
  deliver(peer: NodeId, message: Message): void;
  refused(reason: string): void;
  malformed(reason: string): void;
}

/** A connection another node opened to us: handshake, then receive only. */
class InboundConnection {
  private state: 'handshake' | 'open' | 'closed' = 'handshake';
  peer: NodeId = '';
  private readonly decoder = new FrameDecoder(HANDSHAKE_MAX_BYTES);
  private readonly handshakeTimer: NodeJS.Timeout;
  private readonly remote: string;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: InboundContext,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setKeepAlive(true, KEEPALIVE_MS);
    this.handshakeTimer = setTimeout(() => this.refuse('no handshake in time', 'handshake timeout'), ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => ctx.logger.debug(`inbound connection ${this.describe()} error: ${err.message}`));
    socket.on('close', () => {
      this.state = 'closed';
      clearTimeout(this.handshakeTimer);
      ctx.closed(this);
    });
  }

  close(): void {
    this.state = 'closed';
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.decoder.push(chunk);
    while (this.state !== 'closed') {
      let frame: Buffer | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        const detail = (err as Error).message;
        if (this.state === 'handshake') this.refuse(`oversized handshake (${detail})`, 'bad handshake');
        else this.malformed(detail);
        return;
      }
      if (!frame) return;
      if (this.state === 'handshake') this.onHandshake(frame);
      else this.onMessageFrame(frame);
    }
  }

  private onHandshake(frame: Buffer): void {
    let hello: Handshake;
    try {
      hello = handshakeSchema.parse(handshakeUnpacker.unpack(frame));
    } catch (err) {
      return this.refuse(`malformed handshake (${(err as Error).message.replace(/\s+/g, ' ')})`, 'bad handshake');
    }
    const { self, clusterId, token } = this.ctx;
    if (hello.clusterId !== clusterId) {
      return this.refuse(`peer ${hello.from} is in cluster "${hello.clusterId}", not "${clusterId}"`, 'cluster id mismatch');
    }
    if (hello.to !== self) {
      return this.refuse(`peer ${hello.from} dialed node ${hello.to}, but this is node ${self}`, `this is node ${self}, not ${hello.to}`);
    }
    const expected = handshakeMac(token, hello.clusterId, hello.from, hello.to, hello.nonce);
    if (!timingSafeEqual(expected, hello.hmac)) {
      return this.refuse(`peer ${hello.from} failed authentication (wrong token)`, 'authentication failed');
    }
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    this.peer = hello.from;
    this.decoder.maxFrameBytes = this.ctx.maxFrameBytes;
    this.socket.write(encodeFrames([handshakePacker.pack({ ok: true })]));
    this.ctx.accepted(this);
  }

  private onMessageFrame(frame: Buffer): void {
    let message: Message;
    try {
      message = decodeMessage(frame);
    } catch (err) {
      return this.malformed((err as Error).message);
    }
    this.ctx.deliver(this.peer, message);
  }

  /** Answers with a short reason (the dialer logs it) and closes; `detail` is for our log only. */
  private refuse(detail: string, reason: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    clearTimeout(this.handshakeTimer);
    this.ctx.refused(`refused connection from ${this.describe()}: ${detail}`);
    this.socket.end(encodeFrames([handshakePacker.pack({ ok: false, reason })]), () => this.socket.destroy());
  }

  private malformed(detail: string): void {
    this.state = 'closed';
    this.ctx.malformed(`closing connection from peer ${this.peer} (${this.describe()}): ${detail}`);
    this.socket.destroy();
  }

  private describe(): string {
    return this.peer ? `${this.peer}@${this.remote}` : this.remote;
  }
}

export class TcpTransport implements Transport {
  readonly id: NodeId;
  private readonly logger: RaftLogger;
  private readonly maxFrameBytes: number;
  private readonly listen: HostPort;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly inbound = new Set<InboundConnection>();
  /** The newest authenticated inbound connection of each peer; a newer one replaces it. */
  private readonly inboundByPeer = new Map<NodeId, InboundConnection>();
  private readonly peerCounters = new Map<NodeId, Counters>();
  private readonly unreachable = new Set<NodeId>();
  private readonly linkContext: LinkContext;
  private readonly inboundContext: InboundContext;
  private server: net.Server | undefined;
  private messageHandler: ((message: Message) => void) | undefined;
  private unreachableHandler: ((peer: NodeId) => void) | undefined;
  private closed = false;
  private refusedCount = 0;
  private malformedCount = 0;
  private misaddressedCount = 0;

  constructor(options: TcpTransportOptions) {
    if (!options.id) throw new Error('TcpTransport needs a node id');
    if (!options.clusterId) throw new Error('TcpTransport needs a cluster id');
    this.id = options.id;
    this.logger = options.logger ?? silentLogger;
    this.listen = options.listen;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * MiB;
    const shared = {
      self: this.id,
      clusterId: options.clusterId,
      token: options.token ?? '',
      logger: this.logger,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
    };
    const backoff = options.backoff ?? { initialMs: 50, maxMs: 2000 };
    if (!(backoff.initialMs > 0 && backoff.maxMs >= backoff.initialMs)) {
      throw new Error(`backoff needs 0 < initialMs <= maxMs, got ${backoff.initialMs}..${backoff.maxMs}`);
    }
    this.linkContext = {
      ...shared,
      maxQueueBytes: options.maxQueueBytes ?? 16 * MiB,
      backoff,
      counters: (peer) => this.counters(peer),
      reportUnreachable: (peer) => this.reportUnreachable(peer),
    };
    this.inboundContext = {
      ...shared,
      maxFrameBytes: this.maxFrameBytes,
      accepted: (conn) => this.accepted(conn),
      closed: (conn) => this.forget(conn),
      deliver: (peer, message) => this.deliver(peer, message),
      refused: (reason) => {
        this.refusedCount++;
        this.logger.warn(reason);
      },
      malformed: (reason) => {
        this.malformedCount++;
        this.logger.warn(reason);
      },
    };
    for (const [peer, address] of Object.entries(options.peers)) this.setPeer(peer, address);
  }

  /** Resolves once listening; rejects (e.g. port in use) with the cause. */
  start(): Promise<void> {
    if (this.server) return Promise.reject(new Error('TcpTransport already started'));
    if (this.closed) return Promise.reject(new Error('TcpTransport is closed'));
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', (err) => {
        this.server = undefined;
        reject(new Error(`cannot listen on ${this.listen.host}:${this.listen.port}: ${err.message}`));
      });
      server.listen(this.listen.port, this.listen.host, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.logger.warn(`peer listener error: ${err.message}`));
        this.logger.info(`listening for peers on ${this.address().host}:${this.address().port}`);
        resolve();
      });
    });
  }

  /** Where we listen (the real port when started with port 0). */
  address(): HostPort {
    const bound = this.server?.address();
    if (!bound || typeof bound === 'string') throw new Error('TcpTransport is not listening');
    return { host: bound.address, port: bound.port };
  }

  send(messages: Message[]): void {
    if (this.closed) return;
    const touched = new Set<PeerLink>();
    for (const message of messages) {
      const link = this.links.get(message.to);
      if (!link) {
        this.counters(message.to).dropped++;
        this.reportUnreachable(message.to);
        continue;
      }
      let payload: Uint8Array;
      try {
        payload = encodeMessage(message);
      } catch (err) {
        this.logger.warn(`cannot encode ${message.type} to ${message.to}: ${(err as Error).message}`);
        this.counters(message.to).dropped++;
        continue;
      }
      if (payload.length > this.maxFrameBytes) {
        this.logger.warn(`dropping ${message.type} to ${message.to}: ${payload.length} bytes exceeds the frame limit`);
        this.counters(message.to).dropped++;
        continue;
      }
      if (!link.enqueue(payload)) {
        this.counters(message.to).dropped++;
        this.reportUnreachable(message.to);
        continue;
      }
      touched.add(link);
    }
    for (const link of touched) link.flush();
  }

  onMessage(handler: (message: Message) => void): void {
    this.messageHandler = handler;
  }

  onUnreachable(handler: (peer: NodeId) => void): void {
    this.unreachableHandler = handler;
  }

  /** Adds or moves a peer; throws on a malformed address, keeping the old one. */
  setPeer(id: NodeId, address: string): void {
    const parsed = parseHostPort(address, `address of peer ${id}`);
    const current = this.links.get(id);
    if (current && current.address.host === parsed.host && current.address.port === parsed.port) return;
    current?.close();
    this.links.set(id, new PeerLink(id, parsed, this.linkContext));
  }

  removePeer(id: NodeId): void {
    this.links.get(id)?.close();
    this.links.delete(id);
    this.peerCounters.delete(id);
  }

  stats(): TcpTransportStats {
    const peers: Record<NodeId, PeerStats> = {};
    for (const [id, c] of this.peerCounters) peers[id] = { ...c, connected: false };
    for (const [id, link] of this.links) {
      peers[id] = { ...(peers[id] ?? { sent: 0, received: 0, dropped: 0 }), connected: link.connected };
    }
    return { refused: this.refusedCount, malformed: this.malformedCount, misaddressed: this.misaddressedCount, peers };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const conn of this.inbound) conn.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accepted(conn: InboundConnection): void {
    const previous = this.inboundByPeer.get(conn.peer);
    this.inboundByPeer.set(conn.peer, conn);
    // The peer redialed (e.g. it restarted): its old connection is dead or about to be.
    previous?.close();
    this.logger.debug(`accepted connection from peer ${conn.peer}`);
  }

  private forget(conn: InboundConnection): void {
    this.inbound.delete(conn);
    if (this.inboundByPeer.get(conn.peer) === conn) this.inboundByPeer.delete(conn.peer);
  }

  private deliver(peer: NodeId, message: Message): void {
    if (message.from !== peer || message.to !== this.id) {
      this.misaddressedCount++;
      this.logger.debug(`dropping ${message.type} ${message.from}->${message.to} received on the connection from ${peer}`);
      return;
    }
    this.counters(peer).received++;
    if (!this.messageHandler) return;
    try {
      this.messageHandler(message);
    } catch (err) {
      this.logger.warn(`message handler failed on ${message.type} from ${peer}: ${(err as Error).message}`);
    }
  }

  private accept(socket: net.Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.inbound.add(new InboundConnection(socket, this.inboundContext));
  }

  private counters(peer: NodeId): Counters {
    let c = this.peerCounters.get(peer);
    if (!c) {
      c = { sent: 0, received: 0, dropped: 0 };
      this.peerCounters.set(peer, c);
    }
    return c;
  }

  /** Deferred and deduplicated: send() may be called from inside raft, and a burst means one report. */
  private reportUnreachable(peer: NodeId): void {
    if (this.unreachable.size === 0) queueMicrotask(() => this.flushUnreachable());
    this.unreachable.add(peer);
  }

  private flushUnreachable(): void {
    const peers = [...this.unreachable];
    this.unreachable.clear();
    if (this.closed || !this.unreachableHandler) return;
    for (const peer of peers) {
      try {
        this.unreachableHandler(peer);
      } catch (err) {
        this.logger.warn(`unreachable handler failed for ${peer}: ${(err as Error).message}`);
      }
    }
  }
}
