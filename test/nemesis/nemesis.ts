// The nemesis: real raftd processes on loopback, concurrent clients doing reads, writes and
// compare-and-sets on a few keys, and faults in between (kill -9 and restart, SIGSTOP/SIGCONT,
// partitions through POST /v1/fault, leadership transfers, removing and re-adding a member).
// Every operation is recorded with its invocation and completion time and its outcome; the
// history is checked for linearizability per key, and for acknowledged writes lost at the end.
// Every loop is bounded by the run's deadline and by a count; every wait by a timeout.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { seededRandom } from '../../core/random.js';
import { TestCluster, type RaftdProcess, type Status } from '../core/server/raftd-harness.js';
import { checkHistory, describeOperation, type KeyVerdict, type Operation, type RegisterValue } from './linearizability.js';

export type FaultKind = 'kill' | 'pause' | 'partition' | 'transfer' | 'member';
export const ALL_FAULTS: FaultKind[] = ['kill', 'pause', 'partition', 'transfer', 'member'];

export interface NemesisOptions {
  nodes: number;
  durationMs: number;
  seed: number;
  /** Concurrent clients (default 2 per node). */
  clients?: number;
  /** Keys in use at a time (default 3); they are replaced by fresh ones every `keyLifetimeMs`. */
  keys?: number;
  keyLifetimeMs?: number;
  faults?: FaultKind[];
  /** Broken on purpose: reads are served locally by any node (?stale=1) yet counted as linearizable. */
  staleReads?: boolean;
  requestTimeoutMs?: number;
  /** Strike without waiting for the cluster to recover from the last fault (it need only have a leader). */
  overlap?: boolean;
  log?: (line: string) => void;
}

export interface FaultRecord {
  at: number;
  until: number;
  kind: FaultKind;
  detail: string;
}

export interface NemesisReport {
  options: Required<Omit<NemesisOptions, 'log'>>;
  history: Operation[];
  faults: FaultRecord[];
  /** term -> leader, as seen by polling every node's status. */
  leaders: Map<number, string>;
  /** Two leaders seen in one term (election safety). */
  splitBrain: string[];
  verdicts: KeyVerdict[];
  /** Acknowledged writes the final state does not reflect. */
  lostWrites: string[];
  /** Responses no client should ever get (4xx for well-formed requests, 500s). */
  unexpected: string[];
  /** Why operations failed or ended unknown: HTTP status or error, with counts. */
  reasons: Map<string, number>;
  /** Fault rounds skipped: the cluster had not settled on one leader 20 s after the last fault. */
  unsettled: number;
  /** Healed at the end, every member followed one leader within 30 s. */
  recovered: boolean;
  checkMs: number;
}

