// raftd's client port. The KV routes (GET, PUT, DELETE /v1/kv/<key>), nearly all of the traffic,
// are read and answered straight from the socket: node:http's per-request objects, events and
// header handling cost about a third of a leader's CPU per request. Any other request (another
// route or method, HTTP/1.0, chunked or doubtful framing, Expect, Upgrade, a huge head or body)
// hands its connection, from that request on and byte for byte, to the node:http server, which
// then keeps it. Requests on one connection are answered one at a time, in order.
import { readFileSync } from 'node:fs';
import { STATUS_CODES, type Server as HttpServer } from 'node:http';
import net from 'node:net';

/** A whole response. Bodies are bytes, or JSON text. */
export interface Reply {
  status: number;
  headers: Record<string, string>;
  body?: Uint8Array | string;
}

/** Answers one KV request: method, raw request target (path and query), body, Authorization header. */
export type KvHandler = (method: string, target: string, body: Buffer, authorization: string | undefined) => Promise<Reply>;

/** Bounds on what clients can hold: connections, and time to send a request. */
export interface ClientLimits {
  /** Open client connections at most (fast or handed over); more are closed as they arrive. */
  maxConnections: number;
  /** From the first byte of a request to the end of its head: a trickled head is cut off. */
  headTimeoutMs: number;
  /** From the first byte of a request to the end of its body. */
  requestTimeoutMs: number;
  /** Hears about refused connections, at most once per REFUSAL_REPORT_MS. */
  warn?: (message: string) => void;
}

export const DEFAULT_CLIENT_LIMITS: ClientLimits = { maxConnections: 4096, headTimeoutMs: 10_000, requestTimeoutMs: 60_000 };

/** Descriptors no client may take: WAL segments, snapshots, peers and their handshakes, logs. */
export const RESERVED_DESCRIPTORS = 256;

/** The process's limit on open files (Linux), or Infinity where it cannot be read. */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s+/)[3]);
    return Number.isSafeInteger(soft) && soft > 0 ? soft : Infinity;
  } catch {
    return Infinity;
  }
}

/**
 * How many client connections to allow: what was asked, but never so many that clients could take
 * the descriptors the WAL needs for its next segment (which would stop the node for good).
 */
export function clientConnectionCap(requested: number, fileLimit = openFileLimit()): number {
  const reserve = Math.min(RESERVED_DESCRIPTORS, Math.floor(fileLimit / 2));
  return Math.max(1, Math.min(requested, fileLimit - reserve));
}

