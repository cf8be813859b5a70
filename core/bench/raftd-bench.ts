// npm run bench [-- --with-etcd] [-- --duration 10] [-- --warmup S]
//   [-- --loads put:1,get:64] [-- --cpu-prof DIR] [-- --alternate N]
// Three raftd processes on loopback under a closed-loop load (shared/bench/kvload.mjs): PUT at 1, 16,
// 64 and 256 clients, linearizable GET at 16 and 64, leader fsyncs per write, RSS per node, then a
// kill -9 of the leader under load: time to a new leader and the longest write gap. With
// --with-etcd (and Debian's etcd-server installed) etcd 3.4 runs the same loads and ratios are printed.
// For working on speed: --loads runs only the listed loads (no failover); --cpu-prof DIR writes a
// V8 CPU profile of every node to DIR/<id> (nodes stop with SIGTERM to write it; no failover);
// --raftd-args="..." passes more flags to every raftd; --alternate N starts an etcd cluster beside raftd's and runs each load N times on each, turn
// about, so both see the same machine (2 shared cores are noisy), and prints the ratios' median.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    'with-etcd': { type: 'boolean', default: false },
    'shared-bench': { type: 'string' },
    loads: { type: 'string' },
    'cpu-prof': { type: 'string' },
    alternate: { type: 'string' },
    'raftd-args': { type: 'string', default: '' },
    warmup: { type: 'string', default: '0' },
  },
});
const DEFAULT_LOADS = 'put:1,put:16,put:64,put:256,get:16,get:64';
const loads = (args.loads ?? DEFAULT_LOADS).split(',').map((l) => {
  const [op, c] = l.split(':');
  if ((op !== 'put' && op !== 'get') || !(Number(c) > 0)) throw new Error(`--loads: "${l}" is not put:N or get:N`);
  return { op: op as 'put' | 'get', clients: Number(c) };
});
const cpuProfDir = args['cpu-prof'] ? resolve(args['cpu-prof']) : undefined;
const alternate = args.alternate ? Number(args.alternate) : 0;
const withFailover = !args.loads && !cpuProfDir && !alternate;
const duration = Number(args.duration);
// Seconds of each load run just before it is measured, discarded (both clusters with --alternate).
// Off by default, as etcd-baseline.sh (which --with-etcd runs as it is) has none: V8 goes on
// optimizing raftd for several seconds of a new load shape (c=1 after c=16), so it shows the steady state.
const warmup = Number(args.warmup);
if (!(warmup >= 0)) throw new Error(`--warmup: "${args.warmup}" is not a number of seconds`);
const repo = fileURLToPath(new URL('../..', import.meta.url));
const sharedBench = resolve(args['shared-bench'] ?? join(repo, '..', 'shared', 'bench'));
const kvload = join(sharedBench, 'kvload.mjs');
if (!existsSync(kvload)) {
  console.error(`bench: the load generator ${kvload} is missing; pass --shared-bench DIR`);
  process.exit(2);
}
const raftdBin = join(repo, 'core/server/bin/raftd.mjs');

interface LoadResult {
  ops: number;
  ops_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  max_gap_ms: number;
  max_gap_from: number;
  /** CPU the load generator used per operation (µs). */
  client_cpu_us_per_op?: number;
}