interface Outcome {
  outcome: Operation['outcome'];
  output?: RegisterValue | boolean;
  /** Why it did not succeed, in a few words (for the summary). */
  reason?: string;
  note?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a write surely did not happen, from raftd's answers; anything else after sending it is 'unknown'. */
function writeOutcome(status: number, body: string): Outcome {
  const reason = `${status} ${body.replace(/[0-9]+/g, 'N').slice(0, 60)}`;
  if (status === 503 && /no leader is known|no usable client address/.test(body)) return { outcome: 'failed', reason };
  if (status === 409) return { outcome: /may or may not/.test(body) ? 'unknown' : 'failed', reason };
  if (status === 504 || status === 503) return { outcome: 'unknown', reason };
  return { outcome: 'unknown', reason, note: `unexpected ${status}: ${body}` };
}

export async function runNemesis(opts: NemesisOptions): Promise<NemesisReport> {
  const { log: logTo, ...given } = opts;
  const options: NemesisReport['options'] = {
    clients: 2 * opts.nodes,
    keys: 3,
    keyLifetimeMs: 6_000,
    faults: ALL_FAULTS,
    staleReads: false,
    overlap: false,
    requestTimeoutMs: 2_500,
    ...given,
  };
  const log = logTo ?? (() => {});
  const random = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  // With a cluster token, as the console runs its clusters: every route but /health needs it.
  const cluster = await TestCluster.create(options.nodes, {
    token: randomBytes(16).toString('hex'),
    extraArgs: ['--heartbeat-ms', '50', '--election-ms', '500', '--snapshot-entries', '1000'],
  });
  const auth: Record<string, string> = cluster.token ? { Authorization: `Bearer ${cluster.token}` } : {};
  const t0 = performance.now();
  const now = () => performance.now() - t0;
  const history: Operation[] = [];
  const faults: FaultRecord[] = [];
  const leaders = new Map<number, string>();
  const splitBrain: string[] = [];
  const unexpected: string[] = [];
  const reasons = new Map<string, number>();
  /** Fault rounds skipped because the cluster had not recovered from the last fault within 20 s. */
  let unsettled = 0;
  let recovered = false;
  const keysUsed = new Set<string>();
  /** Members the nemesis took out and has not put back yet. */
  const removed = new Set<string>();
  let stopping = false;

  const nodes = () => [...cluster.nodes.values()];
  const member = (p: RaftdProcess) => !removed.has(p.spec.id);

  async function http(node: RaftdProcess, method: string, path: string, body?: string, timeoutMs = options.requestTimeoutMs) {
    let url = node.url(path);
    // A follower answers 307 to the leader; a few hops at most.
    for (let hop = 0; hop < 3; hop++) {
      const res = await fetch(url, { method, body, headers: { ...auth, ...(body && method !== 'PUT' ? { 'Content-Type': 'application/json' } : {}) }, redirect: 'manual', signal: AbortSignal.timeout(timeoutMs) });
      const text = await res.text();
      if (res.status === 307 && res.headers.get('location')) {
        url = res.headers.get('location')!;
        continue;
      }
      return { status: res.status, text };
    }
    return { status: 503, text: 'no leader is known: redirected in circles' };
  }

  const refused = (error: unknown) => (error as { cause?: { code?: string } })?.cause?.code === 'ECONNREFUSED';

  async function perform(client: number, key: string, op: Operation['op']): Promise<Outcome> {
    const node = pick(nodes().filter(member));
    const path = `/v1/${op.kind === 'cas' ? 'cas' : 'kv'}/${encodeURIComponent(key)}`;
    try {
      if (op.kind === 'read') {
        const res = await http(node, 'GET', path + (options.staleReads ? '?stale=1' : ''));
        if (res.status === 200) return { outcome: 'ok', output: res.text };
        if (res.status === 404) return { outcome: 'ok', output: null };
        if (res.status >= 400 && res.status < 500 && res.status !== 409) unexpected.push(`client ${client} read ${key}: ${res.status} ${res.text}`);
        return { outcome: 'failed', reason: `${res.status} ${res.text.replace(/[0-9]+/g, 'N').slice(0, 60)}` };
      }
      const res = op.kind === 'write' ? await http(node, 'PUT', path, op.value) : await http(node, 'POST', path, JSON.stringify({ from: op.from, to: op.to }));
      if (op.kind === 'write' && res.status === 204) return { outcome: 'ok' };
      if (op.kind === 'cas' && res.status === 200) return { outcome: 'ok', output: (JSON.parse(res.text) as { succeeded: boolean }).succeeded };
      const out = writeOutcome(res.status, res.text);
      if (out.note?.startsWith('unexpected')) unexpected.push(`client ${client} ${op.kind} ${key}: ${out.note}`);
      return out;
    } catch (error) {
      // Refused: nothing was sent. Any other error (timeout, reset) after sending: it may have happened.
      const reason = (error as { cause?: { code?: string } })?.cause?.code ?? (error as Error).name;
      if (refused(error)) return { outcome: 'failed', reason };
      return { outcome: op.kind === 'read' ? 'failed' : 'unknown', reason };
    }
  }

  let valueSeq = 0;
  async function runClient(client: number, end: number): Promise<void> {
    const lastRead = new Map<string, RegisterValue>();
    for (let i = 0; i < 1_000_000 && now() < end && !stopping; i++) {
      const generation = Math.floor(now() / options.keyLifetimeMs);
      const key = `k${Math.floor(random() * options.keys)}-g${generation}`;
      keysUsed.add(key);
      const r = random();
      let op: Operation['op'];
      if (r < 0.5) op = { kind: 'read' };
      else if (r < 0.8) op = { kind: 'write', value: `c${client}-${++valueSeq}` };
      else op = { kind: 'cas', from: lastRead.get(key) ?? null, to: `c${client}-${++valueSeq}` };
      const call = now();
      const result = await perform(client, key, op);
      const ret = now();
      if (op.kind === 'read' && result.outcome === 'ok') {
        op.output = result.output as RegisterValue;
        lastRead.set(key, op.output);
      }
      if (op.kind === 'cas' && result.outcome === 'ok') op.output = result.output as boolean;
      history.push({ key, client, call, ret, outcome: result.outcome, op });
      if (result.reason) reasons.set(`${op.kind}: ${result.reason}`, (reasons.get(`${op.kind}: ${result.reason}`) ?? 0) + 1);
      // A failed request (no leader yet) is retried after a breath, not in a tight loop.
      if (result.outcome !== 'ok') await sleep(50);
    }
  }

  // ---- watching elections -------------------------------------------------------------------
  const statuses = new Map<string, Status>();
  async function watch(end: number): Promise<void> {
    for (let i = 0; i < 100_000 && now() < end && !stopping; i++) {
      await Promise.all(
        nodes().map(async (n) => {
          if (!n.running) return;
          const s = await n.status();
          if (!s) return;
          statuses.set(n.spec.id, s);
          if (s.role !== 'leader') return;
          const known = leaders.get(s.term);
          if (known && known !== s.id) splitBrain.push(`term ${s.term}: ${known} and ${s.id}`);
          else if (!known) leaders.set(s.term, s.id);
        }),
      );
      await sleep(150);
    }
  }

  async function currentLeader(timeoutMs = 8_000): Promise<RaftdProcess | null> {
    const deadline = now() + timeoutMs;
    for (let i = 0; i < 1_000 && now() < deadline; i++) {
      const candidates = nodes().filter((n) => n.running && member(n));
      const found = (await Promise.all(candidates.map((n) => n.status()))).filter((s): s is Status => s?.role === 'leader');
      if (found.length > 0) {
        const newest = found.reduce((a, b) => (b.term > a.term ? b : a));
        return cluster.node(newest.id);
      }
      await sleep(100);
    }
    return null;
  }

  /** Every member up and answering, all following one leader; that leader, or null after `timeoutMs`. */
  async function settle(timeoutMs = 20_000): Promise<RaftdProcess | null> {
    const deadline = now() + timeoutMs;
    for (let i = 0; i < 1_000 && now() < deadline; i++) {
      const members = nodes().filter(member);
      const seen = await Promise.all(members.map((n) => (n.running ? n.status() : null)));
      const leader = seen.find((s) => s?.role === 'leader');
      if (leader && seen.every((s) => s !== null && s.leader === leader.id && s.term === leader.term)) return cluster.node(leader.id);
      await sleep(200);
    }
    return null;
  }

  /** After healing: whoever the leader's configuration no longer lists counts as removed (to be re-added). */
  async function reconcileMembers(): Promise<void> {
    const leader = await currentLeader(15_000);
    const s = leader ? await leader.status() : null;
    if (!s) return;
    for (const n of nodes()) if (!s.members.voters.includes(n.spec.id) && !s.members.votersOutgoing.includes(n.spec.id)) removed.add(n.spec.id);
  }

  // ---- faults -------------------------------------------------------------------------------
  async function setDropped(node: RaftdProcess, drop: string[]): Promise<void> {
    // A node just restarted may take seconds to listen on a busy machine.
    for (let attempt = 0; attempt < 60; attempt++) {
      try {
        const res = await fetch(node.url('/v1/fault'), { method: 'POST', body: JSON.stringify({ drop }), headers: { ...auth, 'Content-Type': 'application/json' }, signal: AbortSignal.timeout(2_000) });
        if (res.ok) return;
      } catch {
        // restarting or busy: try again
      }
      await sleep(250);
    }
    throw new Error(`could not set dropped peers on ${node.spec.id}`);
  }

  async function healAll(): Promise<void> {
    for (const n of nodes()) if (n.running) n.child!.kill('SIGCONT');
    for (const n of nodes()) if (!n.running && member(n)) n.start();
    await Promise.all(nodes().filter(member).map((n) => setDropped(n, [])));
  }

  async function waitVoters(predicate: (voters: string[]) => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = now() + timeoutMs;
    for (let i = 0; i < 1_000 && now() < deadline; i++) {
      const leader = await currentLeader(2_000);
      const s = leader ? await leader.status() : null;
      if (s && s.members.votersOutgoing.length === 0 && predicate(s.members.voters)) return true;
      await sleep(200);
    }
    return false;
  }

  /** Put a removed member back: a fresh, empty node added through the members API. */
  async function readd(target: RaftdProcess): Promise<string> {
    await target.kill('SIGKILL');
    await rm(target.dataDir, { recursive: true, force: true });
    target.start(['--join']);
    const deadline = now() + 15_000;
    let last = '';
    for (let i = 0; i < 100 && now() < deadline; i++) {
      const leader = await currentLeader(3_000);
      if (leader) {
        try {
          const res = await http(leader, 'POST', '/v1/members', JSON.stringify({ id: target.spec.id, peer: target.spec.peer, client: target.spec.client }), 10_000);
          last = `${res.status} ${res.text.slice(0, 120)}`;
        } catch (error) {
          last = String((error as Error).message);
        }
      }
      if (await waitVoters((v) => v.includes(target.spec.id), 2_000)) {
        removed.delete(target.spec.id);
        return `re-added (${last.split(' ')[0]})`;
      }
      await sleep(300);
    }
    return `not re-added yet: ${last}`;
  }

  /** Apply one fault, hold it, undo it; returns what was done. */
  async function fault(kind: FaultKind, holdMs: number, forceLeader = false): Promise<string | null> {
    // One fault at a time, each on a cluster that recovered from the last one (unless overlapping).
    const leader = options.overlap ? await currentLeader() : await settle();
    if (!leader) {
      unsettled++;
      return null;
    }
    const followers = nodes().filter((n) => n !== leader && n.running && member(n));
    const onLeader = forceLeader || random() < 0.5 || followers.length === 0;
    const target = onLeader ? leader : pick(followers);
    const role = onLeader ? 'leader' : 'follower';
    switch (kind) {
      case 'kill': {
        await target.kill('SIGKILL');
        await sleep(holdMs);
        target.start();
        return `kill -9 ${role} ${target.spec.id}, restarted after ${holdMs} ms`;
      }
      case 'pause': {
        target.child?.kill('SIGSTOP');
        await sleep(holdMs);
        target.child?.kill('SIGCONT');
        return `SIGSTOP ${role} ${target.spec.id}, SIGCONT after ${holdMs} ms`;
      }
      case 'partition': {
        const members = nodes().filter(member);
        // A minority side (1, or up to half of the rest) with or without the leader.
        const minoritySize = 1 + Math.floor(random() * Math.floor((members.length - 1) / 2));
        const others = members.filter((n) => n !== target);
        const side = [target];
        while (side.length < minoritySize) side.push(others.splice(Math.floor(random() * others.length), 1)[0]);
        const rest = members.filter((n) => !side.includes(n));
        const ids = (ps: RaftdProcess[]) => ps.map((p) => p.spec.id);
        try {
          await Promise.all([...side.map((n) => setDropped(n, ids(rest))), ...rest.map((n) => setDropped(n, ids(side)))]);
          await sleep(holdMs);
        } finally {
          // Never leave half a partition behind.
          await Promise.allSettled(members.map((n) => setDropped(n, [])));
        }
        const leaderSide = side.includes(leader) ? 'minority' : 'majority';
        return `partition [${ids(side)}] | [${ids(rest)}] (leader ${leader.spec.id} on the ${leaderSide} side), healed after ${holdMs} ms`;
      }
      case 'transfer': {
        const to = pick(followers.length > 0 ? followers : [leader]);
        let result: string;
        try {
          const res = await http(leader, 'POST', '/v1/leader/transfer', JSON.stringify({ to: to.spec.id }), 8_000);
          result = `${res.status}`;
        } catch (error) {
          result = String((error as Error).message);
        }
        await sleep(holdMs);
        return `transfer leadership ${leader.spec.id} -> ${to.spec.id}: ${result}`;
      }
      case 'member': {
        let result: string;
        try {
          const res = await http(leader, 'DELETE', `/v1/members/${target.spec.id}`, undefined, 10_000);
          result = `${res.status}`;
        } catch (error) {
          result = String((error as Error).message);
        }
        if (!(await waitVoters((v) => !v.includes(target.spec.id), 10_000))) {
          // Unknown whether it left: the end of the run reconciles membership and re-adds it if needed.
          return `remove ${role} ${target.spec.id}: ${result}, not confirmed within 10 s`;
        }
        removed.add(target.spec.id);
        await sleep(holdMs);
        return `remove ${role} ${target.spec.id} (${result}), then ${await readd(target)}`;
      }
    }
  }

  // ---- the run ------------------------------------------------------------------------------
  let verdicts: KeyVerdict[] = [];
  const lostWrites: string[] = [];
  let checkMs = 0;
  try {
    cluster.startAll();
    await cluster.waitForLeader(30_000);
    log(`nemesis: ${options.nodes} raftd nodes, ${options.clients} clients, ${options.durationMs} ms, seed ${options.seed}${options.staleReads ? ', STALE READS (broken on purpose)' : ''}`);
    const end = now() + options.durationMs;
    const watcher = watch(end + 60_000);
    const clients = Array.from({ length: options.clients }, (_, c) => runClient(c, end));
    // Faults in a shuffled rotation, so a short run still sees each kind.
    let rotation: FaultKind[] = [];
    for (let i = 0; i < 10_000 && now() < end - 3_000; i++) {
      await sleep(500 + random() * 1_000);
      if (i % options.faults.length === 0) rotation = [...options.faults].sort(() => random() - 0.5);
      // The first fault kills the leader, so even a short run on a slow machine sees a failover.
      const first = i === 0 && options.faults.includes('kill');
      const kind = first ? 'kill' : rotation[i % rotation.length];
      const at = now();
      let detail: string | null;
      try {
        detail = await fault(kind, Math.round(800 + random() * 2_000), first);
      } catch (error) {
        detail = `${kind} failed: ${(error as Error).message}`;
      }
      if (detail === null) continue;
      faults.push({ at, until: now(), kind, detail });
      log(`  [${(at / 1000).toFixed(1)}s] ${detail}`);
    }
    await Promise.all(clients);
    // Quiet: everything back, then a final linearizable read of every key.
    await healAll();
    await reconcileMembers();
    for (const id of [...removed]) log(`  final: ${id} ${await readd(cluster.node(id))}`);
    recovered = (await settle(30_000)) !== null;
    if (!recovered) log('  final: the cluster did not settle on one leader within 30 s of healing');
    for (const key of [...keysUsed].sort()) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const call = now();
        const leader = await currentLeader();
        const res = leader ? await http(leader, 'GET', `/v1/kv/${encodeURIComponent(key)}`, undefined, 5_000).catch(() => null) : null;
        if (res && (res.status === 200 || res.status === 404)) {
          history.push({ key, client: -1, call, ret: now(), outcome: 'ok', op: { kind: 'read', output: res.status === 200 ? res.text : null } });
          break;
        }
        await sleep(250);
      }
    }
    stopping = true;
    await watcher;
    const started = performance.now();
    verdicts = checkHistory(history, { maxSteps: 5_000_000, maxMs: 60_000 });
    checkMs = performance.now() - started;
    lostWrites.push(...findLostWrites(history));
  } catch (error) {
    log(cluster.describe());
    throw error;
  } finally {
    stopping = true;
    for (const n of nodes()) n.child?.kill('SIGCONT');
    await cluster.destroy();
  }
  return { options, history, faults, leaders, splitBrain, verdicts, lostWrites, unexpected, reasons, unsettled, recovered, checkMs };
}