const REFUSAL_REPORT_MS = 10_000;
const MAX_HEAD_BYTES = 16 * 1024;
const IDLE_TIMEOUT_MS = 60_000;
const REQUEST_TIMEOUT_RESPONSE = 'HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n';
/** As node:http says it: clients then drop idle connections before we close them. */
const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${IDLE_TIMEOUT_MS / 1000}\r\n`;
const HEAD_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^(GET|PUT|DELETE) (\/v1\/kv\/[\x21-\x7e]*) HTTP\/1\.1$/;
const DIGITS = /^[0-9]{1,10}$/;

export class ClientServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly limits: ClientLimits;
  /** Client connections open now, fast or handed over. */
  private open = 0;
  private refused = 0;
  private refusalReportedAt = 0;

  constructor(
    private readonly fallback: HttpServer,
    private readonly kv: KvHandler,
    private readonly maxBodyBytes: number,
    limits: Partial<ClientLimits> = {},
  ) {
    this.limits = { ...DEFAULT_CLIENT_LIMITS, ...limits };
    fallback.keepAliveTimeout = IDLE_TIMEOUT_MS;
    fallback.headersTimeout = this.limits.headTimeoutMs;
    fallback.requestTimeout = Math.max(this.limits.requestTimeoutMs, this.limits.headTimeoutMs);
    this.server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    // node:http starts tracking its connections (header and request timeouts) when it "listens".
    this.server.on('listening', () => fallback.emit('listening'));
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Stops accepting and closes every connection, fast or handed over. */
  close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.fallback.closeAllConnections();
    this.fallback.close(() => {}); // it never listened itself: this only stops its timers
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Connections open now and refused so far (over the cap). */
  connections(): { open: number; refused: number; max: number } {
    return { open: this.open, refused: this.refused, max: this.limits.maxConnections };
  }

  private accept(socket: net.Socket): void {
    if (this.open >= this.limits.maxConnections) return this.refuse(socket);
    this.open++;
    this.sockets.add(socket);
    socket.on('close', () => {
      this.open--;
      this.sockets.delete(socket);
    });
    new Connection(socket, this.kv, this.maxBodyBytes, this.limits, (rest) => {
      this.sockets.delete(socket);
      // Paused, the unread bytes go back in front of the stream; on resume node:http's parser
      // takes them before anything new can arrive from the socket.
      if (rest) socket.unshift(rest);
      this.fallback.emit('connection', socket);
      socket.resume();
    });
  }

  private refuse(socket: net.Socket): void {
    socket.on('error', () => {});
    socket.destroy();
    this.refused++;
    const now = Date.now();
    if (now - this.refusalReportedAt < REFUSAL_REPORT_MS) return;
    this.refusalReportedAt = now;
    this.limits.warn?.(`client connections at the cap (${this.limits.maxConnections}): refusing new ones (${this.refused} so far)`);
  }
}

class Connection {
  /** Bytes received and not yet consumed. */
  private pending: Buffer | null = null;
  private busy = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  /** Closes the connection if the request being received is not complete in time. */
  private deadline: NodeJS.Timeout | null = null;
  private deadlinePhase: 'head' | 'body' = 'head';
  private requestStartedAt = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly kv: KvHandler,
    private readonly maxBodyBytes: number,
    private readonly limits: ClientLimits,
    private readonly handOver: (rest: Buffer | null) => void,
  ) {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.clearDeadline());
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  }

  private receive(chunk: Buffer): void {
    this.pending = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.busy) this.next();
    // A client that sends without reading its answers waits at the socket, not in our memory.
    else if (this.pending.length > this.maxBodyBytes + MAX_HEAD_BYTES) this.socket.pause();
  }

  /** Parses and serves the next complete request, if there is one. */
  private next(): void {
    const data = this.pending;
    if (!data) return;
    const headEnd = data.indexOf(HEAD_END);
    if ((headEnd < 0 ? data.length : headEnd) > MAX_HEAD_BYTES) return this.giveUp();
    // Lines ended by a bare LF never make a CRLF CRLF: node:http refuses them at once.
    if (headEnd < 0) return hasBareLineFeed(data) ? this.giveUp() : this.awaitRest('head');
    const request = parseHead(data.toString('latin1', 0, headEnd), this.maxBodyBytes);
    if (!request) return this.giveUp();
    const bodyStart = headEnd + HEAD_END.length;
    const end = bodyStart + request.contentLength;
    if (data.length < end) return this.awaitRest('body');
    this.clearDeadline();
    const body = data.subarray(bodyStart, end);
    this.pending = data.length > end ? data.subarray(end) : null;
    this.busy = true;
    // Nothing a handler does may end the process: a rejection or a throw closes this connection.
    this.kv(request.method, request.target, body, request.authorization)
      .then((reply) => this.answer(reply))
      .catch(() => this.socket.destroy());
  }

  private answer(reply: Reply): void {
    const socket = this.socket;
    if (socket.destroyed) return;
    if (!validHeaders(reply.headers)) reply = INVALID_HEADER_REPLY;
    const length = reply.body === undefined ? 0 : typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
    let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? ''}\r\n`;
    for (const name in reply.headers) head += `${name}: ${reply.headers[name]}\r\n`;
    if (reply.status !== 204) head += `Content-Length: ${length}\r\n`;
    socket.cork();
    socket.write(head + KEEP_ALIVE + '\r\n', 'latin1');
    if (length > 0) socket.write(reply.body!);
    socket.uncork();
    this.busy = false;
    if (socket.isPaused()) socket.resume();
    this.next();
  }

  /**
   * The request is incomplete: it has until its head (or whole) deadline, counted from when it
   * began, not from its latest byte, so a request trickled a byte at a time is cut off.
   */
  private awaitRest(phase: 'head' | 'body'): void {
    if (this.deadline && this.deadlinePhase === phase) return;
    const now = Date.now();
    if (this.deadline) clearTimeout(this.deadline);
    else this.requestStartedAt = now;
    this.deadlinePhase = phase;
    const limit = phase === 'head' ? this.limits.headTimeoutMs : this.limits.requestTimeoutMs;
    this.deadline = setTimeout(() => {
      this.deadline = null;
      this.socket.off('data', this.onData);
      this.socket.end(REQUEST_TIMEOUT_RESPONSE, () => this.socket.destroy());
    }, Math.max(0, this.requestStartedAt + limit - now));
  }

  private clearDeadline(): void {
    if (!this.deadline) return;
    clearTimeout(this.deadline);
    this.deadline = null;
  }

  private giveUp(): void {
    this.clearDeadline();
    this.socket.off('data', this.onData);
    this.socket.setTimeout(0);
    this.socket.pause();
    this.handOver(this.pending);
  }
}

