// Time travel's backend: records every state a cluster publishes (the same feed the renderer gets)
// into the cluster's trace under <data>/traces/<clusterId>/, answers what a cluster looked like at a
// moment, exports a time range as one trace file, and imports such a file as a read-only replay
// under <data>/replays/<id>/. An import is checked whole before anything is written.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ApiError } from '../shared/api.js';
import type { ClusterState, ClusterSummary, TraceExport, TraceMomentView, TraceRange } from '../shared/api.js';
import { DeltaEncoder, parseTrace, readOnlyState, serializeTrace, TRACE_FORMAT, TRACE_LIMITS, TRACE_VERSION, TraceFormatError, type TraceFrame, type TraceMessage } from '../shared/trace-format.js';
import { childPath } from './paths.js';
import { Replay, REPLAY_STORE } from './trace-replay.js';
import { TraceStore, type TraceStoreOptions } from './trace-store.js';

export interface TraceServiceOptions {
  /** Each live cluster's trace: segment size, total bound, key frame spacing. */
  store?: TraceStoreOptions;
  /** A trace that cannot be written (disk full…): said once per cluster; the cluster runs on. */
  onError?: (clusterId: string, error: unknown) => void;
  /** A cluster's health as the console lists it (console-service's rule), for a recorded moment. */
  health?: (state: ClusterState) => ClusterSummary['health'];
}

/** Key frames in an exported file: often enough that a reader can start anywhere without much work. */
const EXPORT_KEY_EVERY = 100;

export class TraceService {
  private readonly stores = new Map<string, TraceStore>();
  private readonly failed = new Set<string>();
  private readonly replays = new Map<string, Replay>();
  private readonly tracesDir: string;
  private readonly replaysDir: string;

  constructor(
    dataDir: string,
    private readonly options: TraceServiceOptions = {},
  ) {
    this.tracesDir = join(dataDir, 'traces');
    this.replaysDir = join(dataDir, 'replays');
  }

  /** The replays imported before, to be shown beside the clusters; one that cannot be read is reported and skipped. */
  loadReplays(onDamaged: (message: string) => void): Replay[] {
    if (!existsSync(this.replaysDir)) return [];
    for (const name of readdirSync(this.replaysDir)) {
      if (name.startsWith('.')) continue;
      try {
        const replay = Replay.open(childPath(this.replaysDir, name, 'replay id'));
        if (replay.id !== name || !replay.store.range()) throw new Error('its files do not match');
        this.replays.set(replay.id, replay);
      } catch (error) {
        onDamaged(`the replay in ${join(this.replaysDir, name)} could not be read (${(error as Error).message}); it was left as it is`);
      }
    }
    return [...this.replays.values()];
  }

  replay(id: string): Replay | undefined {
    return this.replays.get(id);
  }

  /** Appends a published state to its cluster's trace; never throws (a trace is not worth stopping a cluster for). */
  record(state: ClusterState): void {
    this.write(state.clusterId, (store) => store.record(state));
  }

  /** Appends one network event of an embedded cluster (wall-clock time `t`). */
  recordMessage(clusterId: string, message: TraceMessage, t = Date.now()): void {
    this.write(clusterId, (store) => store.recordMessage(message, t));
  }

  private write(clusterId: string, action: (store: TraceStore) => void): void {
    if (this.replays.has(clusterId) || this.failed.has(clusterId)) return;
    try {
      action(this.store(clusterId));
    } catch (error) {
      this.failed.add(clusterId);
      this.options.onError?.(clusterId, error);
    }
  }

  private store(clusterId: string): TraceStore {
    const replay = this.replays.get(clusterId);
    if (replay) return replay.store;
    let store = this.stores.get(clusterId);
    if (!store) {
      store = TraceStore.open(childPath(this.tracesDir, clusterId, 'cluster id'), this.options.store);
      this.stores.set(clusterId, store);
    }
    return store;
  }

  range(clusterId: string): TraceRange | null {
    const range = this.store(clusterId).range();
    return range && { ...range, replay: this.replays.has(clusterId) };
  }

  /** The cluster as recorded at `t`: the last state at or before it, read-only; null before the trace begins. */
  at(clusterId: string, t: number): TraceMomentView | null {
    const replay = this.replays.get(clusterId);
    const moment = replay ? replay.at(t) : this.store(clusterId).at(t);
    if (!moment) return null;
    const health = this.options.health?.(moment.state) ?? 'stopped';
    return { at: moment.t, state: replay ? moment.state : readOnlyState(moment.state), health, messages: moment.messages };
  }

