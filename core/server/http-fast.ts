// raftd's client port. The KV routes (GET, PUT, DELETE /v1/kv/<key>), nearly all of the traffic,
// are read and answered straight from the socket: node:http's per-request objects, events and
// header handling cost about a third of a leader's CPU per request. Any other request (another
// route or method, HTTP/1.0, chunked or doubtful framing, Expect, Upgrade, a huge head or body)
// hands its connection, from that request on and byte for byte, to the node:http server, which
// then keeps it. Requests on one connection are answered one at a time, in order.
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

const MAX_HEAD_BYTES = 16 * 1024;
const IDLE_TIMEOUT_MS = 60_000;
/** As node:http says it: clients then drop idle connections before we close them. */
const KEEP_ALIVE = `Connection: keep-alive\r\nKeep-Alive: timeout=${IDLE_TIMEOUT_MS / 1000}\r\n`;
const HEAD_END = Buffer.from('\r\n\r\n');
const REQUEST_LINE = /^(GET|PUT|DELETE) (\/v1\/kv\/[\x21-\x7e]*) HTTP\/1\.1$/;
const DIGITS = /^[0-9]{1,10}$/;

export class ClientServer {
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly fallback: HttpServer,
    private readonly kv: KvHandler,
    private readonly maxBodyBytes: number,
  ) {
    fallback.keepAliveTimeout = IDLE_TIMEOUT_MS;
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

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    new Connection(socket, this.kv, this.maxBodyBytes, (rest) => {
      this.sockets.delete(socket);
      // Paused, the unread bytes go back in front of the stream; on resume node:http's parser
      // takes them before anything new can arrive from the socket.
      if (rest) socket.unshift(rest);
      this.fallback.emit('connection', socket);
      socket.resume();
    });
  }
}

class Connection {
  /** Bytes received and not yet consumed. */
  private pending: Buffer | null = null;
  private busy = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  constructor(
    private readonly socket: net.Socket,
    private readonly kv: KvHandler,
    private readonly maxBodyBytes: number,
    private readonly handOver: (rest: Buffer | null) => void,
  ) {
    socket.on('data', this.onData);
    socket.on('error', () => socket.destroy());
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
    if (headEnd < 0) return hasBareLineFeed(data) ? this.giveUp() : undefined;
    const request = parseHead(data.toString('latin1', 0, headEnd), this.maxBodyBytes);
    if (!request) return this.giveUp();
    const bodyStart = headEnd + HEAD_END.length;
    const end = bodyStart + request.contentLength;
    if (data.length < end) return;
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

  private giveUp(): void {
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
