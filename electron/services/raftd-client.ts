// raftd's HTTP API as the console uses it. Failures become ApiErrors with raftd's own message;
// redirects to the leader are followed here so the cluster token is sent only to cluster members.
// A cluster with mutual TLS is spoken to over HTTPS with the console's client certificate, through
// node:https: fetch (undici) cannot present one without a dispatcher from a package we do not have.
import https from 'node:https';
import { Readable } from 'node:stream';
import type { TlsMaterial } from '../../core/security/tls.js';
import { ApiError } from '../shared/api.js';
import type { EntryDetail, EntryView, LogPage, StatusView } from '../../core/service/wire.js';
import type { ApiErrorShape } from '../shared/api.js';

export interface RaftdEvent {
  event: string;
  data: unknown;
}

const statusCodes: Record<number, ApiErrorShape['code']> = {
  400: 'invalid-input',
  401: 'refused',
  404: 'not-found',
  409: 'refused',
  413: 'invalid-input',
  503: 'unavailable',
  504: 'unavailable',
};

const MAX_REDIRECTS = 3;

export class RaftdClient {
  constructor(
    /** host:port of the node's client (HTTP) address. */
    readonly address: string,
    private readonly token?: string,
    private readonly timeoutMs = 3000,
    /** Where to send a request the node redirected to this client address (a forwarded port for remote nodes). */
    private readonly route: (address: string) => string = (address) => address,
    /** The console's client certificate and the cluster CA: the node must present a certificate from that CA too. */
    private readonly tls?: TlsMaterial,
  ) {}

  private get scheme(): 'http' | 'https' {
    return this.tls ? 'https' : 'http';
  }

