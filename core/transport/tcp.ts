// Raft messages over TCP (or TLS), one process per node (raftd). Each node dials one connection
// per peer and sends only on it; connections a node accepts only receive. So every ordered pair of
// nodes has exactly one connection, and messages from A to B keep their order.
//
// Handshake, challenge-response with a nonce from each side, so recorded bytes never open a
// second connection:
//   dialer   → hello     {v, clusterId, from, to, nonce: Nd}
//   acceptor → challenge {ok: true, nonce: Na, mac: HMAC(token, accept|clusterId|from|to|Nd|Na)}  (or {ok: false, reason})
//   dialer   → proof     {mac: HMAC(token, dial|clusterId|from|to|Nd|Na)}   after checking the acceptor's mac
//   acceptor → {ok: true} (or {ok: false, reason}, then close)
// Then the dialer sends message frames, and the connection speaks only as `from`: a message with
// another sender or addressee is dropped. With TLS both sides also present certificates of the
// cluster CA naming their node id (see core/security/tls.ts), and `from` must be that id.
// Without TLS but with a token, every message frame ends in a tag, HMAC-SHA256(key, seq ‖ payload)
// cut to 16 bytes, with key = HMAC(token, frames|clusterId|from|to|Nd|Na) and seq counting the
// connection's message frames from 0: a frame altered, injected, replayed or dropped on the path
// closes the connection (see FrameSeal). Pings (empty frames) carry no tag and no data.
//
// Liveness: the dialer sends an empty frame (a ping) every pingIntervalMs; the acceptor, while it
// keeps receiving bytes, answers with an empty frame each interval. A side that hears nothing for
// silenceMs drops the connection (the dialer reconnects with backoff), so a dead link is found in
// bounded time and never waits on the kernel's retransmissions. Nor does redialing: while no
// connection attempt has been answered, a fresh one goes out every pingIntervalMs (earlier ones stay
// until connectTimeoutMs, at most 8 under way), so a healed link is used within a heartbeat.
// Messages queued longer than maxMessageAgeMs are dropped rather than delivered late.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { Packr, Unpackr } from 'msgpackr';
import * as z from '../validation.js';
import type { Message, NodeId, RaftLogger } from '../raft/types.js';
import { nodeIdentity, type TlsMaterial } from '../security/tls.js';
import { MAX_NODE_ID_LENGTH, decodeMessage, encodeMessage } from './codec.js';
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
  /** Mutual TLS: this node's certificate (CN = its id) and key, and the cluster CA every peer's must chain to. */
  tls?: TlsMaterial;
  /** Port 0 picks a free port; see address() after start(). */
  listen: HostPort;
  /** Peer id → "host:port". */
  peers: Record<NodeId, string>;
  logger?: RaftLogger;
  /** Largest accepted frame (one message, e.g. a snapshot). Default 64 MiB. */
  maxFrameBytes?: number;
  /** Bytes waiting to be written to one peer before new messages are dropped. Default 16 MiB. */
  maxQueueBytes?: number;
  /** Time allowed for connect + TLS + handshake, each way. Default 5 s. */
  handshakeTimeoutMs?: number;
  /**
   * Time allowed for the TCP connection itself; past it the attempt is abandoned and redialed
   * after the backoff. A SYN lost to a dead link is otherwise resent by the kernel only after
   * 1, 3, 7 s, so a healed link would wait for it. Default: handshakeTimeoutMs.
   */
  connectTimeoutMs?: number;
  /** Reconnect delay: doubles from initialMs up to maxMs after each failure (with jitter). */
  backoff?: { initialMs: number; maxMs: number };
  /** How often an open connection proves it is alive (raftd: its heartbeat interval). Default 1 s. */
  pingIntervalMs?: number;
  /** A connection that brings nothing for this long is dropped (raftd: its election timeout). Default 5 s. */
  silenceMs?: number;
  /** A message waiting to be written longer than this is dropped, not sent late (raftd: its election timeout). Default 5 s. */
  maxMessageAgeMs?: number;
  /** Connections accepted and not yet through the handshake; beyond, new ones are closed at once. Default 64. */
  maxPendingHandshakes?: number;
}

