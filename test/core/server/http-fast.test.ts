// The client port's fast KV path, over raw sockets: pipelined requests answered in order, bodies
// in pieces, and every request it does not take handed to node:http byte for byte.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import fc from 'fast-check';
import { ClientServer, clientConnectionCap, type ClientLimits, type Reply } from '../../../core/server/http-fast.js';

let server: ClientServer;
let port: number;
const seen: string[] = [];

beforeEach(async () => {
  seen.length = 0;
  const fallback = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push(`node ${req.method} ${req.url} ${Buffer.concat(chunks).toString()}`);
      const text = `node:${req.method} ${req.url}`;
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server = new ClientServer(
    fallback,
    async (method, target, body, authorization): Promise<Reply> => {
      seen.push(`fast ${method} ${target} ${body.toString()}`);
      if (target.endsWith('/auth')) return { status: 200, headers: { 'X-Authorization': authorization ?? '(none)' } };
      if (method === 'PUT') return { status: 204, headers: { 'X-Echo': String(body.length) } };
      if (target.endsWith('/throws')) throw new Error('handler bug');
      if (target.endsWith('/crlf')) return { status: 307, headers: { Location: 'http://h:1\r\nX-Injected: 1' } };
      await new Promise((r) => setTimeout(r, target.endsWith('slow') ? 20 : 0));
      return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from(`value of ${target}`) };
    },
    1024,
  );
  port = await freePort();
  await server.listen(port, '127.0.0.1');
});
afterEach(() => server.close());

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = s.address() as net.AddressInfo;
      s.close(() => resolve(p));
    });
  });
}

