// raftd's client API over HTTP/1.1. Every error is JSON {"error": "..."} with a fitting status;
// nothing a client sends can throw past the request handler.
import http from 'node:http';
import { timingSafeEqual, createHash } from 'node:crypto';
import * as z from '../validation.js';
import { ProposalRejected, type ConfChange, type NodeId } from '../raft/types.js';
import { RequestTimeoutError, NodeStoppedError, type RaftNode, type RaftNodeEvent } from '../node/raft-node.js';
import type { KvCommand, KvResult } from '../kv/kv-store.js';
import { systemClock } from '../clock.js';
import { RaftdService, ServiceError } from '../service/raftd-service.js';
import type { RaftdStateMachine } from '../service/state-machine.js';
import { ClientServer, DEFAULT_CLIENT_LIMITS, type ClientLimits, type Reply } from './http-fast.js';
import { hostPortString, isHostPort } from '../net/address.js';

// The KV limits are shared with the console's API and its KV form.
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from '../kv/limits.js';
export { MAX_KEY_BYTES, MAX_VALUE_BYTES };

export interface DaemonContext {
  node: RaftNode;
  stateMachine: RaftdStateMachine;
  token?: string;
  /** Drop peer traffic to and from these nodes (demo partitions). */
  setDroppedPeers(peers: NodeId[]): void;
  droppedPeers(): NodeId[];
  snapshotNow(): Promise<number>;
  /** Counters for benchmarks and the console: WAL syncs and records, memory. */
  metrics(): Record<string, number>;
  logger: { info(o: object, msg: string): void; warn(o: object, msg: string): void };
  /** Connection cap and request deadlines of the client port; defaults: DEFAULT_CLIENT_LIMITS. */
  clientLimits?: Partial<ClientLimits>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

const memberBody = z.object({
  id: z.string().check(z.regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, _ . - only, 1-64 of them')),
  peer: hostPortString,
  client: hostPortString,
  learner: z.optional(z.boolean()),
});
const jointBody = z.object({
  add: z._default(z.array(z.omit(memberBody, { learner: true })), []),
  remove: z._default(z.array(z.string()), []),
});
const casBody = z.object({ from: z.nullable(z.string()), to: z.string() });
const transferBody = z.object({ to: z.string().check(z.minLength(1)) });
const faultBody = z.object({ drop: z.array(z.string()) });

function parseJson<S extends z.ZodMiniType>(schema: S, body: Buffer): z.output<S> {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new HttpError(400, `${issue.path.join('.') || 'body'}: ${issue.message}`);
  }
  return result.data;
}

export function createHttpApi(ctx: DaemonContext): ClientServer {
  const { node, stateMachine } = ctx;
  const tokenDigest = ctx.token ? createHash('sha256').update(ctx.token).digest() : null;

  /** With a token set, every route but /health needs it: the data is as private as the admin routes. */
  function requireToken(authorization: string | undefined): void {
    if (!tokenDigest) return;
    const header = authorization ?? '';
    const given = header.startsWith('Bearer ') ? header.slice(7) : '';
    const digest = createHash('sha256').update(given).digest();
    if (!timingSafeEqual(digest, tokenDigest)) {
      throw new HttpError(401, 'this node needs the cluster token (Authorization: Bearer <token>)', { 'WWW-Authenticate': 'Bearer realm="raftd"' });
    }
  }

  /** Writes and linearizable reads go to the leader: 307 there (same target), or 503 while there is none. */
  function requireLeader(target: string): void {
    if (node.currentRole === 'leader') return;
    const leaderId = node.currentLeader;
    const leader = leaderId ? stateMachine.members()[leaderId] : undefined;
    if (!leader) throw new HttpError(503, 'no leader is known right now; retry shortly', { 'Retry-After': '1' });
    // Committed before addresses were checked: never copied into a header.
    if (!isHostPort(leader.client)) throw new HttpError(503, `the leader ${leaderId} has no usable client address; ask it directly`, { 'Retry-After': '1' });
    throw new HttpError(307, `not the leader; the leader is ${leaderId}`, { Location: `http://${leader.client}${target}` });
  }

  // The operations themselves live in core/service; this file frames them as HTTP.
  const service = new RaftdService(node, stateMachine, systemClock, () => ctx.droppedPeers());
  const propose = (command: KvCommand): Promise<{ index: number; term: number; result: KvResult }> => service.propose(command);
  const membersView = () => service.members();
  const statusView = () => service.status();

  function keyOf(path: string, prefix: string): string {
    const key = decodeSegment(path.slice(prefix.length), 'key');
    if (key.length === 0) throw new HttpError(400, 'key is empty');
    if (Buffer.byteLength(key) > MAX_KEY_BYTES) throw new HttpError(413, `key is longer than ${MAX_KEY_BYTES} bytes`);
    return key;
  }

  /** /v1/kv/<key>, served by both servers: the raw request target (path and query) in, the reply out. */
  async function kv(method: string, target: string, body: Buffer): Promise<Reply> {
    const query = target.indexOf('?');
    const key = keyOf(query < 0 ? target : target.slice(0, query), '/v1/kv/');
    if (method === 'GET') {
      const stale = query >= 0 && new URLSearchParams(target.slice(query + 1)).get('stale') === '1';
      if (!stale) requireLeader(target);
      const value = await service.read(key, stale);
      if (value === undefined) return jsonReply(404, { error: `key "${key}" not found` });
      return { status: 200, headers: { 'Content-Type': 'application/octet-stream' }, body: value };
    }
    if (method === 'PUT') {
      requireLeader(target);
      const out = await propose({ op: 'put', key, value: body });
      return { status: 204, headers: { 'X-Raft-Index': String(out.index), 'X-Raft-Term': String(out.term), 'X-Revision': String(out.result.revision) } };
    }
    if (method === 'DELETE') {
      requireLeader(target);
      const out = await propose({ op: 'del', key });
      return { status: 204, headers: { 'X-Raft-Index': String(out.index), 'X-Raft-Term': String(out.term), 'X-Deleted': String(out.result.succeeded) } };
    }
    throw new HttpError(405, `${method} is not supported on /v1/kv/<key>`);
  }

  async function route(req: http.IncomingMessage, res: http.ServerResponse, body: Buffer): Promise<void> {
    const target = req.url ?? '/';
    const method = req.method ?? 'GET';
    // The raw path, not a URL resolved against a base: "//x" or "/a/../b" name no other route.
    const queryAt = target.indexOf('?');
    const path = queryAt < 0 ? target : target.slice(0, queryAt);
    const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));