export interface PeerStats {
  /** Messages handed to the socket. */
  sent: number;
  /** Messages delivered from this peer. */
  received: number;
  /** Messages to this peer lost: peer unknown or down, queue full, too old, or connection lost with them queued. */
  dropped: number;
  /** Whether our outbound connection to this peer is up. */
  connected: boolean;
}

export interface TcpTransportStats {
  /** Inbound connections refused at the handshake (wrong cluster, token, certificate or addressee; bad or late handshake). */
  refused: number;
  /** Authenticated connections closed for an oversized or undecodable frame. */
  malformed: number;
  /** Messages dropped because their from/to did not match the connection's handshake. */
  misaddressed: number;
  /** Connections (either way) dropped because the other side fell silent. */
  silent: number;
  peers: Record<NodeId, PeerStats>;
}

const MiB = 1024 * 1024;
const HANDSHAKE_MAX_BYTES = 4096;
const PROTOCOL_VERSION = 3;
const NONCE_BYTES = 16;
const HMAC_BYTES = 32;
const FRAME_TAG_BYTES = 16;
const PING = Buffer.alloc(4); // an empty frame
const REFUSAL_WARNING_INTERVAL_MS = 1000;
/** Connection attempts to one peer under way at once, at most (see PeerLink.enqueue). */
const MAX_PARALLEL_DIALS = 8;
/** Room for authenticated inbound connections on a TLS listener (one per peer). */
const MAX_AUTHENTICATED_PEERS = 1024;

const handshakePacker = new Packr({ useRecords: false });
const handshakeUnpacker = new Unpackr({ useRecords: false, mapsAsObjects: true });

const bytesOfLength = (n: number) =>
  z.instanceof(Uint8Array).check(z.refine((b) => b.length === n, { message: `must be ${n} bytes` }));
const helloSchema = z.object({
  v: z.literal(PROTOCOL_VERSION),
  clusterId: z.string().check(z.maxLength(MAX_NODE_ID_LENGTH)),
  from: z.string().check(z.minLength(1), z.maxLength(MAX_NODE_ID_LENGTH)),
  to: z.string().check(z.maxLength(MAX_NODE_ID_LENGTH)),
  nonce: bytesOfLength(NONCE_BYTES),
});
const proofSchema = z.object({ mac: bytesOfLength(HMAC_BYTES) });
const refusalSchema = z.object({ ok: z.literal(false), reason: z.optional(z.string().check(z.maxLength(1024))) });
const challengeSchema = z.union([z.object({ ok: z.literal(true), nonce: bytesOfLength(NONCE_BYTES), mac: bytesOfLength(HMAC_BYTES) }), refusalSchema]);
const ackSchema = z.union([z.object({ ok: z.literal(true) }), refusalSchema]);
type Hello = z.infer<typeof helloSchema>;

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

/** Whether a listen address is reachable from this machine only (and a token may be left out). */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * What each side proves. The role is signed too, so the acceptor's answer can never be replayed
 * as a dialer's proof (or back); JSON keeps the fields unambiguous whatever the ids contain.
 */
