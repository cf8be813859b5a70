// One cluster's recorded history on disk: segment files of newline-delimited frames (the trace format,
// electron/shared/trace-format.ts), each segment starting with a whole state so it reads on its own.
// Bounded: a segment is closed past segmentBytes, the oldest are deleted past maxBytes. Files 0600,
// folder 0700. A console that stopped mid-write leaves a torn last line; reading ignores it, and
// appending always starts a new segment, so nothing is written after a torn line.
import { closeSync, mkdirSync, openSync, readdirSync, readSync, rmSync, statSync, writeSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import type { ClusterState } from '../shared/api.js';
import { applyDelta, DeltaEncoder, type TraceFrame, type TraceMessage } from '../shared/trace-format.js';

export interface TraceStoreOptions {
  /** A segment is closed once it holds this many bytes. */
  segmentBytes?: number;
  /** Segments are deleted, oldest first, while all of them hold more than this (the one being written stays). */
  maxBytes?: number;
  /** A whole state at least every this many state frames… */
  keyEvery?: number;
  /** …and at least every this many ms of the frames' time: bounds what a read has to replay. */
  keyEveryMs?: number;
  /** Frames wait in memory at most this long (or until 64 KiB, or a read) before they are written. */
  flushMs?: number;
}

export const defaultTraceOptions: Required<TraceStoreOptions> = {
  segmentBytes: 2 * 1024 * 1024,
  maxBytes: 16 * 1024 * 1024,
  keyEvery: 100,
  keyEveryMs: 10_000,
  flushMs: 200,
};

const FLUSH_BYTES = 64 * 1024;

interface Segment {
  seq: number;
  file: string;
  /** Bytes of whole lines (a torn last line is not counted). */
  bytes: number;
  first: number;
  last: number;
  frames: number;
  /** Key frames: where a read can start. */
  keys: Array<{ t: number; offset: number }>;
}

export interface TraceMoment {
  /** Time of the state frame shown (the last one at or before the moment asked for). */
  t: number;
  state: ClusterState;
  /** Embedded clusters: network events recorded after the frame before this one, up to the moment asked for. */
  messages: TraceMessage[];
}

export interface TraceRangeInfo {
  first: number;
  last: number;
  frames: number;
  bytes: number;
}

const SEGMENT = /^trace-(\d{8})\.ndjson$/;
const FRAME_HEAD = /^\{"t":(\d+(?:\.\d+)?),"(key|d|msg)":/;

export class TraceStore {
  private readonly options: Required<TraceStoreOptions>;
  private readonly segments: Segment[] = [];
  private readonly encoder = new DeltaEncoder();
  private fd: number | null = null;
  /** Lines not yet written, and the timer that writes them. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private flushTimer?: NodeJS.Timeout;
  private failure?: Error;
  private sinceKey = 0;
  private lastKeyT = 0;
  private lastT = 0;
  private lastSeq = 0;
  private closed = false;

  private constructor(
    readonly dir: string,
    options: TraceStoreOptions,
  ) {
    this.options = { ...defaultTraceOptions, ...options };
  }

  /** Opens (creating) the folder and indexes the segments already there. */
  static open(dir: string, options: TraceStoreOptions = {}): TraceStore {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const store = new TraceStore(dir, options);
    const names = readdirSync(dir).filter((n) => SEGMENT.test(n)).sort();
    for (const name of names) {
      const segment = indexSegment(join(dir, name), Number(SEGMENT.exec(name)![1]));
      store.lastSeq = Math.max(store.lastSeq, Number(SEGMENT.exec(name)![1]));
      // A segment with no whole key frame (torn while its first line was written) has nothing to read.
      if (segment) store.segments.push(segment);
    }
    store.lastT = store.segments.at(-1)?.last ?? 0;
    return store;
  }

  range(): TraceRangeInfo | null {
    if (this.segments.length === 0) return null;
    return {
      first: this.segments[0].first,
      last: this.segments.at(-1)!.last,
      frames: this.segments.reduce((n, s) => n + s.frames, 0),
      bytes: this.segments.reduce((n, s) => n + s.bytes, 0),
    };
  }

  /** Appends a state (at its `at`, or `t`), as a whole state or the change from the last one. */
  record(state: ClusterState, t = state.at): void {
    if (this.closed) return;
    t = this.monotonic(t);
    const segment = this.active();
    const key = !this.encoder.hasBase || this.sinceKey >= this.options.keyEvery || t - this.lastKeyT >= this.options.keyEveryMs;
    let frame: TraceFrame;
    if (key) {
      this.encoder.base(state);
      frame = { t, key: state };
      this.sinceKey = 0;
      this.lastKeyT = t;
    } else {
      frame = { t, d: this.encoder.encode(state) };
      this.sinceKey++;
    }
    this.write(segment, frame, key);
  }

  /** Appends one network event (embedded clusters). */
  recordMessage(message: TraceMessage, t: number): void {
    if (this.closed) return;
    const segment = this.active();
    // A segment's reads start at a key frame: events before the first state have nothing to belong to.
    if (!this.encoder.hasBase) return;
    this.write(segment, { t: this.monotonic(t), msg: message }, false);
  }

  /** The state at `t`: the last state frame at or before it; null before the first one. */
  at(t: number): TraceMoment | null {
    this.flush();
    const segment = [...this.segments].reverse().find((s) => s.first <= t);
    if (!segment) return null;
    const keyIndex = lastIndexWhere(segment.keys, (k) => k.t <= t);
    if (keyIndex < 0) return null;
    const from = segment.keys[keyIndex].offset;
    const to = segment.keys[keyIndex + 1]?.offset ?? segment.bytes;
    let state: ClusterState | undefined;
    let stateT = 0;
    let previousT = -1;
    const events: Array<{ t: number; msg: TraceMessage }> = [];
    for (const frame of readFrames(segment.file, from, to)) {
      if (frame.t > t) break;
      if ('msg' in frame) events.push(frame);
      else {
        state = 'key' in frame ? frame.key : applyDelta(state!, frame.d);
        if (frame.t > stateT) previousT = stateT;
        stateT = frame.t;
      }
    }
    // What happened on the network since the state frame before this one: the messages that led here.
    const messages = events.filter((e) => e.t > previousT).map((e) => e.msg);
    return state ? { t: stateT, state, messages } : null;
  }

  /** Every state frame in [from, to] (the one in force at `from` first), each as a whole state, plus network events. */
  *states(from: number, to: number): Generator<{ t: number; state: ClusterState } | { t: number; msg: TraceMessage }> {
    this.flush();
    const start = this.at(from);
    if (start) yield { t: Math.max(start.t, from), state: start.state };
    for (const segment of this.segments) {
      if (segment.last <= from || segment.first > to) continue;
      let state: ClusterState | undefined;
      for (const frame of readFrames(segment.file, 0, segment.bytes)) {
        if ('msg' in frame) {
          if (frame.t > from && frame.t <= to) yield frame;
          continue;
        }
        state = 'key' in frame ? frame.key : applyDelta(state!, frame.d);
        if (frame.t > to) return;
        if (frame.t > from) yield { t: frame.t, state };
      }
    }
  }

  /** Closes the segment being written; a later record opens a new one. */
  close(): void {
    this.closed = true;
    this.closeActive();
  }

  /** Removes every file of this trace. */
  destroy(): void {
    this.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private monotonic(t: number): number {
    // Frames are kept in time order: a state built a moment before the last one written counts as written with it.
    this.lastT = Math.max(this.lastT, Math.round(t));
    return this.lastT;
  }

  private active(): Segment {
    const current = this.segments.at(-1);
    if (this.fd !== null && current) return current;
    const seq = ++this.lastSeq;
    const file = join(this.dir, `trace-${String(seq).padStart(8, '0')}.ndjson`);
    this.fd = openSync(file, 'wx', 0o600);
    const segment: Segment = { seq, file, bytes: 0, first: Infinity, last: 0, frames: 0, keys: [] };
    this.segments.push(segment);
    this.encoder.reset();
    return segment;
  }

  private write(segment: Segment, frame: TraceFrame, key: boolean): void {
    if (this.failure) throw this.failure;
    const line = JSON.stringify(frame) + '\n';
    const bytes = Buffer.from(line);
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => {
        try {
          this.flush();
        } catch (error) {
          // Said by the next record (the caller's to report): a timer has no one to tell.
          this.failure = error as Error;
        }
      }, this.options.flushMs);
      this.flushTimer.unref?.();
    }
    if (key) segment.keys.push({ t: frame.t, offset: segment.bytes });
    segment.bytes += bytes.length;
    segment.frames++;
    segment.first = Math.min(segment.first, frame.t);
    segment.last = frame.t;
    if (segment.bytes >= this.options.segmentBytes) this.closeActive();
    this.trim();
  }

  /** Writes the frames waiting in memory to the segment they belong to. */
  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.fd === null || this.pending.length === 0) return;
    writeSync(this.fd, Buffer.concat(this.pending));
    this.pending = [];
    this.pendingBytes = 0;
  }

  private closeActive(): void {
    this.flush();
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.encoder.reset();
  }

  private trim(): void {
    let total = this.segments.reduce((n, s) => n + s.bytes, 0);
    while (total > this.options.maxBytes && this.segments.length > 1) {
      const oldest = this.segments.shift()!;
      total -= oldest.bytes;
      rmSync(oldest.file, { force: true });
    }
  }
}

