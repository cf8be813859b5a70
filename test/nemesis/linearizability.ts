// A linearizability checker for one register per key with read, write and compare-and-set: Wing &
// Gong's search with Lowe's memoisation, as Porcupine and Knossos run it. Operations are events on
// a time line (invocation, completion); the search linearizes, one at a time, an operation whose
// invocation comes before every completion still pending, checks it against the register, and
// backtracks when stuck. A (set of linearized operations, register state) pair seen before is not
// explored again: that is what keeps tens of thousands of operations to seconds.
//
// Outcomes: 'ok' operations took effect once, between invocation and completion, with the recorded
// output. 'failed' ones never took effect (dropped before checking). 'unknown' ones (a timeout, a
// dropped connection) may have taken effect at any time after their invocation, or never: their
// completion is at infinity and their output is free, so "never" is the same as "last of all".
// Unknown reads change nothing and are dropped too.

export type RegisterValue = string | null;

export type RegisterOp =
  | { kind: 'read'; output?: RegisterValue }
  | { kind: 'write'; value: string }
  | { kind: 'cas'; from: RegisterValue; to: string; output?: boolean };

export type Outcome = 'ok' | 'failed' | 'unknown';

export interface Operation {
  key: string;
  client: number;
  /** Invocation and completion, on one monotonic clock; `ret` is ignored unless the outcome is 'ok'. */
  call: number;
  ret: number;
  outcome: Outcome;
  op: RegisterOp;
}

export interface KeyVerdict {
  key: string;
  /** 'undecided': the search hit its budget (a history too concurrent to decide in time). */
  result: 'linearizable' | 'violation' | 'undecided';
  operations: number;
  /** Search steps taken (lifts and backtracks). */
  steps: number;
  /** For a violation: the longest prefix linearized, and the operations none of which could follow it. */
  explanation?: string;
}

export interface CheckBudget {
  /** Search steps per key. */
  maxSteps?: number;
  /** Wall-clock milliseconds per key. */
  maxMs?: number;
}

const INITIAL: RegisterValue = null;

/** The register: the state after `op`, or undefined when `op` cannot happen in `state` with its output. */
function step(state: RegisterValue, op: RegisterOp, known: boolean): RegisterValue | undefined {
  switch (op.kind) {
    case 'read':
      return op.output === state ? state : undefined;
    case 'write':
      return op.value;
    case 'cas': {
      const succeeds = state === op.from;
      if (known && op.output !== succeeds) return undefined;
      return succeeds ? op.to : state;
    }
  }
}

interface Node {
  op: number;
  call: boolean;
  time: number;
  match: Node | null;
  prev: Node | null;
  next: Node | null;
}

/** Checks every key on its own (a register per key: linearizability is compositional). */
export function checkHistory(history: Operation[], budget: CheckBudget = {}): KeyVerdict[] {
  const byKey = new Map<string, Operation[]>();
  for (const o of history) {
    let ops = byKey.get(o.key);
    if (!ops) byKey.set(o.key, (ops = []));
    ops.push(o);
  }
  return [...byKey.keys()].sort().map((key) => checkKey(key, byKey.get(key)!, budget));
}