    if (path === '/health' && method === 'GET') {
      const failure = node.failure;
      if (failure) return sendJson(res, 503, { ok: false, id: node.id, error: stoppedMessage(failure) });
      return sendJson(res, 200, { ok: true, id: node.id });
    }
    requireToken(req.headers.authorization);
    if (target.startsWith('/v1/kv/')) return writeReply(res, await kv(method, target, body));

    if (path.startsWith('/v1/cas/') && method === 'POST') {
      const key = keyOf(path, '/v1/cas/');
      const { from, to } = parseJson(casBody, body);
      requireLeader(target);
      const out = await propose({ op: 'cas', key, from: from === null ? null : Buffer.from(from), to: Buffer.from(to) });
      sendJson(res, 200, { succeeded: out.result.succeeded, index: out.index, term: out.term }, { 'X-Raft-Index': String(out.index), 'X-Raft-Term': String(out.term) });
      return;
    }

    if (path === '/v1/status' && method === 'GET') {
      const failure = node.failure;
      if (failure) return sendJson(res, 503, { ...statusView(), failure: failure.message, error: stoppedMessage(failure) });
      return sendJson(res, 200, statusView());
    }

    if (path === '/v1/log' && method === 'GET') {
      const from = query.has('from') ? intParam(query, 'from', 0) : undefined;
      const limit = Math.min(intParam(query, 'limit', 100), 5000);
      return sendJson(res, 200, service.log(from, limit));
    }

    if (path === '/v1/log/entry' && method === 'GET') {
      return sendJson(res, 200, service.entry(intParam(query, 'index', 0)));
    }

    if (path === '/v1/members' && method === 'GET') return sendJson(res, 200, membersView());

    if (path === '/v1/members' && method === 'POST') {
      const m = parseJson(memberBody, body);
      requireLeader(target);
      const out = await service.addMember(m, m.learner ?? false);
      return sendJson(res, 200, { ...out, members: membersView() });
    }

    const promote = /^\/v1\/members\/([^/]+)\/promote$/.exec(path);
    if (promote && method === 'POST') {
      requireLeader(target);
      const out = await service.promote(decodeSegment(promote[1], 'member id'));
      return sendJson(res, 200, { ...out, members: membersView() });
    }

    if (path === '/v1/members/joint' && method === 'POST') {
      const j = parseJson(jointBody, body);
      requireLeader(target);
      const out = await service.joint(j.add, j.remove);
      return sendJson(res, 200, { ...out, members: membersView() });
    }

    const member = /^\/v1\/members\/([^/]+)$/.exec(path);
    if (member && method === 'DELETE') {
      requireLeader(target);
      const out = await service.removeMember(decodeSegment(member[1], 'member id'));
      return sendJson(res, 200, { ...out, members: membersView() });
    }

    if (path === '/v1/leader/transfer' && method === 'POST') {
      const { to } = parseJson(transferBody, body);
      requireLeader(target);
      return sendJson(res, 200, await service.transferLeader(to));
    }

    if (path === '/v1/fault' && method === 'POST') {
      const { drop } = parseJson(faultBody, body);
      ctx.setDroppedPeers(drop);
      ctx.logger.warn({ drop }, drop.length ? 'fault injection: dropping peer traffic' : 'fault injection cleared');
      return sendJson(res, 200, { drop: ctx.droppedPeers() });
    }

