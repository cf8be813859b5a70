// The trace format: a cluster's observed history as frames (a full ClusterState now and then, the
// changes in between), the same on disk (electron/services/trace-store.ts) and in an exported file.
// Documented in trace-format.md beside this file. Everything read from a file is validated here
// with the schemas below before it is used: a trace file may come from anyone.
import { z } from 'zod';
import type { ClusterState, MessageInFlight, NodeView, TimelineEvent } from './api.js';

export const TRACE_FORMAT = 'raft-console-trace';
export const TRACE_VERSION = 1;

/** Limits of an imported file: larger or longer is refused before anything is kept. */
export const TRACE_LIMITS = {
  /** Text of the whole file, after decompression. */
  maxBytes: 64 * 1024 * 1024,
  /** A gzip file as sent (decompressed it is still held to maxBytes). */
  maxCompressedBytes: 16 * 1024 * 1024,
  maxLineBytes: 4 * 1024 * 1024,
  maxFrames: 500_000,
  maxNodes: 100,
  maxLogTail: 1000,
  maxTimeline: 2000,
  maxMessages: 10_000,
} as const;

const MAX_INT = Number.MAX_SAFE_INTEGER;
/** Milliseconds: wall clock (since 1970) or simulated (since the cluster started); both fit in this. */
const time = z.number().finite().min(0).max(8.64e15);
const count = z.number().int().min(0).max(MAX_INT);
const text = (max: number) => z.string().max(max);
/** Ids name folders and object keys: the console API's rule, and never a name objects have built in. */
const traceId = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -')
  .refine((s) => s !== '.' && s !== '..', 'not . or ..')
  .refine((s) => !['__proto__', 'constructor', 'prototype'].includes(s), 'not a reserved name');
