// Web mode: the built renderer over HTTP and the console API over a WebSocket, on loopback only.
// A random session token in the page URL is required on the WebSocket upgrade; Host and Origin are
// checked too, so neither another site in the browser nor a DNS-rebinding page can drive the console.
import { timingSafeEqual, randomBytes, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ConsoleService } from '../services/console-service.js';
import { contentSecurityPolicy, contentTypeOf, fileInside, fileOrAppShell } from './static-content.js';
import { MAX_REQUEST_FRAME_BYTES, parseRpcRequest, toErrorShape, TOKEN_PARAM, WS_PATH, type RpcResponse } from '../shared/ws-protocol.js';

export interface WebServerOptions {
  service: ConsoleService;
  /** The built renderer (out/renderer); without it only the API is served. */
  staticDir?: string;
  /** A loopback address; anything else is refused. */
  host?: string;
  port?: number;
  token?: string;
}

export interface WebServer {
  /** The page to open, token included. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export function isLoopbackHost(host: string): boolean {
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) throw new Error(`web mode listens on loopback only, not ${host}`);
  const token = options.token ?? randomBytes(24).toString('base64url');
  const tokenDigest = digest(token);
  let port = 0;
  const allowedHosts = () => new Set([`${host}:${port}`, `localhost:${port}`]);

  const server = createServer((req, res) => {
    if (!allowedHosts().has(req.headers.host ?? '')) return plain(res, 421, 'unexpected Host header');
    void serveStatic(options.staticDir, req, res, port).catch(() => plain(res, 500, 'could not read the file'));
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_REQUEST_FRAME_BYTES });

  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'http://console');
    const origin = req.headers.origin;
    const refuse = (status: number, reason: string) => {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (url.pathname !== WS_PATH) return refuse(404, 'Not Found');
    if (!allowedHosts().has(req.headers.host ?? '')) return refuse(421, 'Misdirected Request');
    if (origin && !allowedHosts().has(origin.replace(/^https?:\/\//, ''))) return refuse(403, 'Forbidden');
    if (!timingSafeEqual(digest(url.searchParams.get(TOKEN_PARAM) ?? ''), tokenDigest)) return refuse(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(options.service, ws));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  port = (server.address() as { port: number }).port;
  return {
    url: `http://${host}:${port}/?${TOKEN_PARAM}=${token}`,
    port,
    token,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function serveSocket(service: ConsoleService, ws: WebSocket): void {
  const session = service.openSession((event, payload) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ event, payload }));
  });
  const reply = (response: RpcResponse) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(response));
  };
  ws.on('message', (data) => {
    let request;
    try {
      request = parseRpcRequest(data.toString());
    } catch (error) {
      // No usable id: answer on id 0 so the client can show what was wrong.
      return reply({ id: 0, error: { code: 'invalid-input', message: (error as Error).message } });
    }
    const { id } = request;
    session.invoke(request.method, request.params).then(
      (result) => reply({ id, result: result ?? null }),
      (error) => reply({ id, error: toErrorShape(error) }),
    );
  });
  ws.on('close', () => session.close());
  ws.on('error', () => ws.terminate());
}

async function serveStatic(root: string | undefined, req: IncomingMessage, res: ServerResponse, port: number): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed');
  if (!root) return plain(res, 404, 'the renderer is not built; run `npm run build`');
  const requested = fileInside(root, new URL(req.url ?? '/', 'http://console').pathname);
  if (!requested) return plain(res, 403, 'forbidden');
  const found = await fileOrAppShell(root, requested);
  if (!found) return plain(res, 404, 'the renderer is not built; run `npm run build`');
  res.writeHead(200, {
    'Content-Type': contentTypeOf(found.file),
    'Content-Length': found.size,
    'Content-Security-Policy': contentSecurityPolicy([`ws://127.0.0.1:${port}`, `ws://localhost:${port}`]),
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  createReadStream(found.file).pipe(res);
}

function plain(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