  /** [from, to] of the trace (all of it by default) as one trace file. */
  export(clusterId: string, from?: number, to?: number): TraceExport {
    const range = this.store(clusterId).range();
    if (!range) throw new ApiError('not-found', `nothing of ${clusterId} has been recorded yet`);
    const start = Math.max(from ?? range.first, range.first);
    const end = Math.min(to ?? range.last, range.last);
    if (end < start) throw new ApiError('invalid-input', `trace.export: the range ends before it starts (the trace runs from ${range.first} to ${range.last})`);
    const encoder = new DeltaEncoder();
    const frames: TraceFrame[] = [];
    let bytes = 0;
    let sinceKey = 0;
    let cluster: { id: string; name: string; kind: ClusterState['kind'] } | undefined;
    const replay = this.replays.get(clusterId);
    for (const item of this.store(clusterId).states(start, end)) {
      let frame: TraceFrame;
      if ('msg' in item) {
        if (!encoder.hasBase) continue;
        frame = item;
      } else {
        const state = replay ? { ...item.state, clusterId: replay.meta.sourceId, name: replay.meta.name } : item.state;
        cluster ??= { id: state.clusterId, name: state.name, kind: state.kind };
        if (!encoder.hasBase || sinceKey >= EXPORT_KEY_EVERY) {
          encoder.base(state);
          frame = { t: item.t, key: state };
          sinceKey = 0;
        } else {
          frame = { t: item.t, d: encoder.encode(state) };
          sinceKey++;
        }
      }
      bytes += JSON.stringify(frame).length + 1;
      if (bytes > TRACE_LIMITS.maxBytes) {
        throw new ApiError('invalid-input', `trace.export: this range takes more than ${TRACE_LIMITS.maxBytes / 1024 / 1024} MiB; export a shorter one`);
      }
      frames.push(frame);
    }
    if (!cluster || frames.length === 0) throw new ApiError('not-found', `nothing of ${clusterId} was recorded in that range`);
    const text = serializeTrace(
      { format: TRACE_FORMAT, version: TRACE_VERSION, cluster, from: frames[0].t, to: frames[frames.length - 1].t, frames: frames.length, exportedAt: Date.now() },
      frames,
    );
    const stamp = new Date(frames[0].t).toISOString().replace(/[:.]/g, '-');
    return { filename: `${cluster.id}-${stamp}.raft-trace.ndjson`, text, frames: frames.length, bytes: Buffer.byteLength(text) };
  }

  /**
   * Reads a trace file (text, or gzip as base64), checks all of it, and keeps it as a new replay.
   * `isFree` says whether an id is unused (by clusters and replays). Nothing is written unless the file is good.
   */
  async import(content: string, encoding: 'text' | 'gzip-base64', isFree: (id: string) => boolean, name?: string): Promise<Replay> {
    const parsed = (() => {
      try {
        return parseTrace(decode(content, encoding));
      } catch (error) {
        if (error instanceof TraceFormatError) throw new ApiError('invalid-input', `trace.import: ${error.message}`);
        throw error;
      }
    })();
    const { header } = parsed;
    const base = `replay-${header.cluster.id}`.slice(0, 56);
    let id = base;
    for (let i = 2; !isFree(id) || this.replays.has(id) || existsSync(join(this.replaysDir, id)); i++) id = `${base}-${i}`;
    const replayName = (name?.trim() || `${header.cluster.name} (replay)`).slice(0, 80);

    mkdirSync(this.replaysDir, { recursive: true, mode: 0o700 });
    // Written aside, then renamed into place: a failure half-way leaves no replay behind.
    const staging = join(this.replaysDir, `.import-${randomBytes(6).toString('hex')}`);
    try {
      const ordered = TraceStore.open(staging, REPLAY_STORE);
      // Frames in file order: states and the network events between them.
      let s = 0;
      for (const frame of parsed.frames) {
        if ('msg' in frame) ordered.recordMessage(frame.msg, frame.t);
        else ordered.record(parsed.states[s++].state, frame.t);
      }
      ordered.close();
      await Replay.write(staging, { version: 1, id, name: replayName, kind: header.cluster.kind, sourceId: header.cluster.id, from: header.from, to: header.to, importedAt: Date.now() });
      renameSync(staging, join(this.replaysDir, id));
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
    const replay = Replay.open(join(this.replaysDir, id));
    this.replays.set(id, replay);
    return replay;
  }

  /** A cluster was deleted: its trace goes with it. A replay's files go when its driver is destroyed. */
  forget(clusterId: string): void {
    this.replays.delete(clusterId);
    const store = this.stores.get(clusterId);
    this.stores.delete(clusterId);
    if (store) store.destroy();
    else rmSync(childPath(this.tracesDir, clusterId, 'cluster id'), { recursive: true, force: true });
  }

  close(): void {
    for (const store of this.stores.values()) store.close();
    this.stores.clear();
  }
}

/** The file's text: as sent, or gunzipped within the size limit (a small file that inflates without end is refused). */
function decode(content: string, encoding: 'text' | 'gzip-base64'): string {
  if (encoding === 'text') return content;
  if (content.length > Math.ceil((TRACE_LIMITS.maxCompressedBytes * 4) / 3) + 4) throw new TraceFormatError(`the compressed file is larger than ${TRACE_LIMITS.maxCompressedBytes / 1024 / 1024} MiB`);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(content)) throw new TraceFormatError('the compressed file is not valid base64');
  let inflated: Buffer;
  try {
    inflated = gunzipSync(Buffer.from(content, 'base64'), { maxOutputLength: TRACE_LIMITS.maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || error instanceof RangeError) {
      throw new TraceFormatError(`the file decompresses to more than ${TRACE_LIMITS.maxBytes / 1024 / 1024} MiB`);
    }
    throw new TraceFormatError(`the file is not valid gzip (${(error as Error).message})`);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(inflated);
  } catch {
    throw new TraceFormatError('the decompressed file is not UTF-8 text');
  }
}