export function checkKey(key: string, all: Operation[], budget: CheckBudget = {}): KeyVerdict {
  const maxSteps = budget.maxSteps ?? 20_000_000;
  const deadline = Date.now() + (budget.maxMs ?? 60_000);
  // Failed operations never happened; an unknown read tells nothing.
  const ops = all
    .filter((o) => o.outcome === 'ok' || (o.outcome === 'unknown' && o.op.kind !== 'read'))
    .map((o) => ({ ...o, ret: o.outcome === 'ok' ? o.ret : Infinity }))
    .sort((a, b) => a.call - b.call);
  for (const o of ops) {
    if (o.outcome === 'ok' && !(o.ret >= o.call)) throw new Error(`operation on ${key} completes (${o.ret}) before its invocation (${o.call})`);
  }
  const n = ops.length;
  const known = ops.map((o) => o.outcome === 'ok');

  // The time line: invocations before completions at equal times (such operations overlap).
  const events: Node[] = [];
  ops.forEach((o, i) => {
    const ret: Node = { op: i, call: false, time: o.ret, match: null, prev: null, next: null };
    const call: Node = { op: i, call: true, time: o.call, match: ret, prev: null, next: null };
    events.push(call, ret);
  });
  events.sort((a, b) => a.time - b.time || Number(b.call) - Number(a.call) || a.op - b.op);
  const head: Node = { op: -1, call: false, time: -Infinity, match: null, prev: null, next: null };
  let last = head;
  for (const e of events) {
    last.next = e;
    e.prev = last;
    last = e;
  }

  const lift = (e: Node) => {
    e.prev!.next = e.next;
    e.next!.prev = e.prev; // a call always has its completion after it
    const m = e.match!;
    m.prev!.next = m.next;
    if (m.next) m.next.prev = m.prev;
  };
  const unlift = (e: Node) => {
    const m = e.match!;
    m.prev!.next = m;
    if (m.next) m.next.prev = m;
    e.prev!.next = e;
    e.next!.prev = e;
  };

  // The linearized set, compactly for the cache: every known operation below `frontier` (in
  // invocation order), the few known ones past it, and the unknown ones (they stay open for good,
  // so they must not pin the frontier).
  const linearized = new Uint8Array(n);
  let frontier = 0;
  let knownLinearized = 0;
  const unknownIds = ops.flatMap((o, i) => (known[i] ? [] : [i]));
  const advanceFrontier = () => {
    while (frontier < n && (linearized[frontier] || !known[frontier])) frontier++;
  };
  advanceFrontier();
  const values = new Map<RegisterValue, number>();
  const valueId = (v: RegisterValue) => {
    let id = values.get(v);
    if (id === undefined) values.set(v, (id = values.size));
    return id;
  };
  // Known operations below the frontier, counted once per frontier move.
  const knownBefore = new Int32Array(n + 1);
  for (let i = 0; i < n; i++) knownBefore[i + 1] = knownBefore[i] + (known[i] ? 1 : 0);
  const signature = (state: RegisterValue): string => {
    let extras = knownLinearized - knownBefore[frontier];
    const parts: number[] = [valueId(state), frontier];
    for (let i = frontier + 1; extras > 0 && i < n; i++) {
      if (known[i] && linearized[i]) {
        parts.push(i);
        extras--;
      }
    }
    parts.push(-1);
    for (const u of unknownIds) if (linearized[u]) parts.push(u);
    return parts.join(',');
  };

  const seen = new Set<string>();
  const calls: { node: Node; state: RegisterValue }[] = [];
  let state: RegisterValue = INITIAL;
  let entry = head.next;
  let steps = 0;
  let best = { depth: -1, linearized: [] as number[], state: INITIAL as RegisterValue, stuck: [] as number[] };

  const mark = (i: number, on: boolean) => {
    linearized[i] = on ? 1 : 0;
    if (!known[i]) return;
    knownLinearized += on ? 1 : -1;
    if (on) advanceFrontier();
    else if (i < frontier) frontier = i;
  };

  const verdict = (result: KeyVerdict['result'], explanation?: string): KeyVerdict => ({ key, result, operations: n, steps, explanation });

  while (head.next !== null) {
    if (++steps > maxSteps || (steps % 4096 === 0 && Date.now() > deadline)) {
      return verdict('undecided', `gave up after ${steps} steps; longest linearized prefix ${best.depth} of ${n}`);
    }
    if (entry === null) throw new Error('unreachable: the list ends with a completion');
    if (entry.call) {
      const next = step(state, ops[entry.op].op, known[entry.op]);
      if (next !== undefined) {
        mark(entry.op, true);
        const sig = signature(next);
        if (!seen.has(sig)) {
          seen.add(sig);
          calls.push({ node: entry, state });
          state = next;
          lift(entry);
          entry = head.next;
          continue;
        }
        mark(entry.op, false);
      }
      entry = entry.next;
    } else {
      // A completion: every operation invoked before it was tried; nothing fits here.
      if (calls.length > best.depth) {
        const stuck: number[] = [];
        for (let e: Node | null = head.next; e !== null && stuck.length < 8; e = e.next) if (e.call) stuck.push(e.op);
        if (!stuck.includes(entry.op)) stuck.unshift(entry.op);
        best = { depth: calls.length, linearized: calls.slice(-6).map((c) => c.node.op), state, stuck };
      }
      const top = calls.pop();
      if (!top) return verdict('violation', explain(ops, best));
      entry = top.node;
      state = top.state;
      mark(entry.op, false);
      unlift(entry);
      entry = entry.next;
    }
  }
  return verdict('linearizable');
}

function describe(o: Operation): string {
  const t = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '∞');
  const v = (x: RegisterValue) => (x === null ? 'nil' : JSON.stringify(x));
  let what: string;
  switch (o.op.kind) {
    case 'read':
      what = `read -> ${v(o.op.output ?? null)}`;
      break;
    case 'write':
      what = `write ${v(o.op.value)}`;
      break;
    case 'cas':
      what = `cas ${v(o.op.from)} -> ${v(o.op.to)}${o.outcome === 'ok' ? ` = ${o.op.output}` : ''}`;
      break;
  }
  return `client ${o.client} [${t(o.call)}, ${t(o.ret)}] ${what} (${o.outcome})`;
}

function explain(ops: Operation[], best: { depth: number; linearized: number[]; state: RegisterValue; stuck: number[] }): string {
  return [
    `linearized ${best.depth} of ${ops.length} operations; the last of them:`,
    ...best.linearized.map((i) => `  ${describe(ops[i])}`),
    `register then holds ${best.state === null ? 'nil' : JSON.stringify(best.state)}; none of these can come next:`,
    ...best.stuck.map((i) => `  ${describe(ops[i])}`),
  ].join('\n');
}

export { describe as describeOperation };
