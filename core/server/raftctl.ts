// raftctl: a command line client for raftd's HTTP API. Exit codes: 0 ok, 1 request failed,
// 2 usage error, 3 key not found / cas not applied.
import https from 'node:https';
import { parseArgs } from 'node:util';
import { addressProblem } from '../net/address.js';
import { loadTlsFiles, type TlsMaterial } from '../security/tls.js';
import { resolveToken } from '../security/token.js';

export const HELP = `raftctl: talk to a raftd cluster

Usage: raftctl [--endpoints host:port,...] [--token-file PATH] [--tls-cert PATH --tls-key PATH --tls-ca PATH]
               [--json] <command> [args]

Commands:
  status                         status of every endpoint
  get KEY [--stale]              print a value (linearizable unless --stale)
  put KEY VALUE                  write a value
  del KEY                        delete a key
  cas KEY FROM|--absent TO       compare-and-swap
  members list                   voters, learners and addresses
  members add ID PEER CLIENT [--learner]
  members promote ID             learner → voter
  members remove ID
  transfer-leader ID             hand leadership to ID
  snapshot                       snapshot and compact the log of the first endpoint

Options:
  --endpoints LIST               host:port of raftd client ports (default $RAFTCTL_ENDPOINTS or 127.0.0.1:8001)
  --token-file PATH              the cluster token, from a file (else $RAFTD_TOKEN)
  --token SECRET                 the same on the command line (visible in \`ps\`: prefer the two above)
  --tls-cert, --tls-key, --tls-ca PATH
                                 HTTPS with this client certificate and key, trusting the cluster CA
                                 (for a raftd started with --tls-*)
  --json                         machine-readable output

Requests follow redirects to the leader.`;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

interface Ctx {
  endpoints: string[];
  token?: string;
  /** HTTPS with a client certificate, when raftd runs with mutual TLS. */
  tls?: TlsMaterial;
  json: boolean;
  out: (line: string) => void;
}

type Body = { json: unknown } | { raw: string };

async function call(ctx: Ctx, method: string, path: string, body?: Body, endpoint?: string): Promise<Response> {
  const targets = endpoint ? [endpoint] : ctx.endpoints;
  let lastError: unknown;
  for (const target of targets) {
    try {
      const headers: Record<string, string> = {};
      if (ctx.token) headers.Authorization = `Bearer ${ctx.token}`;
      if (body && 'json' in body) headers['Content-Type'] = 'application/json';
      const payload = body === undefined ? undefined : 'json' in body ? JSON.stringify(body.json) : body.raw;
      const res = await fetchFollowingLeader(ctx, `${ctx.tls ? 'https' : 'http'}://${target}${path}`, { method, body: payload, headers, signal: AbortSignal.timeout(10_000) });
      if (res.status === 503 && targets.length > 1) {
        lastError = new CliError(await errorText(res));
        continue;
      }
      return res;
    } catch (error) {
      lastError = error;
    }
  }
  if (lastError instanceof CliError) throw lastError;
  throw new CliError(`no endpoint answered (${targets.join(', ')}): ${(lastError as Error)?.message ?? 'unknown error'}`);
}

const MAX_REDIRECTS = 3;

/** Follows raftd's redirects to the leader itself: fetch drops Authorization on a redirect to another port. */
async function fetchFollowingLeader(ctx: Ctx, url: string, init: RequestInit): Promise<Response> {
  for (let hop = 0; ; hop++) {
    const res = ctx.tls ? await httpsFetch(url, init, ctx.tls) : await fetch(url, { ...init, redirect: 'manual' });
    const location = res.headers.get('location');
    if ((res.status !== 307 && res.status !== 308) || !location || hop === MAX_REDIRECTS) return res;
    await res.body?.cancel();
    const next = new URL(location, url);
    // Under TLS every member serves HTTPS, whatever scheme the redirect names.
    if (ctx.tls) next.protocol = 'https:';
    url = next.href;
  }
}

