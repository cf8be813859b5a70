// Real raftd processes on 127.0.0.1 for tests: free ports, data dirs in a temp folder, stdout kept.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TlsMaterial } from '../../../core/security/tls.js';
import { createTestClusterTls, httpsRequest, nodeTlsArgs, type TestClusterTls } from './raftd-tls.js';

export const RAFTD_BIN = fileURLToPath(new URL('../../../core/server/bin/raftd.mjs', import.meta.url));

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface NodeSpec {
  id: string;
  peer: string;
  client: string;
}

export class RaftdProcess {
  child: ChildProcess | null = null;
  output = '';
  exitCode: number | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly spec: NodeSpec,
    readonly dataDir: string,
    public args: string[],
    /** The cluster token, sent with status requests. */
    readonly token?: string,
  ) {}

  /** `openFiles` runs it under that limit on open files (soft and hard). */
  start(extra: string[] = [], options: { openFiles?: number } = {}): void {
    this.output = '';
    this.exitCode = null;
    const command = [process.execPath, RAFTD_BIN, ...this.args, ...extra];
    const child = options.openFiles
      ? spawn('/bin/sh', ['-c', `ulimit -n ${options.openFiles} && exec "$0" "$@"`, ...command], { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn(command[0], command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        this.exitCode = code;
        this.child = null;
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.child !== null;
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number | null> {
    this.child?.kill(signal);
    return this.exited;
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /** With TLS on: the client certificate the harness presents (fetch cannot: use httpsRequest). */
  tlsClient?: TlsMaterial;

  url(path: string): string {
    return `${this.tlsClient ? 'https' : 'http'}://${this.spec.client}${path}`;
  }

  async status(): Promise<Status | null> {
    const reply = await this.get('/v1/status');
    return reply?.status === 200 ? (JSON.parse(reply.body) as Status) : null;
  }

  /** GET with the token (and client certificate); null if the node does not answer. */
  async get(path: string): Promise<{ status: number; body: string } | null> {
    try {
      const headers: Record<string, string> = this.token ? { Authorization: `Bearer ${this.token}` } : {};
      if (this.tlsClient) return await httpsRequest(this.url(path), this.tlsClient, { headers, timeoutMs: 2000 });
      const res = await fetch(this.url(path), { headers, redirect: 'manual', signal: AbortSignal.timeout(2000) });
      return { status: res.status, body: await res.text() };
    } catch {
      return null;
    }
  }
}

export interface Status {
  id: string;
  role: string;
  term: number;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  snapshotIndex: number;
  members: { voters: string[]; learners: string[]; votersOutgoing: string[]; addresses: Record<string, { peer: string; client: string }> };
  progress?: Record<string, { match: number; next: number; state: string }>;
}

export class TestCluster {
  readonly nodes = new Map<string, RaftdProcess>();

  private constructor(
    readonly root: string,
    readonly token: string | undefined,
    readonly extraArgs: string[],
  ) {}

  /** Set when the cluster runs with mutual TLS (create's `tls` option). */
  tls?: TestClusterTls;

  static async create(size: number, options: { token?: string; extraArgs?: string[]; tls?: boolean } = {}): Promise<TestCluster> {
    const root = await mkdtemp(join(tmpdir(), 'raftd-test-'));
    const cluster = new TestCluster(root, options.token, options.extraArgs ?? ['--heartbeat-ms', '50', '--election-ms', '500']);
    const specs: NodeSpec[] = [];
    for (let i = 1; i <= size; i++) specs.push({ id: `n${i}`, peer: `127.0.0.1:${await freePort()}`, client: `127.0.0.1:${await freePort()}` });
    const clusterArg = specs.map((s) => `${s.id}=${s.peer}/${s.client}`).join(',');
    for (const spec of specs) cluster.nodes.set(spec.id, new RaftdProcess(spec, join(root, spec.id), cluster.argsFor(spec, clusterArg), options.token));
    if (options.tls) {
      cluster.tls = await createTestClusterTls(root);
      for (const node of cluster.nodes.values()) await cluster.withTls(node);
    }
    return cluster;
  }

  /** Gives a node its certificate (flags) and the harness's client certificate. */
  private async withTls(node: RaftdProcess): Promise<void> {
    node.args.push(...(await nodeTlsArgs(this.tls!, node.spec.id)));
    node.tlsClient = this.tls!.client;
  }

  argsFor(spec: NodeSpec, clusterArg: string, join = false): string[] {
    return [
      '--id', spec.id, '--data-dir', `${this.root}/${spec.id}`, '--peer', spec.peer, '--client', spec.client,
      '--cluster', clusterArg, '--cluster-id', 'test', ...(this.token ? ['--token', this.token] : []), ...this.extraArgs, ...(join ? ['--join'] : []),
    ];
  }

  /** Start a new, empty node that waits to be added (--join). */
  async addJoiner(id: string): Promise<RaftdProcess> {
    const spec = { id, peer: `127.0.0.1:${await freePort()}`, client: `127.0.0.1:${await freePort()}` };
    const all = [...[...this.nodes.values()].map((n) => n.spec), spec];
    const proc = new RaftdProcess(spec, join(this.root, id), this.argsFor(spec, all.map((s) => `${s.id}=${s.peer}/${s.client}`).join(','), true), this.token);
    this.nodes.set(id, proc);
    if (this.tls) await this.withTls(proc);
    proc.start();
    return proc;
  }

  node(id: string): RaftdProcess {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  startAll(): void {
    for (const n of this.nodes.values()) n.start();
  }

  /** Wait until the running nodes agree on one leader; returns it. */
  async waitForLeader(timeoutMs = 20_000, exclude: string[] = []): Promise<RaftdProcess> {
    return eventually(async () => {
      const running = [...this.nodes.values()].filter((n) => n.running && !exclude.includes(n.spec.id));
      const statuses = (await Promise.all(running.map((n) => n.status()))).filter((s): s is Status => s !== null);
      // On a loaded machine a process can take seconds to start: it is waited for, not skipped.
      if (statuses.length < running.length) throw new Error(`${running.length - statuses.length} running nodes do not answer yet`);
      const leaders = statuses.filter((s) => s.role === 'leader');
      if (leaders.length !== 1) throw new Error(`${leaders.length} leaders among ${statuses.length} nodes`);
      const leader = leaders[0];
      if (!statuses.every((s) => s.leader === leader.id && s.term === leader.term)) throw new Error('nodes do not agree on the leader yet');
      // Its status shows raft's view the moment it wins; it serves once its driver has caught up
      // (persisted the new term, committed an entry of it): a linearizable read says when.
      const probe = await this.node(leader.id).get('/v1/kv/%00leader-probe');
      if (probe?.status !== 404 && probe?.status !== 200) throw new Error(`leader ${leader.id} does not serve reads yet (${probe?.status ?? 'no answer'})`);
      return this.node(leader.id);
    }, timeoutMs);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill('SIGKILL')));
  }

  async destroy(): Promise<void> {
    await this.stopAll();
    await rm(this.root, { recursive: true, force: true });
  }

  describe(): string {
    return [...this.nodes.values()].map((n) => `--- ${n.spec.id} (exit ${n.exitCode})\n${n.output.slice(-3000)}`).join('\n');
  }
}

export async function eventually<T>(fn: () => Promise<T>, timeoutMs = 15_000, intervalMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      return await fn();
    } catch (error) {
      lastError = error;
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  }
  throw new Error(`timed out: ${(lastError as Error)?.message ?? lastError}`);
}

/** fetch without following redirects, so tests can see 307s. */
export function request(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(10_000), ...init });
}