interface Response {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends the pieces (one write each, 5 ms apart) and reads `count` responses. */
async function exchange(pieces: string[], count: number): Promise<Response[]> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let data = Buffer.alloc(0);
  const responses: Response[] = [];
  const done = new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('close', () => resolve());
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      for (;;) {
        const end = data.indexOf('\r\n\r\n');
        if (end < 0) break;
        const [statusLine, ...lines] = data.subarray(0, end).toString('latin1').split('\r\n');
        const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        const length = Number(headers['content-length'] ?? 0);
        if (data.length < end + 4 + length) break;
        responses.push({ status: Number(statusLine.split(' ')[1]), headers, body: data.subarray(end + 4, end + 4 + length).toString() });
        data = data.subarray(end + 4 + length);
      }
      if (responses.length >= count) resolve();
    });
  });
  for (const piece of pieces) {
    socket.write(Buffer.from(piece, 'latin1'));
    await new Promise((r) => setTimeout(r, 5));
  }
  await done;
  socket.destroy();
  return responses;
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
const put = (path: string, body: string) => `PUT ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;

describe('client server fast path', () => {
  it('answers pipelined KV requests in order, whatever their timing, with bodies in pieces', async () => {
    const body = 'x'.repeat(300);
    const request = put('/v1/kv/a', body);
    const res = await exchange([get('/v1/kv/slow') + request.slice(0, 50), request.slice(50, 120), request.slice(120) + get('/v1/kv/b?stale=1')], 3);
    expect(res.map((r) => r.status)).toEqual([200, 204, 200]);
    expect(res[0].body).toBe('value of /v1/kv/slow');
    expect(res[1].headers['x-echo']).toBe('300');
    expect(res[1].headers['content-length']).toBeUndefined();
    expect(res[1].headers['keep-alive']).toBe('timeout=60');
    expect(res[2].body).toBe('value of /v1/kv/b?stale=1');
    expect(seen).toEqual(['fast GET /v1/kv/slow ', `fast PUT /v1/kv/a ${body}`, 'fast GET /v1/kv/b?stale=1 ']);
  });

  it('hands the connection to node:http at the first request it does not take, with everything after it', async () => {
    const res = await exchange([get('/v1/kv/a') + get('/v1/status') + put('/v1/kv/b', 'late')], 3);
    expect(res.map((r) => r.body)).toEqual(['value of /v1/kv/a', 'node:GET /v1/status', 'node:PUT /v1/kv/b']);
    expect(seen).toEqual(['fast GET /v1/kv/a ', 'node GET /v1/status ', 'node PUT /v1/kv/b late']);
  });

  it('leaves unusual framing and protocol versions to node:http', async () => {
    const cases = [
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
      'GET /v1/kv/c HTTP/1.0\r\nHost: x\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'POST /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n',
      `PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n${'y'.repeat(2000)}`,
    ];
    for (const request of cases) {
      seen.length = 0;
      const [res] = await exchange([request], 1);
      expect(seen.filter((line) => line.startsWith('fast')), request).toEqual([]);
      // node:http serves it, or refuses it as malformed (a doubled Content-Length).
      if (res.status === 200) expect(res.body, request).toMatch(/^node:/);
      else expect(res.status, request).toBe(400);
    }
  });

  it('parses as strictly as node:http: whatever it refuses is handed to it, never read more loosely', async () => {
    const refused = [
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello',
      'GET /v1/kv/c HTTP/1.1\nHost: x\n\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\nX-A: b\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\rX-A: b\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\r\n X-A: folded\r\n\r\n',
      'GET /v1/kv/c HTTP/1.1\r\nHost: x\r\n: empty\r\n\r\n',
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello',
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello',
      'PUT /v1/kv/c HTTP/1.1\r\nHost: x\r\nContent-Length: 5\xa0\r\n\r\nhello',
    ];
    for (const request of refused) {
      seen.length = 0;
      const [res] = await exchange([request], 1);
      expect(seen, JSON.stringify(request)).toEqual([]);
      expect(res?.status, JSON.stringify(request)).toBe(400);
    }
    // What node:http takes, the fast path takes too; a doubled Authorization goes to node:http.
    const [tab] = await exchange(['GET /v1/kv/auth HTTP/1.1\r\nHost: x\r\nAuthorization: \tBearer s \r\nX-A: a\tb\xe9\r\n\r\n'], 1);
    expect(tab.headers['x-authorization']).toBe('Bearer s');
    seen.length = 0;
    await exchange(['GET /v1/kv/auth HTTP/1.1\r\nHost: x\r\nAuthorization: a\r\nAuthorization: b\r\n\r\n'], 1);
    expect(seen).toEqual(['node GET /v1/kv/auth ']);
  });

  it('hands over a head larger than 16 KiB (node:http refuses it)', async () => {
    const [res] = await exchange([`GET /v1/kv/d HTTP/1.1\r\nHost: x\r\nX-Big: ${'z'.repeat(20_000)}\r\n\r\n`], 1);
    expect(res.status).toBe(431);
    expect(seen).toEqual([]);
  });

  it('answers 500 rather than send a header holding CR/LF, and a handler that throws closes only its connection', async () => {
    const [res] = await exchange([get('/v1/kv/crlf')], 1);
    expect(res.status).toBe(500);
    expect(res.headers['x-injected']).toBeUndefined();
    expect(res.headers.location).toBeUndefined();
    expect(await exchange([get('/v1/kv/throws')], 1)).toEqual([]);
    expect((await exchange([get('/v1/kv/k')], 1))[0].status).toBe(200);
  });

  it('survives whatever bytes a client sends and keeps serving others', async () => {
    const valid = 'GET /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n';
    const pieces = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
      fc.constantFrom(
        'PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n',
        'PUT /v1/kv/a HTTP/1.1\r\nContent-Length: -1\r\n\r\n',
        'PUT /v1/kv/a HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
        'GET /v1/kv/%ZZ HTTP/1.1\r\n\r\n',
        'GET /v1/kv/ HTTP/1.1\r\n\r\n',
        'GET  HTTP/1.1\r\n\r\n',
        '\r\n\r\n\r\n',
        'PUT /v1/kv/a HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
        valid.slice(0, 17),
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(pieces, { minLength: 1, maxLength: 4 }), async (chunks) => {
        const socket = net.connect(port, '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((r) => socket.once('connect', r));
        for (const chunk of chunks) socket.write(Buffer.from(chunk, 'latin1'));
        await new Promise((r) => setTimeout(r, 5));
        socket.destroy();
      }),
      { numRuns: 150 },
    );
    const [response] = await exchange([valid], 1);
    expect(response.status).toBe(200);
    expect(response.body).toBe('value of /v1/kv/k');
  });
});

describe('client server limits', () => {
  let limited: ClientServer;
  let limitedPort: number;
  const warnings: string[] = [];

  async function start(limits: Partial<ClientLimits>): Promise<void> {
    const fallback = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => res.end('node'));
    });
    limited = new ClientServer(fallback, async () => ({ status: 200, headers: {}, body: 'fast' }), 1024, { ...limits, warn: (m) => warnings.push(m) });
    limitedPort = await freePort();
    await limited.listen(limitedPort, '127.0.0.1');
  }
  afterEach(() => limited?.close());

  function connect(): Promise<net.Socket> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(limitedPort, '127.0.0.1', () => resolve(socket));
      socket.once('error', reject);
    });
  }

  /** Sends `text` a byte at a time, `gapMs` apart, for at most `maxBytes`; resolves with what came back once the server closes. */
  async function trickle(text: string, gapMs: number, maxBytes: number): Promise<{ closed: boolean; sent: number; reply: string }> {
    const socket = await connect();
    let closed = false;
    let reply = '';
    socket.on('data', (d: Buffer) => (reply += d.toString('latin1')));
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    let sent = 0;
    for (; sent < Math.min(maxBytes, text.length) && !closed; sent++) {
      socket.write(text[sent]);
      await new Promise((r) => setTimeout(r, gapMs));
    }
    socket.destroy();
    return { closed, sent, reply };
  }

  it('closes a request whose head is trickled in, however often its bytes come (408)', async () => {
    await start({ headTimeoutMs: 300, requestTimeoutMs: 1000 });
    const head = `GET /v1/kv/k HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(200)}\r\n\r\n`;
    // One byte every 20 ms: the idle timeout never fires, the request deadline does.
    const result = await trickle(head, 20, head.length);
    expect(result.closed).toBe(true);
    expect(result.sent).toBeLessThan(head.length);
    expect(result.reply).toMatch(/^HTTP\/1\.1 408 /);
  });

  it('closes a request whose body is trickled in past the request deadline', async () => {
    await start({ headTimeoutMs: 200, requestTimeoutMs: 400 });
    const body = 'b'.repeat(500);
    const request = `PUT /v1/kv/k HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\n\r\n`;
    const socket = await connect();
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => {});
    socket.write(request);
    for (let i = 0; i < body.length && !closed; i++) {
      socket.write('b');
      await new Promise((r) => setTimeout(r, 20));
    }
    socket.destroy();
    expect(closed).toBe(true);
  });

  it('caps open connections: more are closed at once, and a slot frees when one closes', async () => {
    await start({ maxConnections: 3 });
    const held = [await connect(), await connect(), await connect()];
    const extra = await connect();
    const extraClosed = new Promise<void>((resolve) => extra.on('close', () => resolve()));
    extra.on('error', () => {});
    extra.write('GET /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n');
    await extraClosed;
    expect(limited.connections()).toMatchObject({ open: 3, refused: 1, max: 3 });
    expect(warnings.at(-1)).toMatch(/client connections at the cap \(3\)/);

    // The held ones are served; once one closes, a new connection is too.
    const first = held[0];
    const answered = new Promise<string>((resolve) => first.once('data', (d: Buffer) => resolve(d.toString())));
    first.write('GET /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await answered).toMatch(/^HTTP\/1\.1 200 /);
    held[1].destroy();
    await vi.waitFor(() => expect(limited.connections().open).toBe(2));
    const next = await connect();
    const nextAnswered = new Promise<string>((resolve) => next.once('data', (d: Buffer) => resolve(d.toString())));
    next.write('GET /v1/kv/k HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await nextAnswered).toMatch(/^HTTP\/1\.1 200 /);
    for (const socket of [...held, next]) socket.destroy();
  });

  it('leaves descriptors for the WAL whatever cap is asked for', () => {
    expect(clientConnectionCap(4096, 1_048_576)).toBe(4096);
    expect(clientConnectionCap(4096, 1024)).toBe(1024 - 256);
    expect(clientConnectionCap(4096, 200)).toBe(100);
    expect(clientConnectionCap(10, 1024)).toBe(10);
    expect(clientConnectionCap(4096, Infinity)).toBe(4096);
  });
});