async function freePort(): Promise<number> {
  return new Promise((ok) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

interface Node {
  id: string;
  peer: string;
  client: string;
  proc: ChildProcess | null;
}

const root = mkdtempSync(join(tmpdir(), 'raftd-bench-'));
const nodes: Node[] = [];
for (let i = 1; i <= 3; i++) nodes.push({ id: `n${i}`, peer: `127.0.0.1:${await freePort()}`, client: `127.0.0.1:${await freePort()}`, proc: null });
const clusterArg = nodes.map((n) => `${n.id}=${n.peer}/${n.client}`).join(',');

function start(n: Node): void {
  const prof = cpuProfDir ? ['--cpu-prof', '--cpu-prof-dir', join(cpuProfDir, n.id)] : [];
  n.proc = spawn(process.execPath, [...prof, raftdBin, '--id', n.id, '--data-dir', join(root, n.id), '--peer', n.peer, '--client', n.client, '--cluster', clusterArg, '--log-level', 'warn', ...args['raftd-args']!.split(' ').filter(Boolean)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function json<T>(url: string): Promise<T | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
    return res.ok ? ((await res.json()) as T) : null;
  } catch {
    return null;
  }
}

async function leader(exclude?: Node): Promise<Node> {
  for (;;) {
    for (const n of nodes) {
      if (n === exclude || !n.proc) continue;
      const s = await json<{ role: string }>(`http://${n.client}/v1/status`);
      if (s?.role === 'leader') return n;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function load(op: 'put' | 'get', clients: number, seconds: number, timeoutMs = 5000, target: 'raftkv' | 'etcd' = 'raftkv'): Promise<LoadResult> {
  const endpoints = target === 'etcd' ? etcdNodes.map((n) => `http://${n.client}`).join(',') : nodes.map((n) => `http://${n.client}`).join(',');
  return new Promise((ok, fail) => {
    const child = spawn(process.execPath, [kvload, '--target', target, '--endpoints', endpoints, '--clients', String(clients), '--duration', String(seconds), '--op', op, '--value-size', '256', '--keys', '10000', '--timeout-ms', String(timeoutMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    // The load generator's own CPU, sampled until it exits: on 2 shared cores it competes with the servers.
    let clientCpu = 0;
    const sampler = setInterval(() => (clientCpu = cpuMs([child.pid!]) || clientCpu), 50);
    child.stdout!.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      clearInterval(sampler);
      if (code !== 0) return fail(new Error(`kvload exited ${code}`));
      const result = JSON.parse(out.trim().split('\n').pop()!) as LoadResult;
      ok({ ...result, client_cpu_us_per_op: (clientCpu * 1000) / Math.max(1, result.ops) });
    });
  });
}

/** Resident memory of a process in MiB: all of it, and its anonymous (private heap) part. The rest is
 * file-backed, mostly the runtime's own binary, shared by every process that runs it. */
function memoryOf(pid: number): { rss: number; anon: number } | null {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(rollup)![1]);
    return { rss: kib('Rss') / 1024, anon: kib('Anonymous') / 1024 };
  } catch {
    return null; // exited between listing and reading
  }
}

/** Lowest and highest RSS and anonymous memory (MiB) of each process `pids()` lists, sampled every second until stop(). */
function sampleMemory(pids: () => number[]): { stop(): string } {
  const seen = new Map<number, { rss: [number, number]; anon: [number, number] }>();
  const timer = setInterval(() => {
    for (const pid of pids()) {
      const m = memoryOf(pid);
      if (!m) continue;
      const s = seen.get(pid) ?? { rss: [m.rss, m.rss], anon: [m.anon, m.anon] };
      seen.set(pid, { rss: [Math.min(s.rss[0], m.rss), Math.max(s.rss[1], m.rss)], anon: [Math.min(s.anon[0], m.anon), Math.max(s.anon[1], m.anon)] });
    }
  }, 1000);
  const range = ([lo, hi]: [number, number]) => `${lo.toFixed(0)}..${hi.toFixed(0)}`;
  return {
    stop() {
      clearInterval(timer);
      const all = [...seen.values()];
      return `rss ${all.map((s) => range(s.rss)).join(', ')} MiB; anonymous ${all.map((s) => range(s.anon)).join(', ')} MiB`;
    },
  };
}

const metrics = async (n: Node) => (await json<{ walSyncs: number; walSyncMs: number; rssBytes: number }>(`http://${n.client}/v1/metrics`))!;
const memoryLine = () =>
  nodes
    .flatMap((n) => {
      const m = n.proc?.pid ? memoryOf(n.proc.pid) : null;
      return m ? [`${n.id} rss ${m.rss.toFixed(1)} anon ${m.anon.toFixed(1)}`] : [];
    })
    .join(', ') + ' MiB';
const rows: Record<string, LoadResult & { fsyncsPerOp?: number }> = {};
let newLeaderMs = 0;
const fmt = (r: LoadResult, extra = '') =>
  `${String(Math.round(r.ops_per_s)).padStart(7)} ops/s  p50 ${r.p50_ms.toFixed(2).padStart(7)} ms  p99 ${r.p99_ms.toFixed(2).padStart(7)} ms  max ${r.max_ms.toFixed(1).padStart(7)} ms  errors ${r.errors}${extra}`;

/** etcd 3.4 beside raftd for --alternate: the flags of etcd-baseline.sh, on free loopback ports. */
const etcdNodes: Node[] = [];
const etcdRoot = alternate ? mkdtempSync(join(tmpdir(), 'etcd-bench-')) : '';
async function startEtcd(): Promise<void> {
  for (let i = 1; i <= 3; i++) etcdNodes.push({ id: `e${i}`, peer: `127.0.0.1:${await freePort()}`, client: `127.0.0.1:${await freePort()}`, proc: null });
  const initial = etcdNodes.map((n) => `${n.id}=http://${n.peer}`).join(',');
  for (const n of etcdNodes) {
    n.proc = spawn('etcd', ['--name', n.id, '--data-dir', join(etcdRoot, n.id), '--listen-client-urls', `http://${n.client}`, '--advertise-client-urls', `http://${n.client}`,
      '--listen-peer-urls', `http://${n.peer}`, '--initial-advertise-peer-urls', `http://${n.peer}`, '--initial-cluster', initial, '--initial-cluster-state', 'new', '--initial-cluster-token', 'bench', '--log-level', 'error'], { stdio: 'ignore' });
  }
  execFileSync(process.execPath, [join(sharedBench, 'etcd-ctl.mjs'), 'healthy', etcdNodes.map((n) => `http://${n.client}`).join(',')], { stdio: 'inherit' });
}

/** CPU time (user + system, ms) the processes used so far; an exited one counts as 0. */
function cpuMs(pids: number[]): number {
  const tick = 1000 / 100; // USER_HZ
  let total = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      total += (Number(fields[11]) + Number(fields[12])) * tick;
    } catch {
      // exited
    }
  }
  return total;
}
const pidsOf = (ns: Node[]) => ns.flatMap((n) => (n.proc?.pid ? [n.proc.pid] : []));

/** WAL fsyncs so far and the ms they took, summed over a cluster's members (etcd: its fsync histogram). */
async function fsyncTotals(target: 'raftkv' | 'etcd'): Promise<{ count: number; ms: number }> {
  let count = 0;
  let ms = 0;
  for (const n of target === 'etcd' ? etcdNodes : nodes) {
    try {
      if (target === 'raftkv') {
        const m = await metrics(n);
        count += m.walSyncs;
        ms += m.walSyncMs;
      } else {
        const text = await (await fetch(`http://${n.client}/metrics`, { signal: AbortSignal.timeout(2000) })).text();
        const field = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
        count += field('etcd_disk_wal_fsync_duration_seconds_count');
        ms += field('etcd_disk_wal_fsync_duration_seconds_sum') * 1000;
      }
    } catch {
      // a member that does not answer adds nothing
    }
  }
  return { count, ms };
}
const fsyncLine = (a: { count: number; ms: number }, b: { count: number; ms: number }, ops: number) =>
  `  fsyncs/op ${((b.count - a.count) / Math.max(1, ops)).toFixed(2)} at ${((b.ms - a.ms) / Math.max(1, b.count - a.count)).toFixed(2)} ms`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Each load N times on raftd and on etcd, turn about; ratios per turn and their median. */
async function alternateRuns(): Promise<void> {
  const raftdMemory = sampleMemory(() => nodes.flatMap((n) => (n.proc?.pid ? [n.proc.pid] : [])));
  const etcdMemory = sampleMemory(() => etcdNodes.flatMap((n) => (n.proc?.pid ? [n.proc.pid] : [])));
  const summary: string[] = [];
  const idleA = cpuMs(pidsOf(nodes));
  const idleB = cpuMs(pidsOf(etcdNodes));
  await new Promise((r) => setTimeout(r, 3000));
  console.log(`idle CPU (heartbeats, pings, timers): raftd cluster ${((cpuMs(pidsOf(nodes)) - idleA) / 30).toFixed(1)}% of a core, etcd ${((cpuMs(pidsOf(etcdNodes)) - idleB) / 30).toFixed(1)}%`);
  for (const { op, clients } of loads) {
    const name = `${op} c=${clients}`;
    const ratios: number[] = [];
    const p99s: number[] = [];
    const cpus: number[] = [];
    for (let round = 0; round < alternate; round++) {
      if (warmup && round === 0) await load(op, clients, warmup);
      let cpu = cpuMs(pidsOf(nodes));
      let syncs = await fsyncTotals('raftkv');
      const a = await load(op, clients, duration);
      const cpuA = (cpuMs(pidsOf(nodes)) - cpu) / Math.max(1, a.ops);
      const syncA = fsyncLine(syncs, await fsyncTotals('raftkv'), a.ops);
      if (warmup && round === 0) await load(op, clients, warmup, 5000, 'etcd');
      cpu = cpuMs(pidsOf(etcdNodes));
      syncs = await fsyncTotals('etcd');
      const b = await load(op, clients, duration, 5000, 'etcd');
      const cpuB = (cpuMs(pidsOf(etcdNodes)) - cpu) / Math.max(1, b.ops);
      const syncB = fsyncLine(syncs, await fsyncTotals('etcd'), b.ops);
      ratios.push(a.ops_per_s / b.ops_per_s);
      p99s.push(a.p99_ms / b.p99_ms);
      cpus.push(cpuA / cpuB);
      const perOp = (ms: number, r: LoadResult) => `  cluster CPU ${(ms * 1000).toFixed(0)} µs/op (client ${r.client_cpu_us_per_op!.toFixed(0)})`;
      console.log(`${name.padEnd(9)} raftd ${fmt(a, perOp(cpuA, a) + syncA)}\n${' '.repeat(9)} etcd  ${fmt(b, perOp(cpuB, b) + syncB)}\n${' '.repeat(9)} ratio ×${ratios.at(-1)!.toFixed(2)}  p99 ×${p99s.at(-1)!.toFixed(2)}  CPU/op ×${cpus.at(-1)!.toFixed(2)}`);
    }
    summary.push(`${name.padEnd(9)} throughput ×${median(ratios).toFixed(2)} (${ratios.map((r) => r.toFixed(2)).join(' ')})   p99 ×${median(p99s).toFixed(2)} (${p99s.map((r) => r.toFixed(2)).join(' ')})   CPU/op ×${median(cpus).toFixed(2)}`);
  }
  console.log(`\nraftd / etcd, median of ${alternate} alternating runs (each run's ratio in brackets)`);
  for (const line of summary) console.log(line);
  console.log(`memory during the loads, lowest..highest: raftd ${raftdMemory.stop()}; etcd ${etcdMemory.stop()}`);
}

async function stopNodes(): Promise<void> {
  const running = nodes.flatMap((n) => (n.proc ? [n.proc] : []));
  if (!cpuProfDir) return void running.forEach((p) => p.kill('SIGKILL'));
  // SIGTERM: raftd stops cleanly and V8 writes its profile on exit.
  await Promise.all(running.map((p) => (p.exitCode === null ? (p.kill('SIGTERM'), once(p, 'exit')) : null)));
}

try {
  nodes.forEach(start);
  if (alternate) await startEtcd();
  const firstLeader = await leader();
  await new Promise((r) => setTimeout(r, 1000));
  const idleMemory = memoryLine();
  await load('put', 16, 3); // warm-up, discarded: as long as etcd-baseline.sh's
  if (alternate) await load('put', 16, 3, 5000, 'etcd');
  console.log(`raftd: 3 nodes on 127.0.0.1, heartbeat 100 ms, election 1000 ms, 256-byte values, 10,000 keys, ${duration} s per load${warmup ? `, each after ${warmup} s of the same load${alternate ? ' (both clusters)' : ''}` : ''}`);
  if (args['with-etcd'] && !alternate && warmup) console.log('(etcd-baseline.sh runs etcd without the per-load warm-up)');
  if (cpuProfDir) console.log(`CPU profiles in ${cpuProfDir}/<node>; the leader is ${firstLeader.id}`);
  console.log(`memory idle: ${idleMemory}`);
  if (alternate) await alternateRuns();
  else {
    const raftdMemory = sampleMemory(() => nodes.flatMap((n) => (n.proc?.pid ? [n.proc.pid] : [])));
    for (const { op, clients: c } of loads) {
      if (warmup) await load(op, c, warmup);
      if (op === 'put') {
        const l = await leader();
        const before = await metrics(l);
        const r = await load('put', c, duration);
        const after = await metrics(l);
        const fsyncsPerOp = (after.walSyncs - before.walSyncs) / Math.max(1, r.ops);
        const syncMs = (after.walSyncMs - before.walSyncMs) / Math.max(1, after.walSyncs - before.walSyncs);
        rows[`put c=${c}`] = { ...r, fsyncsPerOp };
        console.log(`put c=${String(c).padEnd(4)} ${fmt(r, `  leader fsyncs/put ${fsyncsPerOp.toFixed(3)}, ${syncMs.toFixed(2)} ms each`)}`);
      } else {
        const r = await load('get', c, duration);
        rows[`get c=${c}`] = r;
        console.log(`get c=${String(c).padEnd(4)} ${fmt(r)}`);
      }
    }
    console.log(`memory after the loads: ${memoryLine()}; lowest..highest during them: ${raftdMemory.stop()}`);
  }

  if (withFailover) {
    // Failover: kill -9 the leader 3 s into a put load long enough for writes to resume on the new one.
    const failoverLoad = load('put', 16, Math.max(duration, 10), 1000);
    await new Promise((r) => setTimeout(r, 3000));
    const old = await leader();
    const killedAt = Date.now();
    old.proc!.kill('SIGKILL');
    old.proc = null;
    const next = await leader(old);
    newLeaderMs = Date.now() - killedAt;
    const fo = await failoverLoad;
    rows.failover = fo;
    console.log(`failover: kill -9 ${old.id}; new leader ${next.id} after ${newLeaderMs} ms; longest write gap ${Math.round(fo.max_gap_ms)} ms, from ${fo.max_gap_from - killedAt} ms after the kill (load: ${fmt(fo)})`);
  }
} finally {
  await stopNodes();
  for (const n of etcdNodes) n.proc?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
  if (etcdRoot) rmSync(etcdRoot, { recursive: true, force: true });
}

if (args['with-etcd'] && !alternate && !cpuProfDir) {
  let etcd = false;
  try {
    execFileSync('etcd', ['--version'], { stdio: 'ignore' });
    etcd = true;
  } catch {
    console.log('\n--with-etcd: etcd is not installed (apt-get install -y etcd-server etcd-client); skipping the side-by-side run');
  }
  if (etcd) {
    const results = mkdtempSync(join(tmpdir(), 'etcd-results-'));
    console.log('\netcd 3.4, same loads (shared/bench/etcd-baseline.sh):');
    if (duration < 7) console.log(`(its failover load lasts ${duration} s with the kill at 4 s: writes may not resume before it ends)`);
    const etcdPids = () => readdirSync('/proc').filter((pid) => /^\d+$/.test(pid) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'etcd').map(Number);
    const etcdMemory = sampleMemory(() => {
      try {
        return etcdPids();
      } catch {
        return [];
      }
    });
    const baseline = spawn('bash', [join(sharedBench, 'etcd-baseline.sh')], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DUR: String(duration), CHECK_PERF: '0', FO_TIMEOUTS: '1000', FO_ROUNDS: '1', RESULTS: results } });
    const [code] = await once(baseline, 'exit');
    if (code !== 0) throw new Error(`etcd-baseline.sh exited ${code}`);
    const etcdMemoryLine = etcdMemory.stop();
    const file = readdirSync(results).find((f) => f.endsWith('.jsonl'))!;
    const etcdRows = Object.fromEntries(
      readFileSync(join(results, file), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).map((r) => [r.name.replace(/ #\d+$/, '').replace(/^failover t=\d+ms$/, 'failover'), r]),
    );
    console.log('\nraftd / etcd (throughput: higher is better; p99 and failover: lower is better)');
    for (const name of ['put c=1', 'put c=16', 'put c=64', 'put c=256', 'get c=16', 'get c=64']) {
      const a = rows[name];
      const b = etcdRows[name];
      if (a && b) console.log(`${name.padEnd(9)} throughput ×${(a.ops_per_s / b.ops_per_s).toFixed(2)}   p99 ×${(a.p99_ms / b.p99_ms).toFixed(2)}`);
    }
    console.log(`memory    etcd members, lowest..highest during its run (from its start): ${etcdMemoryLine} (restarted member counted twice)`);
    if (etcdRows.failover) console.log(`failover  new leader ${newLeaderMs} ms vs ${etcdRows.failover.new_leader_ms} ms; write gap ${Math.round(rows.failover.max_gap_ms)} ms vs ${Math.round(etcdRows.failover.max_gap_ms)} ms`);
    rmSync(results, { recursive: true, force: true });
  }
}