/** fetch's contract over node:https, which (unlike fetch) can present a client certificate. */
function httpsFetch(url: string, init: RequestInit, tls: TlsMaterial): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: init.method, headers: init.headers as Record<string, string>, ...tls, signal: init.signal ?? undefined, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const status = res.statusCode ?? 502;
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
        const nullBody = status === 204 || status === 205 || status === 304;
        resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, headers }));
      });
    });
    req.on('error', reject);
    req.end(init.body as string | undefined);
  });
}

async function errorText(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return `${res.status}: ${(JSON.parse(text) as { error: string }).error}`;
  } catch {
    return `${res.status}: ${text || res.statusText}`;
  }
}

async function expectOk(res: Response): Promise<Response> {
  if (!res.ok) throw new CliError(await errorText(res));
  return res;
}

function need(args: string[], count: number, usage: string): void {
  if (args.length < count) throw new CliError(`usage: raftctl ${usage}`, 2);
}

export async function main(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + '\n'), err: (line: string) => void = (l) => process.stderr.write(l + '\n')): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        endpoints: { type: 'string' },
        token: { type: 'string' },
        'token-file': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        json: { type: 'boolean', default: false },
        stale: { type: 'boolean', default: false },
        learner: { type: 'boolean', default: false },
        absent: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    err(`raftctl: ${(error as Error).message}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    out(HELP);
    return values.help ? 0 : 2;
  }
  let ctx: Ctx;
  try {
    const tlsFlags = [values['tls-cert'], values['tls-key'], values['tls-ca']];
    if (tlsFlags.some((f) => f !== undefined) && !tlsFlags.every((f) => f !== undefined)) {
      throw new CliError('HTTPS needs all three of --tls-cert, --tls-key and --tls-ca', 2);
    }
    ctx = {
      endpoints: (values.endpoints ?? process.env.RAFTCTL_ENDPOINTS ?? '127.0.0.1:8001').split(',').map((e) => e.trim()).filter(Boolean),
      token: resolveToken({ token: values.token, tokenFile: values['token-file'] }),
      tls: values['tls-cert'] ? await loadTlsFiles({ cert: values['tls-cert'], key: values['tls-key']!, ca: values['tls-ca']! }) : undefined,
      json: values.json!,
      out,
    };
  } catch (error) {
    err(`raftctl: ${(error as Error).message}`);
    return 2;
  }
  try {
    await run(ctx, positionals, values);
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      err(`raftctl: ${error.message}`);
      return error.exitCode;
    }
    err(`raftctl: ${(error as Error).message}`);
    return 1;
  }
}

async function run(ctx: Ctx, args: string[], flags: { stale?: boolean; learner?: boolean; absent?: boolean }): Promise<void> {
  const [command, ...rest] = args;
  const key = (k: string) => encodeURIComponent(k);
  switch (command) {
    case 'status': {
      const rows = [];
      for (const endpoint of ctx.endpoints) {
        try {
          const res = await expectOk(await call(ctx, 'GET', '/v1/status', undefined, endpoint));
          rows.push({ endpoint, ...(await res.json()) });
        } catch (error) {
          rows.push({ endpoint, error: (error as Error).message });
        }
      }
      if (ctx.json) return ctx.out(JSON.stringify(rows, null, 2));
      for (const r of rows) {
        if ('error' in r) ctx.out(`${r.endpoint}  unreachable: ${r.error}`);
        else ctx.out(`${r.endpoint}  ${r.id}  ${r.role.padEnd(9)} term ${r.term}  leader ${r.leader || '-'}  commit ${r.commitIndex}  applied ${r.appliedIndex}  last ${r.lastIndex}  snapshot ${r.snapshotIndex}`);
      }
      if (rows.every((r) => 'error' in r)) throw new CliError('no endpoint answered');
      return;
    }
    case 'get': {
      need(rest, 1, 'get KEY [--stale]');
      const res = await call(ctx, 'GET', `/v1/kv/${key(rest[0])}${flags.stale ? '?stale=1' : ''}`);
      if (res.status === 404) throw new CliError(`key "${rest[0]}" not found`, 3);
      await expectOk(res);
      return ctx.out(Buffer.from(await res.arrayBuffer()).toString('utf8'));
    }
    case 'put': {
      need(rest, 2, 'put KEY VALUE');
      const res = await expectOk(await call(ctx, 'PUT', `/v1/kv/${key(rest[0])}`, { raw: rest[1] }));
      return ctx.out(`OK index ${res.headers.get('x-raft-index')} term ${res.headers.get('x-raft-term')}`);
    }
    case 'del': {
      need(rest, 1, 'del KEY');
      const res = await expectOk(await call(ctx, 'DELETE', `/v1/kv/${key(rest[0])}`));
      return ctx.out(res.headers.get('x-deleted') === 'false' ? 'no such key' : 'deleted');
    }
    case 'cas': {
      const absent = flags.absent;
      need(rest, absent ? 2 : 3, 'cas KEY FROM TO  |  cas KEY --absent TO');
      const body = { json: { from: absent ? null : rest[1], to: absent ? rest[1] : rest[2] } };
      const res = await expectOk(await call(ctx, 'POST', `/v1/cas/${key(rest[0])}`, body));
      const result = (await res.json()) as { succeeded: boolean };
      ctx.out(result.succeeded ? 'swapped' : 'not swapped: current value differs');
      if (!result.succeeded) throw new CliError('compare failed', 3);
      return;
    }
    case 'members': {
      const [sub, ...margs] = rest;
      if (sub === 'list' || sub === undefined) {
        const res = await expectOk(await call(ctx, 'GET', '/v1/members'));
        const m = (await res.json()) as { voters: string[]; votersOutgoing: string[]; learners: string[]; addresses: Record<string, { peer: string; client: string }> };
        if (ctx.json) return ctx.out(JSON.stringify(m, null, 2));
        for (const [id, a] of Object.entries(m.addresses)) {
          const kind = m.voters.includes(id) ? 'voter' : m.learners.includes(id) ? 'learner' : m.votersOutgoing.includes(id) ? 'outgoing' : 'none';
          ctx.out(`${id.padEnd(12)} ${kind.padEnd(8)} peer ${a.peer}  client ${a.client}`);
        }
        if (m.votersOutgoing.length > 0) ctx.out(`joint configuration: C_old = {${m.votersOutgoing.join(', ')}}, C_new = {${m.voters.join(', ')}}`);
        return;
      }
      if (sub === 'add') {
        need(margs, 3, 'members add ID PEER CLIENT [--learner]');
        for (const [address, what] of [[margs[1], 'PEER'], [margs[2], 'CLIENT']]) {
          const problem = addressProblem(address);
          if (problem) throw new CliError(`invalid ${what} ${JSON.stringify(address)}: ${problem}`, 2);
        }
        const body = { json: { id: margs[0], peer: margs[1], client: margs[2], learner: flags.learner } };
        await expectOk(await call(ctx, 'POST', '/v1/members', body));
        return ctx.out(`added ${margs[0]} as ${flags.learner ? 'learner' : 'voter'}`);
      }
      if (sub === 'promote') {
        need(margs, 1, 'members promote ID');
        await expectOk(await call(ctx, 'POST', `/v1/members/${key(margs[0])}/promote`, { json: {} }));
        return ctx.out(`promoted ${margs[0]} to voter`);
      }
      if (sub === 'remove') {
        need(margs, 1, 'members remove ID');
        await expectOk(await call(ctx, 'DELETE', `/v1/members/${key(margs[0])}`));
        return ctx.out(`removed ${margs[0]}`);
      }
      throw new CliError(`unknown members command "${sub}" (list, add, promote, remove)`, 2);
    }
    case 'transfer-leader': {
      need(rest, 1, 'transfer-leader ID');
      const res = await expectOk(await call(ctx, 'POST', '/v1/leader/transfer', { json: { to: rest[0] } }));
      const r = (await res.json()) as { leader: string; term: number };
      return ctx.out(`leader is now ${r.leader} (term ${r.term})`);
    }
    case 'snapshot': {
      const res = await expectOk(await call(ctx, 'POST', '/v1/snapshot', { json: {} }, ctx.endpoints[0]));
      const r = (await res.json()) as { index: number };
      return ctx.out(`snapshot at index ${r.index}`);
    }
    default:
      throw new CliError(`unknown command "${command}" (see raftctl --help)`, 2);
  }
}