/** Header names are tokens; values hold no CR, LF or other control characters (as node:http checks). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

export function validHeaders(headers: Record<string, string>): boolean {
  for (const name in headers) if (!HEADER_NAME.test(name) || !HEADER_VALUE.test(headers[name])) return false;
  return true;
}

const INVALID_HEADER_REPLY: Reply = {
  status: 500,
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ error: 'internal error: a response header held characters a header cannot carry' }),
};

interface FastRequest {
  method: string;
  target: string;
  contentLength: number;
  authorization: string | undefined;
}

function hasBareLineFeed(data: Buffer): boolean {
  for (let i = data.indexOf(10); i >= 0; i = data.indexOf(10, i + 1)) if (i === 0 || data[i - 1] !== 13) return true;
  return false;
}

/** Optional whitespace around a header value, as HTTP defines it: spaces and tabs only. */
function trimOws(value: string): string {
  let start = 0;
  let end = value.length;
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++;
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--;
  return value.slice(start, end);
}

/**
 * The request if this path may serve it; null hands it to node:http, which serves or refuses it.
 * Whatever node:http would refuse (a name that is not a token, as in "Content-Length : 5"; a control
 * character or bare CR/LF in a value; a folded line; no Host) is handed over, never read more loosely.
 */
function parseHead(head: string, maxBodyBytes: number): FastRequest | null {
  const lines = head.split('\r\n');
  const line = REQUEST_LINE.exec(lines[0]);
  if (!line) return null;
  let contentLength = -1;
  let host = false;
  let authorization: string | undefined;
  for (let i = 1; i < lines.length; i++) {
    const header = lines[i];
    const colon = header.indexOf(':');
    if (colon <= 0) return null;
    const rawName = header.slice(0, colon);
    const rawValue = header.slice(colon + 1);
    if (!HEADER_NAME.test(rawName) || !HEADER_VALUE.test(rawValue)) return null;
    const name = rawName.toLowerCase();
    if (name === 'content-length') {
      const value = trimOws(rawValue);
      if (contentLength >= 0 || !DIGITS.test(value)) return null;
      contentLength = Number(value);
      if (contentLength > maxBodyBytes) return null;
    } else if (name === 'host') {
      host = true;
    } else if (name === 'authorization') {
      if (authorization !== undefined) return null;
      authorization = trimOws(rawValue);
    } else if (name === 'transfer-encoding' || name === 'expect' || name === 'upgrade') {
      return null;
    } else if (name === 'connection' && /close|upgrade/i.test(rawValue)) {
      return null;
    }
  }
  if (!host) return null; // HTTP/1.1 requires it; node:http answers 400
  return { method: line[1], target: line[2], contentLength: Math.max(contentLength, 0), authorization };
}