    if (path === '/v1/snapshot' && method === 'POST') {
      const index = await ctx.snapshotNow();
      return sendJson(res, 200, { index });
    }

    if (path === '/v1/events' && method === 'GET') return streamEvents(res);

    if (path === '/v1/metrics' && method === 'GET') return sendJson(res, 200, ctx.metrics());

    throw new HttpError(404, `no route for ${method} ${path}`);
  }

  function streamEvents(res: http.ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', Connection: 'keep-alive' });
    // Called from the node's event loop too: a failure here closes this stream, nothing else.
    const write = (text: string) => {
      try {
        res.write(text);
      } catch {
        res.destroy();
      }
    };
    const send = (event: string, data: unknown) => write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    send('status', statusView());
    // Commit events are coalesced: a busy node commits thousands of times a second.
    let commitTimer: NodeJS.Timeout | null = null;
    const off = node.on((e: RaftNodeEvent) => {
      if (e.type === 'commit') {
        if (!commitTimer)
          commitTimer = setTimeout(() => {
            commitTimer = null;
            const s = node.status();
            send('commit', { commitIndex: s.commitIndex, appliedIndex: s.appliedIndex, lastIndex: s.lastIndex });
          }, 100);
        return;
      }
      if (e.type === 'role') send('role', { role: e.role, term: e.term, leader: e.leader });
      else if (e.type === 'membership') send('membership', { index: e.index, ...membersView() });
      else if (e.type === 'snapshot') send('snapshot', { index: e.index });
      else if (e.type === 'error') send('error', { message: e.error.message });
    });
    const keepAlive = setInterval(() => write(': keep-alive\n\n'), 15_000);
    // res, not req: a request's 'close' fires as soon as its (empty) body has been read.
    res.on('close', () => {
      off();
      clearInterval(keepAlive);
      if (commitTimer) clearTimeout(commitTimer);
    });
  }

  const limits = { ...DEFAULT_CLIENT_LIMITS, ...ctx.clientLimits };
  // Its head and request deadlines are checked this often (default 30 s).
  const fallback = http.createServer({ connectionsCheckingInterval: Math.min(limits.headTimeoutMs, 30_000) }, (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_VALUE_BYTES) {
        tooLarge = true;
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      if (tooLarge) return sendError(res, new HttpError(413, `body is larger than ${MAX_VALUE_BYTES} bytes`));
      route(req, res, Buffer.concat(chunks)).catch((error) => sendError(res, error));
    });
  });
  return new ClientServer(
    fallback,
    (method, target, body, authorization) => {
      try {
        requireToken(authorization);
      } catch (error) {
        return Promise.resolve(errorReply(error));
      }
      return kv(method, target, body).catch(errorReply);
    },
    MAX_VALUE_BYTES,
    limits,
  );
}

const serviceStatus: Record<ServiceError['kind'], number> = { invalid: 400, 'not-found': 404, timeout: 504 };

function stoppedMessage(failure: Error): string {
  return `node stopped after a storage failure: ${failure.message}; fix the cause and restart it`;
}

function decodeSegment(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new HttpError(400, `${what} is not valid percent-encoding`);
  }
}

function intParam(query: URLSearchParams, name: string, fallback: number): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new HttpError(400, `${name} must be a non-negative integer`);
  return value;
}

function jsonReply(status: number, body: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

function errorReply(error: unknown): Reply {
  if (error instanceof HttpError) return jsonReply(error.status, { error: error.message }, error.headers);
  if (error instanceof ServiceError) return jsonReply(serviceStatus[error.kind], { error: error.message });
  if (error instanceof ProposalRejected) return jsonReply(409, { error: error.reason });
  if (error instanceof RequestTimeoutError) return jsonReply(504, { error: error.message });
  if (error instanceof NodeStoppedError) return jsonReply(503, { error: error.message }, { 'Retry-After': '1' });
  return jsonReply(500, { error: (error as Error)?.message ?? String(error) });
}

function writeReply(res: http.ServerResponse, reply: Reply): void {
  const length = reply.body === undefined ? 0 : typeof reply.body === 'string' ? Buffer.byteLength(reply.body) : reply.body.length;
  res.writeHead(reply.status, reply.status === 204 ? reply.headers : { ...reply.headers, 'Content-Length': String(length) });
  res.end(reply.body);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  writeReply(res, jsonReply(status, body, headers));
}

/** Never throws: whatever went wrong in a handler ends this request, not the process. */
function sendError(res: http.ServerResponse, error: unknown): void {
  try {
    if (!res.headersSent) return writeReply(res, errorReply(error));
  } catch {
    // writeHead refused a header value: say so without it.
    try {
      if (!res.headersSent) return writeReply(res, jsonReply(500, { error: 'internal error: a response header held characters a header cannot carry' }));
    } catch {
      // fall through to closing the connection
    }
  }
  res.destroy();
}