function handshakeMac(token: string, role: 'accept' | 'dial' | 'frames', clusterId: string, from: NodeId, to: NodeId, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Buffer {
  const signed = JSON.stringify([`raft-peer-${role}`, clusterId, from, to, Buffer.from(dialerNonce).toString('hex'), Buffer.from(acceptorNonce).toString('hex')]);
  return createHmac('sha256', token).update(signed).digest();
}

function macEqual(expected: Buffer, got: Uint8Array): boolean {
  return got.length === expected.length && timingSafeEqual(expected, got);
}

/**
 * Seals the message frames of one connection (token, no TLS), or checks and opens them: each
 * carries a tag over its place in the stream and its bytes, so a frame cannot be altered, injected,
 * replayed or left out on the path without the receiver noticing.
 */
export class FrameSeal {
  private sent = 0;
  private received = 0;
  private readonly counter = Buffer.alloc(8);

  constructor(private readonly key: Buffer) {}

  /** The key of one connection, from the handshake both sides completed. */
  static forConnection(token: string, clusterId: string, dialer: NodeId, acceptor: NodeId, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): FrameSeal {
    return new FrameSeal(handshakeMac(token, 'frames', clusterId, dialer, acceptor, dialerNonce, acceptorNonce));
  }

  seal(payload: Uint8Array): Buffer {
    const out = Buffer.allocUnsafe(payload.length + FRAME_TAG_BYTES);
    out.set(payload, 0);
    this.tag(this.sent++, payload).copy(out, payload.length);
    return out;
  }

  /** The payload, or undefined when the tag is not the one the next frame must carry. */
  open(frame: Buffer): Buffer | undefined {
    if (frame.length < FRAME_TAG_BYTES) return undefined;
    const payload = frame.subarray(0, frame.length - FRAME_TAG_BYTES);
    if (!timingSafeEqual(this.tag(this.received, payload), frame.subarray(frame.length - FRAME_TAG_BYTES))) return undefined;
    this.received++;
    return payload;
  }

  private tag(seq: number, payload: Uint8Array): Buffer {
    this.counter.writeBigUInt64BE(BigInt(seq));
    return createHmac('sha256', this.key).update(this.counter).update(payload).digest().subarray(0, FRAME_TAG_BYTES);
  }
}

interface Counters {
  sent: number;
  received: number;
  dropped: number;
}

interface Liveness {
  readonly pingIntervalMs: number;
  readonly silenceMs: number;
}

/** What a PeerLink needs from its transport. */
interface LinkContext extends Liveness {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly token: string;
  readonly tls: TlsMaterial | undefined;
  readonly logger: RaftLogger;
  readonly maxQueueBytes: number;
  readonly maxMessageAgeMs: number;
  readonly handshakeTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly backoff: { initialMs: number; maxMs: number };
  counters(peer: NodeId): Counters;
  reportUnreachable(peer: NodeId): void;
  silent(): void;
}

/**
 * Calls `onSilent` when nothing was heard for silenceMs, checking every pingIntervalMs (and
 * calling `onTick` then). Time this process itself lost (stopped, starved: the check came late)
 * does not count as the peer's silence.
 */
class SilenceWatch {
  private lastHeard = Date.now();
  private lastTick = Date.now();
  private readonly timer: NodeJS.Timeout;

  constructor(liveness: Liveness, onTick: () => void, onSilent: (ms: number) => void) {
    this.timer = setInterval(() => {
      const now = Date.now();
      const late = now - this.lastTick - liveness.pingIntervalMs;
      if (late > liveness.pingIntervalMs) this.lastHeard = Math.min(now, this.lastHeard + late);
      this.lastTick = now;
      const quiet = now - this.lastHeard;
      if (quiet > liveness.silenceMs) onSilent(quiet);
      else onTick();
    }, liveness.pingIntervalMs);
    this.timer.unref();
  }

  heard(): void {
    this.lastHeard = Date.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

interface Queued {
  payload: Uint8Array;
  at: number;
}

/**
 * Our outbound connection to one peer. Dialed when there is something to send; after a failure,
 * messages are dropped (raft retransmits) until the backoff delay has passed.
 */
class PeerLink {
  private state: 'idle' | 'connecting' | 'open' | 'backoff' | 'closed' = 'idle';
  /** The connection, from its TCP connect on (through the handshake while 'connecting'). */
  private socket: net.Socket | undefined;
  /** Attempts whose TCP connect is pending; the first to connect becomes `socket`, the others are dropped. */
  private readonly attempts = new Set<net.Socket>();
  private lastAttemptAt = 0;
  private queue: Queued[] = [];
  private queuedBytes = 0;
  private writing = false;
  private failures = 0;
  private retryAt = 0;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private watch: SilenceWatch | undefined;
  private lastError = '';
  /** The open connection's frame seal (token without TLS), else undefined. */
  private seal: FrameSeal | undefined;

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
    } else if (this.state === 'connecting' && !this.socket && Date.now() - this.lastAttemptAt >= this.ctx.pingIntervalMs && this.attempts.size < this.maxAttempts()) {
      // A SYN lost to a dead link is resent by the kernel only after a second or more: while no
      // attempt has connected, a fresh one goes out every heartbeat (the earlier ones stay until
      // their connect timeout, for slow links), so a healed link is used within a heartbeat.
      this.ctx.logger.debug(`no answer yet from peer ${this.peer} at ${this.describe()}: dialing again (${this.attempts.size} attempts under way)`);
      this.attempt();
    }
    // A lone message may exceed the bound (a big snapshot); otherwise the bound is strict.
    if (this.queue.length > 0 && this.queuedBytes + payload.length > this.ctx.maxQueueBytes) return false;
    this.queue.push({ payload, at: Date.now() });
    this.queuedBytes += payload.length;
    return true;
  }

  /** Writes everything queued as one batch, unless a write is still pending (its callback flushes again). */
  flush(): void {
    const socket = this.socket;
    if (this.state !== 'open' || this.writing || this.queue.length === 0 || !socket) return;
    // Raft acts on what it hears now: a heartbeat from long ago can make a node refuse a
    // legitimate candidate. Old messages go; raft retransmits what still matters.
    const oldest = Date.now() - this.ctx.maxMessageAgeMs;
    const fresh: Uint8Array[] = [];
    for (const q of this.queue) if (q.at >= oldest) fresh.push(q.payload);
    const counters = this.ctx.counters(this.peer);
    counters.dropped += this.queue.length - fresh.length;
    counters.sent += fresh.length;
    this.queue = [];
    this.queuedBytes = 0;
    if (fresh.length === 0) return;
    this.writing = true;
    const seal = this.seal;
    socket.write(encodeFrames(seal ? fresh.map((payload) => seal.seal(payload)) : fresh), () => {
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
    this.dropAttempts();
    this.stopTimers();
  }

  private maxAttempts(): number {
    return Math.min(MAX_PARALLEL_DIALS, Math.max(1, Math.ceil(this.ctx.connectTimeoutMs / this.ctx.pingIntervalMs)));
  }

  private dial(): void {
    this.state = 'connecting';
    this.lastError = '';
    this.attempt();
  }

  /** One TCP (or TLS) connection attempt; the first of the attempts under way to connect goes on to the handshake. */
  private attempt(): void {
    const { host, port } = this.address;
    const socket = this.ctx.tls ? this.dialTls() : net.connect({ host, port, noDelay: true });
    socket.setKeepAlive(true, this.ctx.silenceMs);
    this.attempts.add(socket);
    this.lastAttemptAt = Date.now();
    const connectTimer = setTimeout(() => this.abort(socket, `no connection within ${this.ctx.connectTimeoutMs} ms`), this.ctx.connectTimeoutMs);
    connectTimer.unref();
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      if (!this.attempts.delete(socket) || this.socket || this.state !== 'connecting') return void socket.destroy();
      this.dropAttempts();
      this.handshake(socket);
    });
    socket.once('close', () => clearTimeout(connectTimer));
    socket.on('error', (err) => {
      if (this.socket === socket || this.attempts.has(socket)) this.lastError = err.message;
    });
    socket.on('close', () => this.onClose(socket));
  }

  private dropAttempts(): void {
    const losers = [...this.attempts];
    this.attempts.clear();
    for (const s of losers) s.destroy();
  }

  private handshake(socket: net.Socket): void {
    const { self, clusterId, token } = this.ctx;
    this.socket = socket;
    const nonce = randomBytes(NONCE_BYTES);
    socket.write(encodeFrames([handshakePacker.pack({ v: PROTOCOL_VERSION, clusterId, from: self, to: this.peer, nonce })]));

    const decoder = new FrameDecoder(HANDSHAKE_MAX_BYTES);
    let step: 'challenge' | 'ack' | 'open' = 'challenge';
    let acceptorNonce: Uint8Array | undefined;
    this.handshakeTimer = setTimeout(() => this.abort(socket, 'no handshake answer in time'), this.ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => {
      if (this.socket !== socket) return;
      if (step === 'open') return this.watch?.heard(); // the acceptor's pings; nothing else comes this way
      decoder.push(chunk);
      try {
        for (let frame = decoder.next(); frame && step !== 'open'; frame = decoder.next()) {
          const answer = handshakeUnpacker.unpack(frame) as unknown;
          if (step === 'challenge') {
            const challenge = challengeSchema.parse(answer);
            if (!challenge.ok) return this.abort(socket, `peer refused our connection: ${challenge.reason ?? 'no reason given'}`);
            const expected = handshakeMac(token, 'accept', clusterId, self, this.peer, nonce, challenge.nonce);
            if (!macEqual(expected, challenge.mac)) return this.abort(socket, 'peer failed authentication (it does not know the token)');
            socket.write(encodeFrames([handshakePacker.pack({ mac: handshakeMac(token, 'dial', clusterId, self, this.peer, nonce, challenge.nonce) })]));
            acceptorNonce = challenge.nonce;
            step = 'ack';
          } else {
            const ack = ackSchema.parse(answer);
            if (!ack.ok) return this.abort(socket, `peer refused our connection: ${ack.reason ?? 'no reason given'}`);
            step = 'open';
            this.seal = token && !this.ctx.tls ? FrameSeal.forConnection(token, clusterId, self, this.peer, nonce, acceptorNonce!) : undefined;
            this.opened(socket);
          }
        }
      } catch (err) {
        return this.abort(socket, `bad handshake answer (${(err as Error).message.replace(/\s+/g, ' ')})`);
      }
    });
  }

  /** TLS to the peer, which must show a node certificate of our CA naming the peer we meant. */
  private dialTls(): net.Socket {
    const { cert, key, ca } = this.ctx.tls!;
    const { host, port } = this.address;
    const socket = tls.connect({
      host,
      port,
      cert,
      key,
      ca,
      minVersion: 'TLSv1.3',
      servername: net.isIP(host) ? undefined : host,
      // Identity is the node id, not the address: addresses follow membership and may be NATed.
      checkServerIdentity: (_host, peerCert) => {
        const identity = nodeIdentity(peerCert);
        if ('error' in identity) return new Error(identity.error);
        if (identity.id !== this.peer) return new Error(`certificate is for node ${identity.id}, not ${this.peer}`);
        return undefined;
      },
    });
    socket.setNoDelay(true);
    return socket;
  }

  private opened(socket: net.Socket): void {
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    this.ctx.logger.info(`connected to peer ${this.peer} at ${this.describe()}${this.failures > 0 ? ` after ${this.failures} failed attempts` : ''}`);
    this.failures = 0;
    this.watch = new SilenceWatch(
      this.ctx,
      () => socket.write(PING),
      (ms) => {
        this.ctx.silent();
        this.abort(socket, `nothing heard for ${ms} ms`);
      },
    );
    this.flush();
  }

  private abort(socket: net.Socket, reason: string): void {
    if (this.socket === socket || this.attempts.has(socket)) this.lastError = reason;
    socket.destroy();
  }

  private onClose(socket: net.Socket): void {
    if (this.attempts.delete(socket)) {
      // An attempt that never connected: the link has failed once no attempt is left and none won.
      if (this.socket || this.attempts.size > 0) return;
    } else if (this.socket !== socket) {
      return;
    }
    this.stopTimers();
    this.socket = undefined;
    this.seal = undefined;
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

  private stopTimers(): void {
    clearTimeout(this.handshakeTimer);
    this.watch?.stop();
    this.watch = undefined;
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
interface InboundContext extends Liveness {
  readonly self: NodeId;
  readonly clusterId: string;
  readonly token: string;
  readonly tls: TlsMaterial | undefined;
  readonly logger: RaftLogger;
  readonly maxFrameBytes: number;
  readonly handshakeTimeoutMs: number;
  accepted(conn: InboundConnection): void;
  closed(conn: InboundConnection): void;
  deliver(peer: NodeId, message: Message): void;
  refused(reason: string): void;
  malformed(reason: string): void;
  silent(reason: string): void;
}

/** A connection another node opened to us: handshake, then receive only (and answer pings). */
class InboundConnection {
  private state: 'hello' | 'proof' | 'open' | 'closed' = 'hello';
  peer: NodeId = '';
  private hello: Hello | undefined;
  /** Checks the dialer's message frames (token without TLS), else undefined. */
  private seal: FrameSeal | undefined;
  private nonce: Buffer | undefined;
  private readonly decoder = new FrameDecoder(HANDSHAKE_MAX_BYTES);
  private readonly handshakeTimer: NodeJS.Timeout;
  private watch: SilenceWatch | undefined;
  private readonly remote: string;

  constructor(
    readonly socket: net.Socket,
    private readonly ctx: InboundContext,
  ) {
    this.remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.setKeepAlive(true, ctx.silenceMs);
    this.handshakeTimer = setTimeout(() => this.refuse('no handshake in time', 'handshake timeout'), ctx.handshakeTimeoutMs);
    this.handshakeTimer.unref();
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => ctx.logger.debug(`inbound connection ${this.describe()} error: ${err.message}`));
    socket.on('close', () => {
      // A dialer that hangs up after our challenge could not check it: it lacks the token.
      if (this.state === 'proof') ctx.refused(`peer ${this.hello!.from} (${this.describe()}) hung up after our challenge (wrong token?)`);
      this.state = 'closed';
      clearTimeout(this.handshakeTimer);
      this.watch?.stop();
      ctx.closed(this);
    });
  }

  get open(): boolean {
    return this.state === 'open';
  }

  close(): void {
    this.state = 'closed';
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.watch?.heard();
    this.decoder.push(chunk);
    while (this.state !== 'closed') {
      let frame: Buffer | undefined;
      try {
        frame = this.decoder.next();
      } catch (err) {
        const detail = (err as Error).message;
        if (this.state === 'open') this.malformed(detail);
        else this.refuse(`oversized handshake (${detail})`, 'bad handshake');
        return;
      }
      if (!frame) return;
      if (this.state === 'hello') this.onHello(frame);
      else if (this.state === 'proof') this.onProof(frame);
      else this.onMessageFrame(frame);
    }
  }

  private onHello(frame: Buffer): void {
    let hello: Hello;
    try {
      hello = helloSchema.parse(handshakeUnpacker.unpack(frame));
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
    if (this.ctx.tls) {
      const identity = nodeIdentity((this.socket as tls.TLSSocket).getPeerCertificate());
      if ('error' in identity) return this.refuse(`peer ${hello.from}: ${identity.error}`, 'certificate refused');
      if (identity.id !== hello.from) {
        return this.refuse(`peer claims to be ${hello.from} with the certificate of ${identity.id}`, 'certificate is for another node');
      }
    }
    this.hello = hello;
    this.nonce = randomBytes(NONCE_BYTES);
    const mac = handshakeMac(token, 'accept', clusterId, hello.from, self, hello.nonce, this.nonce);
    this.state = 'proof';
    this.socket.write(encodeFrames([handshakePacker.pack({ ok: true, nonce: this.nonce, mac })]));
  }

  private onProof(frame: Buffer): void {
    const hello = this.hello!;
    let proof: z.infer<typeof proofSchema>;
    try {
      proof = proofSchema.parse(handshakeUnpacker.unpack(frame));
    } catch (err) {
      return this.refuse(`malformed handshake proof (${(err as Error).message.replace(/\s+/g, ' ')})`, 'bad handshake');
    }
    const expected = handshakeMac(this.ctx.token, 'dial', this.ctx.clusterId, hello.from, this.ctx.self, hello.nonce, this.nonce!);
    if (!macEqual(expected, proof.mac)) {
      return this.refuse(`peer ${hello.from} failed authentication (wrong token, or a replayed handshake)`, 'authentication failed');
    }
    clearTimeout(this.handshakeTimer);
    this.state = 'open';
    this.peer = hello.from;
    if (this.ctx.token && !this.ctx.tls) this.seal = FrameSeal.forConnection(this.ctx.token, this.ctx.clusterId, hello.from, this.ctx.self, hello.nonce, this.nonce!);
    this.decoder.maxFrameBytes = this.ctx.maxFrameBytes;
    this.socket.write(encodeFrames([handshakePacker.pack({ ok: true })]));
    const socket = this.socket;
    this.watch = new SilenceWatch(
      this.ctx,
      () => socket.write(PING),
      (ms) => {
        this.state = 'closed';
        this.ctx.silent(`closing connection from peer ${this.describe()}: nothing heard for ${ms} ms`);
        socket.destroy();
      },
    );
    this.ctx.accepted(this);
  }

  private onMessageFrame(frame: Buffer): void {
    if (frame.length === 0) return; // a ping
    let payload: Buffer = frame;
    if (this.seal) {
      const opened = this.seal.open(frame);
      if (!opened) return this.malformed('a frame failed authentication (altered, injected, replayed or left out on the path)');
      payload = opened;
    }
    let message: Message;
    try {
      message = decodeMessage(payload);
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
  private readonly tls: TlsMaterial | undefined;
  private readonly maxPendingHandshakes: number;
  private server: net.Server | undefined;
  private messageHandler: ((message: Message) => void) | undefined;
  private unreachableHandler: ((peer: NodeId) => void) | undefined;
  private closed = false;
  private refusedCount = 0;
  private malformedCount = 0;
  private misaddressedCount = 0;
  private silentCount = 0;
  private lastRefusalWarning = -Infinity;
  private refusalsNotWarned = 0;

  constructor(options: TcpTransportOptions) {
    if (!options.id) throw new Error('TcpTransport needs a node id');
    if (!options.clusterId) throw new Error('TcpTransport needs a cluster id');
    this.id = options.id;
    this.logger = options.logger ?? silentLogger;
    this.listen = options.listen;
    this.maxFrameBytes = options.maxFrameBytes ?? 64 * MiB;
    this.tls = options.tls;
    this.maxPendingHandshakes = options.maxPendingHandshakes ?? 64;
    const pingIntervalMs = options.pingIntervalMs ?? 1000;
    const silenceMs = options.silenceMs ?? 5000;
    if (!(pingIntervalMs > 0 && silenceMs > pingIntervalMs)) {
      throw new Error(`liveness needs 0 < pingIntervalMs < silenceMs, got ${pingIntervalMs} and ${silenceMs}`);
    }
    const shared = {
      self: this.id,
      clusterId: options.clusterId,
      token: options.token ?? '',
      tls: this.tls,
      logger: this.logger,
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 5000,
      pingIntervalMs,
      silenceMs,
    };
    const backoff = options.backoff ?? { initialMs: 50, maxMs: 2000 };
    if (!(backoff.initialMs > 0 && backoff.maxMs >= backoff.initialMs)) {
      throw new Error(`backoff needs 0 < initialMs <= maxMs, got ${backoff.initialMs}..${backoff.maxMs}`);
    }
    this.linkContext = {
      ...shared,
      maxQueueBytes: options.maxQueueBytes ?? 16 * MiB,
      maxMessageAgeMs: options.maxMessageAgeMs ?? 5000,
      connectTimeoutMs: options.connectTimeoutMs ?? shared.handshakeTimeoutMs,
      backoff,
      counters: (peer) => this.counters(peer),
      reportUnreachable: (peer) => this.reportUnreachable(peer),
      silent: () => this.silentCount++,
    };
    this.inboundContext = {
      ...shared,
      maxFrameBytes: this.maxFrameBytes,
      accepted: (conn) => this.accepted(conn),
      closed: (conn) => this.forget(conn),
      deliver: (peer, message) => this.deliver(peer, message),
      refused: (reason) => this.refuse(reason),
      malformed: (reason) => {
        this.malformedCount++;
        this.logger.warn(reason);
      },
      silent: (reason) => {
        this.silentCount++;
        this.logger.warn(reason);
      },
    };
    for (const [peer, address] of Object.entries(options.peers)) this.setPeer(peer, address);
  }

  /** Resolves once listening; rejects (e.g. port in use) with the cause. */
  start(): Promise<void> {
    if (this.server) return Promise.reject(new Error('TcpTransport already started'));
    if (this.closed) return Promise.reject(new Error('TcpTransport is closed'));
    const server = this.tls ? this.createTlsServer(this.tls) : net.createServer({ noDelay: true }, (socket) => this.accept(socket));
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

  /** Peers must show a certificate of our CA; which node it names is checked at the handshake. */
  private createTlsServer({ cert, key, ca }: TlsMaterial): tls.Server {
    // rejectUnauthorized is off only so that a refusal can say why: every socket is checked below.
    const server = tls.createServer(
      { cert, key, ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.3', handshakeTimeout: this.inboundContext.handshakeTimeoutMs, noDelay: true },
      (socket) => {
        if (socket.authorized) return this.accept(socket);
        this.refuse(`refused connection from ${socket.remoteAddress}:${socket.remotePort}: its certificate is not trusted (${socket.authorizationError ?? 'none given'})`);
        socket.destroy();
      },
    );
    // Connections still in their TLS handshake are not ours to count yet: the server bounds them
    // (each lives at most handshakeTimeoutMs), with room beside them for every authenticated peer.
    server.maxConnections = this.maxPendingHandshakes + MAX_AUTHENTICATED_PEERS;
    server.on('tlsClientError', (err, socket) => {
      this.refuse(`refused connection from ${socket.remoteAddress}:${socket.remotePort}: TLS handshake failed (${err.message})`);
    });
    return server;
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
    return { refused: this.refusedCount, malformed: this.malformedCount, misaddressed: this.misaddressedCount, silent: this.silentCount, peers };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const conn of this.inbound) conn.close();
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /**
   * Counts a refused connection and says why: at warn level at most once a second, so a flood of
   * bad connections cannot flood the log (the rest go to debug, and the next warning counts them).
   */
  private refuse(reason: string): void {
    this.refusedCount++;
    const now = Date.now();
    if (now - this.lastRefusalWarning < REFUSAL_WARNING_INTERVAL_MS) {
      this.refusalsNotWarned++;
      this.logger.debug(reason);
      return;
    }
    const more = this.refusalsNotWarned > 0 ? ` (and ${this.refusalsNotWarned} more refusals since the last warning)` : '';
    this.lastRefusalWarning = now;
    this.refusalsNotWarned = 0;
    this.logger.warn(reason + more);
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
    // Handshakes in progress are bounded: a flood of idle connections cannot exhaust descriptors.
    if (this.closed || (!this.tls && this.pendingHandshakes() >= this.maxPendingHandshakes)) {
      socket.destroy();
      return;
    }
    this.inbound.add(new InboundConnection(socket, this.inboundContext));
  }

  private pendingHandshakes(): number {
    return this.inbound.size - this.inboundByPeer.size;
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
