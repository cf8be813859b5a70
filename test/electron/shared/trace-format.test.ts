// The trace format: changes between states rebuild each state exactly, and a file is read only when
// every line of it is what the format says (electron/shared/trace-format.md).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ClusterState } from '../../../electron/shared/api.js';
import { applyDelta, DeltaEncoder, parseTrace, readOnlyState, serializeTrace, TRACE_FORMAT, TRACE_LIMITS, TRACE_VERSION, TraceFormatError, type TraceFrame, type TraceHeader } from '../../../electron/shared/trace-format.js';
import { makeNode, makeState } from '../../renderer/fakeApi.js';

const ids = ['n1', 'n2', 'n3', 'n4'];

/** An arbitrary state: nodes come and go, optional fields appear and vanish, the timeline grows and is trimmed. */
const stateArb = fc
  .record({
    nodes: fc.subarray(ids, { minLength: 1 }),
    term: fc.integer({ min: 0, max: 50 }),
    leaderIdx: fc.integer({ min: 0, max: 3 }),
    clock: fc.option(fc.integer({ min: 0, max: 1e6 }), { nil: undefined }),
    partitioned: fc.boolean(),
    errorOn: fc.option(fc.constantFrom(...ids), { nil: undefined }),
    lastIndex: fc.integer({ min: 0, max: 30 }),
    tailLength: fc.integer({ min: 0, max: 6 }),
    tailTerm: fc.integer({ min: 1, max: 3 }),
    events: fc.integer({ min: 0, max: 8 }),
    dropEvents: fc.integer({ min: 0, max: 3 }),
  })
  .map((r): ClusterState => {
    const leader = r.nodes[r.leaderIdx % r.nodes.length];
    return makeState({
      at: 1000,
      term: r.term,
      leader,
      nodes: r.nodes.map((id) =>
        makeNode({ id, role: id === leader ? 'leader' : 'follower', term: r.term, lastIndex: r.lastIndex, ...(r.errorOn === id && { error: 'unreachable', reachable: false }), logTail: Array.from({ length: Math.min(r.tailLength, r.lastIndex) }, (_, k) => ({ index: r.lastIndex - k, term: r.tailTerm, type: 'normal' as const, summary: `e${r.lastIndex - k}` })).reverse() }),
      ),
      timeline: Array.from({ length: r.events }, (_, i) => ({ at: i + r.dropEvents, term: i, leader: '', kind: 'fault' as const, detail: `e${i + r.dropEvents}` })),
      ...(r.clock !== undefined && { clock: { now: r.clock, running: true, speed: 1 } }),
      ...(r.partitioned && { partitions: [[r.nodes[0]], r.nodes.slice(1)] }),
    });
  });