function lastIndexWhere<T>(items: readonly T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i])) return i;
  return -1;
}

function readRange(file: string, from: number, to: number): string {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, to - from));
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, from + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** The whole lines in [from, to) of a segment, parsed; stops at the first line that is not a frame (a torn or damaged tail). */
function* readFrames(file: string, from: number, to: number): Generator<TraceFrame> {
  const lines = readRange(file, from, to).split('\n');
  lines.pop(); // what follows the last newline: empty, or a torn line
  for (const line of lines) {
    let frame: TraceFrame;
    try {
      frame = JSON.parse(line) as TraceFrame;
    } catch {
      return;
    }
    yield frame;
  }
}

/** Finds a segment's whole lines, key frames and times; null for a segment with no key frame to start from. */
function indexSegment(file: string, seq: number): Segment | null {
  const size = statSync(file).size;
  const fd = openSync(file, 'r');
  const content = Buffer.alloc(size);
  try {
    readSync(fd, content, 0, size, 0);
  } finally {
    closeSync(fd);
  }
  const segment: Segment = { seq, file, bytes: 0, first: Infinity, last: 0, frames: 0, keys: [] };
  let offset = 0;
  for (;;) {
    const end = content.indexOf(10, offset);
    if (end < 0) break;
    const head = FRAME_HEAD.exec(content.toString('latin1', offset, Math.min(end, offset + 48)));
    if (!head) break;
    const t = Number(head[1]);
    if (head[2] === 'key') segment.keys.push({ t, offset });
    segment.first = Math.min(segment.first, t);
    segment.last = Math.max(segment.last, t);
    segment.frames++;
    offset = end + 1;
  }
  segment.bytes = offset;
  return segment.keys.length ? segment : null;
}