/**
 * An acknowledged write is lost when the final read of its key (client -1) returns a value whose
 * write had completed before the acknowledged one was even invoked.
 */
export function findLostWrites(history: Operation[]): string[] {
  const lost: string[] = [];
  const finals = history.filter((o) => o.client === -1 && o.op.kind === 'read');
  for (const final of finals) {
    const value = final.op.kind === 'read' ? final.op.output ?? null : null;
    const writer = history.find((o) => (o.op.kind === 'write' && o.op.value === value) || (o.op.kind === 'cas' && o.op.to === value));
    const writerRet = writer ? (writer.outcome === 'ok' ? writer.ret : Infinity) : -Infinity;
    for (const o of history) {
      if (o.key !== final.key || o.outcome !== 'ok' || o.ret > final.call) continue;
      const acknowledged = o.op.kind === 'write' || (o.op.kind === 'cas' && o.op.output === true);
      if (acknowledged && writerRet < o.call) lost.push(`${describeOperation(o)} is lost: the final read of ${final.key} returned ${value === null ? 'nil' : JSON.stringify(value)}`);
    }
  }
  return lost;
}

export function summarize(report: NemesisReport): string {
  const { history, faults, leaders, verdicts } = report;
  const count = (f: (o: Operation) => boolean) => history.filter(f).length;
  const lines: string[] = [];
  const o = report.options;
  lines.push(`nemesis summary: ${o.nodes} nodes, ${o.clients} clients, ${(o.durationMs / 1000).toFixed(0)} s, seed ${o.seed}${o.overlap ? ', overlapping faults' : ''}${o.staleReads ? ' (stale reads, broken on purpose)' : ''}`);
  for (const kind of ['read', 'write', 'cas'] as const) {
    const of = (out: Operation['outcome']) => count((x) => x.op.kind === kind && x.outcome === out);
    lines.push(`  ${kind.padEnd(5)} ok ${of('ok')}, failed ${of('failed')}, unknown ${of('unknown')}`);
  }
  lines.push(`  cas succeeded ${count((x) => x.op.kind === 'cas' && x.outcome === 'ok' && x.op.output === true)}`);
  const reasons = [...report.reasons].sort((a, b) => b[1] - a[1]).slice(0, 8);
  if (reasons.length > 0) lines.push(`  not ok, why: ${reasons.map(([r, n]) => `${n}× ${r}`).join('; ')}`);
  lines.push(`  faults ${faults.length}: ${Object.entries(faults.reduce<Record<string, number>>((m, f) => ((m[f.kind] = (m[f.kind] ?? 0) + 1), m), {})).map(([k, n]) => `${k} ${n}`).join(', ')}`);
  for (const f of faults) lines.push(`    [${(f.at / 1000).toFixed(1)}s] ${f.detail}`);
  if (report.unsettled > 0) lines.push(`  fault rounds skipped, cluster not settled within 20 s: ${report.unsettled}`);
  const terms = [...leaders.keys()].sort((a, b) => a - b);
  lines.push(`  elections seen ${terms.length}: ${terms.map((t) => `t${t}:${leaders.get(t)}`).join(' ')}`);
  if (!report.recovered) lines.push('  NOT RECOVERED: no single leader for all members within 30 s of healing');
  if (report.splitBrain.length > 0) lines.push(`  TWO LEADERS IN ONE TERM: ${report.splitBrain.join('; ')}`);
  const bad = verdicts.filter((v) => v.result !== 'linearizable');
  lines.push(`  linearizability: ${verdicts.length} keys, ${verdicts.reduce((n, v) => n + v.operations, 0)} operations checked in ${report.checkMs.toFixed(0)} ms: ${bad.length === 0 ? 'all linearizable' : `${bad.length} NOT`}`);
  for (const v of bad.slice(0, 5)) lines.push(`  key ${v.key}: ${v.result}\n${(v.explanation ?? '').replace(/^/gm, '    ')}`);
  if (report.lostWrites.length > 0) lines.push(`  LOST ACKNOWLEDGED WRITES ${report.lostWrites.length}:`, ...report.lostWrites.slice(0, 5).map((l) => `    ${l}`));
  if (report.unexpected.length > 0) lines.push(`  unexpected responses ${report.unexpected.length}:`, ...report.unexpected.slice(0, 5).map((l) => `    ${l}`));
  return lines.join('\n');
}

/** The run found nothing wrong. */
export function passed(report: NemesisReport): boolean {
  return report.recovered && report.splitBrain.length === 0 && report.lostWrites.length === 0 && report.verdicts.every((v) => v.result === 'linearizable');
}