describe('trace format: changes between states', () => {
  it('rebuilds every state of any sequence from the first one and the changes', () => {
    fc.assert(
      fc.property(fc.array(stateArb, { minLength: 1, maxLength: 12 }), (states) => {
        const encoder = new DeltaEncoder();
        encoder.base(states[0]);
        let rebuilt = JSON.parse(JSON.stringify(states[0])) as ClusterState;
        for (const next of states.slice(1)) {
          // Through JSON, as on disk.
          const delta = JSON.parse(JSON.stringify(encoder.encode(next)));
          rebuilt = applyDelta(rebuilt, delta);
          expect(rebuilt).toEqual(JSON.parse(JSON.stringify(next)));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('writes only what changed', () => {
    const encoder = new DeltaEncoder();
    const before = makeState({ timeline: [{ at: 1, term: 1, leader: '', kind: 'fault', detail: 'a' }] });
    encoder.base(before);
    const after = makeState({ at: 2000, timeline: [...before.timeline, { at: 2, term: 2, leader: 'n1', kind: 'fault', detail: 'b' }], nodes: [makeNode({ id: 'n1', role: 'leader' }), makeNode({ id: 'n2', commitIndex: 4 }), makeNode({ id: 'n3' })] });
    const delta = encoder.encode(after);
    expect(delta.set).toEqual({ at: 2000 });
    expect(delta.nodes).toEqual([{ id: 'n2', set: { commitIndex: 4 } }]);
    expect(delta.tl).toEqual({ drop: 0, add: [after.timeline[1]] });
    expect(delta.order).toBeUndefined();
  });

  it('writes a log tail that moved on as the entries that left it and those that joined', () => {
    const entry = (index: number) => ({ index, term: 2, type: 'normal' as const, summary: `put k${index}` });
    const tail = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => entry(from + i));
    const encoder = new DeltaEncoder();
    encoder.base(makeState({ nodes: [makeNode({ id: 'n1', role: 'leader', lastIndex: 20, logTail: tail(1, 20) })] }));
    const delta = encoder.encode(makeState({ nodes: [makeNode({ id: 'n1', role: 'leader', lastIndex: 22, logTail: tail(3, 22) })] }));
    expect(delta.nodes).toEqual([{ id: 'n1', set: { lastIndex: 22 }, tail: { drop: 2, add: [entry(21), entry(22)] } }]);
  });

  it('a past state offers nothing to act on', () => {
    const past = readOnlyState(makeState());
    expect(past.capabilities).toMatchObject({ nodeActions: [], dropMessages: false, stopAll: false });
    // The moment's simulated time and messages are shown as they were.
    expect(past.capabilities.simulatedClock).toBe(true);
    expect(past.nodes.every((n) => n.actions.length === 0)).toBe(true);
  });
});

const header = (frames: number, over: Partial<TraceHeader> = {}): TraceHeader => ({
  format: TRACE_FORMAT,
  version: TRACE_VERSION,
  cluster: { id: 'demo', name: 'Demo', kind: 'embedded' },
  from: 1000,
  to: 3000,
  frames,
  exportedAt: 5000,
  ...over,
});

function goodFile(): { text: string; frames: TraceFrame[] } {
  const first = makeState({ at: 1000 });
  const second = makeState({ at: 2000, term: 3, nodes: [makeNode({ id: 'n1', role: 'leader', term: 3 }), makeNode({ id: 'n2', term: 3 }), makeNode({ id: 'n3', term: 3 })] });
  const encoder = new DeltaEncoder();
  encoder.base(first);
  const frames: TraceFrame[] = [
    { t: 1000, key: first },
    { t: 1500, msg: { kind: 'send', id: 1, from: 'n1', to: 'n2', type: 'MsgApp', sentAt: 10, deliverAt: 15, summary: 'entries', at: 10 } },
    { t: 3000, d: encoder.encode(second) },
  ];
  return { text: serializeTrace(header(frames.length), frames), frames };
}

/** The file with line `n` (1-based) replaced. */
function withLine(text: string, n: number, line: string): string {
  const lines = text.split('\n');
  lines[n - 1] = line;
  return lines.join('\n');
}

const refused = (text: string) => {
  try {
    parseTrace(text);
  } catch (error) {
    expect(error).toBeInstanceOf(TraceFormatError);
    return (error as Error).message;
  }
  throw new Error('the file was accepted');
};

describe('trace format: reading a file', () => {
  it('reads a good file: its header, frames and every state', () => {
    const { text, frames } = goodFile();
    const parsed = parseTrace(text);
    expect(parsed.header.cluster.id).toBe('demo');
    expect(parsed.frames).toHaveLength(frames.length);
    expect(parsed.states.map((s) => [s.t, s.state.term])).toEqual([
      [1000, 2],
      [3000, 3],
    ]);
  });

  it('refuses what is not a trace, or a version it cannot read', () => {
    expect(refused('')).toMatch(/empty/);
    expect(refused('{"format": "something else"}\n')).toMatch(/not a Raft Console trace/);
    expect(refused('not json at all\n')).toMatch(/not a Raft Console trace: the first line is not JSON/);
    const { text } = goodFile();
    expect(refused(withLine(text, 1, JSON.stringify(header(2, { version: 2 as 1 }))))).toMatch(/version 2 cannot be read: this console reads version 1/);
  });

  it('refuses bad JSON, a wrong count, and frames out of order, naming the line', () => {
    const { text } = goodFile();
    expect(refused(withLine(text, 3, '{"t": 1500, "msg": '))).toMatch(/^line 3: not valid JSON/);
    expect(refused(withLine(text, 1, JSON.stringify(header(7))))).toMatch(/says 7 frames, the file has 3/);
    const lines = text.trim().split('\n');
    expect(refused([lines[0], lines[1], lines[3], lines[2]].join('\n'))).toMatch(/line 4: time 1500 is out of order/);
    // A change with no whole state before it.
    expect(refused([JSON.stringify(header(1)), lines[3]].join('\n'))).toMatch(/line 2: a change before any whole state/);
    expect(refused(withLine(text, 3, '{"t": 1500, "what": 1}'))).toMatch(/^line 3: not a frame/);
  });

  it('refuses fields out of range and ids that could name a path', () => {
    const { text } = goodFile();
    const key = (over: Record<string, unknown>) => withLine(text, 2, JSON.stringify({ t: 1000, key: { ...makeState({ at: 1000 }), ...over } }));
    expect(refused(key({ term: -1 }))).toMatch(/^line 2: key\.term: /);
    expect(refused(key({ term: 2 ** 60 }))).toMatch(/^line 2: key\.term: /);
    expect(refused(key({ nodes: [makeNode({ id: '../../etc' })] }))).toMatch(/^line 2: key\.nodes\.0\.id: /);
    expect(refused(withLine(text, 1, JSON.stringify(header(3, { cluster: { id: '..', name: 'x', kind: 'local' } }))))).toMatch(/^line 1 \(header\): cluster\.id: /);
    expect(refused(withLine(text, 1, JSON.stringify(header(3, { cluster: { id: 'a/b', name: 'x', kind: 'local' } }))))).toMatch(/^line 1 \(header\): cluster\.id: /);
    expect(refused(key({ nodes: Array.from({ length: TRACE_LIMITS.maxNodes + 1 }, (_, i) => makeNode({ id: `n${i}` })) }))).toMatch(/^line 2: key\.nodes: /);
    // A change whose result is not a valid state.
    expect(refused(withLine(text, 4, JSON.stringify({ t: 3000, d: { nodes: [{ id: 'n9', set: { term: 3 } }], order: ['n1', 'n9'] } })))).toMatch(/^line 4: the state after this change is invalid/);
    // A state of another cluster in the middle.
    expect(refused(withLine(text, 4, JSON.stringify({ t: 3000, d: { set: { clusterId: 'other' } } })))).toMatch(/a state of cluster "other" in a trace of "demo"/);
  });

  it('keeps every optional field a state may carry', () => {
    const { text } = goodFile();
    const full = makeState({
      at: 1000,
      nodes: [makeNode({ id: 'n1', role: 'leader', matchIndex: 3, electionElapsed: 1, electionTimeout: 10, hostUnreachable: 'h1', error: 'x' })],
      clock: { now: 5, running: true, speed: 1 },
      messages: [{ id: 1, from: 'n1', to: 'n2', type: 'App', sentAt: 1, deliverAt: 2, summary: 's' }],
      partitions: [['n1'], ['n2']],
      cutLinks: [{ from: 'n1', to: 'n2' }],
    } as Partial<ClusterState>);
    const parsed = parseTrace(withLine(text, 2, JSON.stringify({ t: 1000, key: full })));
    expect(parsed.states[0].state).toEqual(full);
  });

  it('refuses a file over the size limit before reading it', () => {
    expect(refused('x'.repeat(TRACE_LIMITS.maxBytes + 1))).toMatch(/larger than 64 MiB/);
  });
});