  /** fetch, or its contract over node:https when the cluster uses TLS. */
  private send(url: string, init: { method: string; body?: string; headers: Record<string, string>; signal: AbortSignal }): Promise<Response> {
    if (!this.tls) return fetch(url, { ...init, redirect: 'manual' });
    const { cert, key, ca } = this.tls;
    return new Promise((resolve, reject) => {
      const req = https.request(url, { method: init.method, headers: init.headers, cert, key, ca, minVersion: 'TLSv1.3', signal: init.signal, agent: false }, (res) => {
        const status = res.statusCode ?? 502;
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        const nullBody = status === 204 || status === 205 || status === 304;
        if (nullBody) res.resume();
        resolve(new Response(nullBody ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), { status, headers }));
      });
      // As fetch: a timeout rejects with the signal's reason, a network error with its cause.
      req.on('error', (error) => reject(init.signal.aborted ? init.signal.reason : new TypeError('fetch failed', { cause: error })));
      req.end(init.body);
    });
  }

  status(timeoutMs?: number): Promise<StatusView> {
    return this.json('GET', '/v1/status', undefined, timeoutMs);
  }

  async log(from: number, limit: number): Promise<EntryView[]> {
    const body = await this.json<LogPage>('GET', `/v1/log?from=${from}&limit=${limit}`);
    return body.entries;
  }

  entry(index: number): Promise<EntryDetail> {
    return this.json('GET', `/v1/log/entry?index=${index}`);
  }

  async get(key: string, stale: boolean): Promise<string | null> {
    const res = await this.request('GET', `/v1/kv/${encodeURIComponent(key)}${stale ? '?stale=1' : ''}`, undefined, undefined, [404]);
    return res.status === 404 ? null : res.text();
  }

  async put(key: string, value: string): Promise<{ index: number; term: number }> {
    const res = await this.request('PUT', `/v1/kv/${encodeURIComponent(key)}`, value);
    return raftPosition(res);
  }

  async delete(key: string): Promise<{ index: number; term: number; succeeded: boolean }> {
    const res = await this.request('DELETE', `/v1/kv/${encodeURIComponent(key)}`);
    return { ...raftPosition(res), succeeded: res.headers.get('x-deleted') === 'true' };
  }

  cas(key: string, from: string | null, to: string): Promise<{ succeeded: boolean; index: number; term: number }> {
    return this.json('POST', `/v1/cas/${encodeURIComponent(key)}`, { from, to });
  }

  addMember(member: { id: string; peer: string; client: string; learner: boolean }): Promise<{ index: number }> {
    return this.json('POST', '/v1/members', member);
  }

  promote(id: string): Promise<{ index: number }> {
    return this.json('POST', `/v1/members/${encodeURIComponent(id)}/promote`, {});
  }

  removeMember(id: string): Promise<{ index: number }> {
    return this.json('DELETE', `/v1/members/${encodeURIComponent(id)}`);
  }

  joint(add: Array<{ id: string; peer: string; client: string }>, remove: string[]): Promise<{ index: number }> {
    return this.json('POST', '/v1/members/joint', { add, remove });
  }

  /** raftd answers once leadership moved (or fails after its own timeout). */
  transferLeader(to: string): Promise<{ leader: string; term: number }> {
    return this.json('POST', '/v1/leader/transfer', { to }, 10_000);
  }

  setDroppedPeers(drop: string[]): Promise<{ drop: string[] }> {
    return this.json('POST', '/v1/fault', { drop });
  }

  /** Follows GET /v1/events until stopped; onEnd reports why the stream ended (the caller reconnects). */
  events(onEvent: (event: RaftdEvent) => void, onEnd: (error: Error) => void): () => void {
    const abort = new AbortController();
    void (async () => {
      const res = await this.send(`${this.scheme}://${this.address}/v1/events`, { method: 'GET', signal: abort.signal, headers: this.headers() });
      if (!res.ok || !res.body) throw new Error(`events stream refused (HTTP ${res.status})`);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event = parseSseBlock(block);
          if (event) onEvent(event);
        }
      }
      throw new Error('events stream ended');
    })().catch((error: Error) => {
      if (!abort.signal.aborted) onEnd(error);
    });
    return () => abort.abort();
  }

  private headers(): Record<string, string> {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  private async json<T>(method: string, path: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : JSON.stringify(body), timeoutMs);
    return (await res.json()) as T;
  }

  private async request(method: string, path: string, body?: string, timeoutMs = this.timeoutMs, accept: number[] = []): Promise<Response> {
    let address = this.address;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      let res: Response;
      try {
        res = await this.send(`${this.scheme}://${address}${path}`, {
          method,
          body,
          headers: { ...this.headers(), ...(body !== undefined && { 'Content-Type': 'application/json' }) },
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new ApiError('unavailable', `${address} is not reachable (${reasonOf(error)})`);
      }
      if (res.status === 307) {
        await res.body?.cancel();
        // Only the leader's host:port counts: raftd names http even when it serves HTTPS, and this
        // client never changes scheme on a redirect (under TLS, never downgrades to plain HTTP).
        const location = new URL(res.headers.get('location') ?? '', `${this.scheme}://${address}`);
        address = this.route(location.host);
        continue;
      }
      if (res.ok || accept.includes(res.status)) return res;
      const text = await res.text();
      let message = text;
      try {
        message = (JSON.parse(text) as { error?: string }).error ?? text;
      } catch {
        // Not JSON: keep the text.
      }
      throw new ApiError(statusCodes[res.status] ?? 'internal', message || `HTTP ${res.status} from ${address}`);
    }
    throw new ApiError('unavailable', `too many redirects looking for the leader from ${this.address}`);
  }
}

function raftPosition(res: Response): { index: number; term: number } {
  return { index: Number(res.headers.get('x-raft-index') ?? 0), term: Number(res.headers.get('x-raft-term') ?? 0) };
}

export function parseSseBlock(block: string): RaftdEvent | null {
  let event = 'message';
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') event = value;
    else if (field === 'data') data.push(value);
  }
  if (data.length === 0) return null;
  try {
    return { event, data: JSON.parse(data.join('\n')) };
  } catch {
    return null;
  }
}

function reasonOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } }).cause;
  if (cause?.code) return cause.code;
  if ((error as Error).name === 'TimeoutError') return 'timed out';
  return (error as Error).message;
}