/** A node id, or '' where none is meant (no leader, no vote). */
const optionalId = z.union([z.literal(''), traceId]);
const role = z.enum(['follower', 'candidate', 'precandidate', 'leader']);
const nodeKind = z.enum(['embedded', 'local', 'remote']);
const nodeAction = z.enum(['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'forceNewCluster']);
const ids = (max = TRACE_LIMITS.maxNodes) => z.array(traceId).max(max);

const entrySchema = z.object({ index: count, term: count, type: z.enum(['normal', 'noop', 'config']), summary: text(1000) });

export const nodeViewSchema = z.object({
  id: traceId,
  kind: nodeKind,
  process: z.enum(['running', 'starting', 'stopped', 'paused', 'killed', 'crashed', 'unknown']),
  reachable: z.boolean(),
  lastSeen: time,
  error: text(2000).optional(),
  role: z.union([role, z.literal('unknown')]),
  membership: z.enum(['voter', 'learner', 'none']),
  term: count,
  vote: optionalId,
  leader: optionalId,
  commitIndex: count,
  appliedIndex: count,
  lastIndex: count,
  firstIndex: count,
  snapshotIndex: count,
  matchIndex: count.optional(),
  logTail: z.array(entrySchema).max(TRACE_LIMITS.maxLogTail),
  actions: z.array(nodeAction).max(10),
  hostUnreachable: traceId.optional(),
  electionElapsed: count.optional(),
  electionTimeout: count.optional(),
});

const membershipSchema = z.object({ voters: ids(), votersOutgoing: ids(), learners: ids() });

const timelineEventSchema = z.object({
  at: time,
  term: count,
  leader: optionalId,
  kind: z.enum(['election-started', 'leader-elected', 'leader-lost', 'membership', 'fault']),
  detail: text(1000),
});

const messageSchema = z.object({ id: count, from: traceId, to: traceId, type: text(40), sentAt: time, deliverAt: time, summary: text(1000) });

const capabilitiesSchema = z.object({
  nodeActions: z.array(nodeAction).max(10),
  simulatedClock: z.boolean(),
  dropMessages: z.boolean(),
  electionTimers: z.boolean(),
  stopAll: z.boolean(),
});

const factsSchema = z.object({
  voters: count,
  majority: count,
  votersOutgoing: count.optional(),
  majorityOutgoing: count.optional(),
  votersUp: ids(),
  votersSuspended: ids(),
  votersDown: ids(),
  hasQuorum: z.boolean(),
  quorumLostForGood: z.boolean(),
  failuresTolerated: count,
  leadership: z.enum(['leader', 'electing', 'no-quorum']),
  lag: z.record(traceId, count.nullable()),
  takeoverOrder: ids(),
});

export const clusterStateSchema = z.object({
  clusterId: traceId,
  name: z.string().min(1).max(80),
  kind: nodeKind,
  capabilities: capabilitiesSchema,
  at: time,
  leader: optionalId,
  term: count,
  members: membershipSchema,
  nodes: z.array(nodeViewSchema).max(TRACE_LIMITS.maxNodes),
  timeline: z.array(timelineEventSchema).max(TRACE_LIMITS.maxTimeline),
  clock: z.object({ now: time, running: z.boolean(), speed: z.number().finite().min(0).max(1000) }).optional(),
  messages: z.array(messageSchema).max(TRACE_LIMITS.maxMessages).optional(),
  partitions: z.array(ids()).max(TRACE_LIMITS.maxNodes).optional(),
  cutLinks: z.array(z.object({ from: traceId, to: traceId })).max(TRACE_LIMITS.maxNodes * TRACE_LIMITS.maxNodes).optional(),
  facts: factsSchema,
});

// The schema describes exactly the API's type: a state read from a file is a ClusterState.
const stateFromSchema: (s: z.output<typeof clusterStateSchema>) => ClusterState = (s) => s;
void stateFromSchema;

/** One network event of an embedded cluster (every message sent, delivered or dropped), on its simulated clock. */
export const traceMessageSchema = messageSchema.extend({
  kind: z.enum(['send', 'deliver', 'drop']),
  at: time,
  reason: text(40).optional(),
});
export type TraceMessage = z.output<typeof traceMessageSchema>;
const messageFromSchema: (m: z.output<typeof messageSchema>) => MessageInFlight = (m) => m;
void messageFromSchema;

/** The top-level fields a delta may set (nodes and the timeline have their own, finer changes). */
const deltaSetSchema = clusterStateSchema.omit({ nodes: true, timeline: true }).partial();
/** A field a change removes (an optional one gone); the state after it is checked whole. */
const fieldName = z.string().regex(/^[A-Za-z]{1,40}$/);

export const stateDeltaSchema = z.object({
  /** Top-level fields that changed, whole. */
  set: deltaSetSchema.optional(),
  /** Optional top-level fields that are gone. */
  del: z.array(fieldName).max(40).optional(),
  /** The node ids in order, when that changed (a node added or removed). */
  order: ids().optional(),
  /** Per node: the fields that changed (a new node: all of them), and optional fields that are gone. */
  nodes: z
    .array(
      z.object({
        id: traceId,
        set: nodeViewSchema.omit({ id: true }).partial().optional(),
        del: z.array(fieldName).max(40).optional(),
        /** The log tail: entries dropped from its start and appended at its end (a tail moves on as entries are written). */
        tail: z.object({ drop: z.number().int().min(0).max(TRACE_LIMITS.maxLogTail), add: z.array(entrySchema).max(TRACE_LIMITS.maxLogTail) }).optional(),
      }),
    )
    .max(TRACE_LIMITS.maxNodes)
    .optional(),
  /** The timeline: events dropped from its start and appended at its end, or replaced whole. */
  tl: z
    .union([
      z.object({ drop: z.number().int().min(0).max(TRACE_LIMITS.maxTimeline), add: z.array(timelineEventSchema).max(TRACE_LIMITS.maxTimeline) }),
      z.object({ set: z.array(timelineEventSchema).max(TRACE_LIMITS.maxTimeline) }),
    ])
    .optional(),
});
export type StateDelta = z.output<typeof stateDeltaSchema>;

/** A frame is a whole state (key), the change from the frame before (d), or a network event (msg). `t`: wall-clock ms. */
export const frameSchemas = {
  key: z.object({ t: time, key: clusterStateSchema }).strict(),
  d: z.object({ t: time, d: stateDeltaSchema }).strict(),
  msg: z.object({ t: time, msg: traceMessageSchema }).strict(),
} as const;

/** Checks one frame with the schema of its kind (so an error names the field, not just "no kind matched"). */
function parseFrame(value: unknown): z.ZodSafeParseResult<TraceFrame> | { success: false; message: string } {
  const kind = value && typeof value === 'object' ? (['key', 'd', 'msg'] as const).find((k) => Object.hasOwn(value, k)) : undefined;
  if (!kind) return { success: false, message: 'not a frame: it needs "t" and one of "key", "d", "msg"' };
  return frameSchemas[kind].safeParse(value) as z.ZodSafeParseResult<TraceFrame>;
}
export type TraceFrame = { t: number; key: ClusterState } | { t: number; d: StateDelta } | { t: number; msg: TraceMessage };

export const traceHeaderSchema = z.object({
  format: z.literal(TRACE_FORMAT),
  version: z.literal(TRACE_VERSION),
  cluster: z.object({ id: traceId, name: z.string().min(1).max(80), kind: nodeKind }),
  /** Wall-clock ms of the first and last frame. */
  from: time,
  to: time,
  frames: z.number().int().min(1).max(TRACE_LIMITS.maxFrames),
  exportedAt: time,
});
export type TraceHeader = z.output<typeof traceHeaderSchema>;

export class TraceFormatError extends Error {
  override name = 'TraceFormatError';
}

/**
 * Records states as frames: `encode` returns a delta against the state before, as long as one is
 * known; `reset` forgets it (the next frame is then a keyframe). Compares serialized parts, so the
 * states given may be mutated afterwards (a driver's timeline array is).
 */
export class DeltaEncoder {
  private top = new Map<string, string>();
  private nodes = new Map<string, Map<string, string>>();
  private tails = new Map<string, string[]>();
  private order: string[] = [];
  private timeline: string[] = [];
  private primed = false;

  reset(): void {
    this.primed = false;
  }

  get hasBase(): boolean {
    return this.primed;
  }

  /** Remembers `state` as the base without producing a delta (it was written as a keyframe). */
  base(state: ClusterState): void {
    this.encode(state);
  }

  encode(state: ClusterState): StateDelta {
    const delta: StateDelta = {};
    const set: Record<string, unknown> = {};
    const top = new Map<string, string>();
    for (const [k, v] of Object.entries(state)) {
      if (k === 'nodes' || k === 'timeline' || v === undefined) continue;
      const json = JSON.stringify(v);
      top.set(k, json);
      if (this.top.get(k) !== json) set[k] = v;
    }
    const gone = [...this.top.keys()].filter((k) => !top.has(k));
    if (Object.keys(set).length) delta.set = set as StateDelta['set'];
    if (gone.length) delta.del = gone;

    const order = state.nodes.map((n) => n.id);
    if (order.join('\n') !== this.order.join('\n')) delta.order = order;
    const nodes = new Map<string, Map<string, string>>();
    const tails = new Map<string, string[]>();
    const changes: NonNullable<StateDelta['nodes']> = [];
    for (const node of state.nodes) {
      const before = this.nodes.get(node.id);
      const fields = new Map<string, string>();
      const nodeSet: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) {
        if (k === 'id' || k === 'logTail' || v === undefined) continue;
        const json = JSON.stringify(v);
        fields.set(k, json);
        if (before?.get(k) !== json) nodeSet[k] = v;
      }
      const nodeDel = before ? [...before.keys()].filter((k) => !fields.has(k)) : [];
      const tail = node.logTail.map((e) => JSON.stringify(e));
      const tailChange = before ? listChange(this.tails.get(node.id) ?? [], tail, node.logTail) : { set: node.logTail };
      if (tailChange && 'set' in tailChange) nodeSet.logTail = tailChange.set;
      nodes.set(node.id, fields);
      tails.set(node.id, tail);
      if (Object.keys(nodeSet).length || nodeDel.length || (tailChange && 'drop' in tailChange)) {
        changes.push({
          id: node.id,
          ...(Object.keys(nodeSet).length && { set: nodeSet as Partial<NodeView> }),
          ...(nodeDel.length && { del: nodeDel }),
          ...(tailChange && 'drop' in tailChange && { tail: tailChange }),
        });
      }
    }
    if (changes.length) delta.nodes = changes;

    const timeline = state.timeline.map((e) => JSON.stringify(e));
    const tl = listChange(this.timeline, timeline, state.timeline);
    if (tl) delta.tl = tl;

    this.top = top;
    this.nodes = nodes;
    this.tails = tails;
    this.order = order;
    this.timeline = timeline;
    this.primed = true;
    return delta;
  }
}

/** The items dropped from the start and added at the end, or the whole list when it changed otherwise (compared serialized). */
function listChange<T>(before: string[], after: string[], events: T[]): { drop: number; add: T[] } | { set: T[] } | undefined {
  if (before.length === after.length && before.every((e, i) => e === after[i])) return undefined;
  if (after.length === 0) return { set: [] };
  const drop = before.length === 0 ? 0 : before.indexOf(after[0]);
  if (drop >= 0) {
    const kept = before.length - drop;
    if (kept <= after.length && before.slice(drop).every((e, i) => e === after[i])) return { drop, add: events.slice(kept) };
  }
  return { set: events };
}

/** The state after `delta` (a new object; `state` is left as it was). */
export function applyDelta(state: ClusterState, delta: StateDelta): ClusterState {
  const next: Record<string, unknown> = { ...state, ...(delta.set ?? {}) };
  for (const k of delta.del ?? []) delete next[k];
  const byId = new Map(state.nodes.map((n) => [n.id, n] as const));
  for (const change of delta.nodes ?? []) {
    const node: Record<string, unknown> = { ...(byId.get(change.id) ?? { id: change.id }), ...(change.set ?? {}) };
    for (const k of change.del ?? []) delete node[k];
    if (change.tail) node.logTail = [...((byId.get(change.id)?.logTail ?? []) as NodeView['logTail']).slice(change.tail.drop), ...change.tail.add];
    byId.set(change.id, node as unknown as NodeView);
  }
  const order = delta.order ?? state.nodes.map((n) => n.id);
  next.nodes = order.map((id) => byId.get(id)).filter((n): n is NodeView => n !== undefined);
  if (delta.tl) next.timeline = 'set' in delta.tl ? delta.tl.set : [...state.timeline.slice(delta.tl.drop), ...delta.tl.add];
  return next as unknown as ClusterState;
}

/**
 * A state seen in the past (or in a replay): what was there, and nothing to act on. Its driver's
 * actions belong to the cluster as it is now, not to this moment. (A simulated clock stays: its time
 * and messages are part of the moment; the renderer offers no clock controls while it shows the past.)
 */
export function readOnlyState(state: ClusterState): ClusterState {
  return {
    ...state,
    capabilities: { ...state.capabilities, nodeActions: [], dropMessages: false, stopAll: false },
    nodes: state.nodes.map((n) => ({ ...n, actions: [] })),
  };
}

/** A trace file as text: the header line, then one frame per line (newline-delimited JSON). */
export function serializeTrace(header: TraceHeader, frames: readonly TraceFrame[]): string {
  return [JSON.stringify(header), ...frames.map((f) => JSON.stringify(f))].join('\n') + '\n';
}

export interface ParsedTrace {
  header: TraceHeader;
  frames: TraceFrame[];
  /** Every state the frames describe, in order, each checked whole. */
  states: Array<{ t: number; state: ClusterState }>;
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue.path.length ? issue.path.join('.') : 'value'}: ${issue.message}`;
}

/**
 * Reads and checks a trace file's text: the header (format, version, cluster), then every frame in
 * order, each state they describe checked whole. Throws TraceFormatError naming the line and field.
 */
export function parseTrace(content: string): ParsedTrace {
  if (content.length > TRACE_LIMITS.maxBytes) throw new TraceFormatError(`the file is larger than ${TRACE_LIMITS.maxBytes / 1024 / 1024} MiB`);
  const lines = content.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0 || !lines[0].trim()) throw new TraceFormatError('the file is empty');
  if (lines.length - 1 > TRACE_LIMITS.maxFrames) throw new TraceFormatError(`the file has more than ${TRACE_LIMITS.maxFrames} frames`);
  const json = (line: string, n: number): unknown => {
    if (line.length > TRACE_LIMITS.maxLineBytes) throw new TraceFormatError(`line ${n}: longer than ${TRACE_LIMITS.maxLineBytes / 1024 / 1024} MiB`);
    try {
      return JSON.parse(line);
    } catch {
      throw new TraceFormatError(n === 1 ? 'not a Raft Console trace: the first line is not JSON' : `line ${n}: not valid JSON`);
    }
  };
  const first = json(lines[0], 1) as { format?: unknown; version?: unknown } | null;
  if (!first || typeof first !== 'object' || first.format !== TRACE_FORMAT) throw new TraceFormatError(`not a Raft Console trace: the first line must say "format": "${TRACE_FORMAT}"`);
  if (first.version !== TRACE_VERSION) {
    throw new TraceFormatError(`trace format version ${JSON.stringify(first.version)} cannot be read: this console reads version ${TRACE_VERSION}`);
  }
  const headerResult = traceHeaderSchema.safeParse(first);
  if (!headerResult.success) throw new TraceFormatError(`line 1 (header): ${issueText(headerResult.error)}`);
  const header = headerResult.data;
  if (header.to < header.from) throw new TraceFormatError('line 1 (header): "to" is before "from"');
  if (header.frames !== lines.length - 1) throw new TraceFormatError(`line 1 (header): says ${header.frames} frames, the file has ${lines.length - 1}`);

  const frames: TraceFrame[] = [];
  const states: ParsedTrace['states'] = [];
  let state: ClusterState | undefined;
  let lastT = header.from;
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    const result = parseFrame(json(lines[i], n));
    if (!result.success) throw new TraceFormatError(`line ${n}: ${'message' in result ? result.message : issueText(result.error)}`);
    const frame = result.data;
    if (frame.t < lastT || frame.t > header.to) throw new TraceFormatError(`line ${n}: time ${frame.t} is out of order (frames run from ${header.from} to ${header.to}, each no earlier than the one before)`);
    lastT = frame.t;
    if ('key' in frame) state = frame.key;
    else if ('d' in frame) {
      if (!state) throw new TraceFormatError(`line ${n}: a change before any whole state (the first state frame must be a key frame)`);
      const checked = clusterStateSchema.safeParse(applyDelta(state, frame.d));
      if (!checked.success) throw new TraceFormatError(`line ${n}: the state after this change is invalid: ${issueText(checked.error)}`);
      state = checked.data;
    }
    if (state && !('msg' in frame)) {
      if (state.clusterId !== header.cluster.id) throw new TraceFormatError(`line ${n}: a state of cluster "${state.clusterId}" in a trace of "${header.cluster.id}"`);
      states.push({ t: frame.t, state });
    }
    frames.push(frame);
  }
  if (states.length === 0) throw new TraceFormatError('the file holds no cluster state');
  return { header, frames, states };
}
