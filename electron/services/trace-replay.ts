// An imported trace, kept as a read-only cluster: its history plays in every view, and every request
// that would act on it is refused with the reason. Stored like a live cluster's trace, in its own folder
// under <data>/replays/<id>/, with replay.json saying what it is.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { ApiError } from '../shared/api.js';
import type { ClusterCapabilities, ClusterState, ClusterSummary, KvResult, LogEntryDetail, LogEntryView, NodeLogLine } from '../shared/api.js';
import { readOnlyState } from '../shared/trace-format.js';
import type { ClusterDriver, NodeAction } from './cluster-driver.js';
import { writeFileAtomic } from '../../core/process/atomic-file.js';
import { TraceStore, type TraceMoment } from './trace-store.js';

export const REPLAY_META = 'replay.json';

export const replayMetaSchema = z.object({
  version: z.literal(1),
  id: z.string().min(1).max(64),
  name: z.string().min(1).max(80),
  kind: z.enum(['embedded', 'local', 'remote']),
  /** The cluster the trace was recorded from, as its file named it. */
  sourceId: z.string().min(1).max(64),
  from: z.number(),
  to: z.number(),
  importedAt: z.number(),
});
export type ReplayMeta = z.infer<typeof replayMetaSchema>;

/** Imported traces are never trimmed: their size was bounded when they were read. */
export const REPLAY_STORE = { maxBytes: Number.MAX_SAFE_INTEGER };

const NO_CAPABILITIES: ClusterCapabilities = { nodeActions: [], simulatedClock: false, dropMessages: false, electionTimers: false, stopAll: false };

export class Replay {
  private constructor(
    readonly meta: ReplayMeta,
    readonly store: TraceStore,
  ) {}

  static open(dir: string): Replay {
    const meta = replayMetaSchema.parse(JSON.parse(readFileSync(join(dir, REPLAY_META), 'utf8')));
    return new Replay(meta, TraceStore.open(dir, REPLAY_STORE));
  }

  static async write(dir: string, meta: ReplayMeta): Promise<void> {
    await writeFileAtomic(join(dir, REPLAY_META), JSON.stringify(meta, null, 2) + '\n');
  }

  get id(): string {
    return this.meta.id;
  }

  /** A recorded state as this replay's: its own id and name, and nothing to act on. */
  own(state: ClusterState): ClusterState {
    return readOnlyState({ ...state, clusterId: this.meta.id, name: this.meta.name });
  }

  at(t: number): TraceMoment | null {
    const moment = this.store.at(t);
    return moment && { ...moment, state: this.own(moment.state) };
  }

  last(): ClusterState | undefined {
    const range = this.store.range();
    return range ? this.at(range.last)?.state : undefined;
  }

  summary(health: ClusterSummary['health']): ClusterSummary {
    const state = this.last();
    return {
      id: this.meta.id,
      name: this.meta.name,
      kind: this.meta.kind,
      createdAt: this.meta.importedAt,
      nodes: (state?.nodes ?? []).map((n) => ({ id: n.id, kind: n.kind })),
      capabilities: NO_CAPABILITIES,
      health,
      replay: { from: this.meta.from, to: this.meta.to, sourceId: this.meta.sourceId, importedAt: this.meta.importedAt },
    };
  }
}

/** A replay seen through the console's cluster interface: it shows its last moment, and refuses every action. */
export class ReplayDriver implements ClusterDriver {
  readonly capabilities = NO_CAPABILITIES;
  private readonly lastState: ClusterState;

  constructor(readonly replay: Replay) {
    const last = replay.last();
    if (!last) throw new ApiError('invalid-input', `replay ${replay.id} holds no state`);
    this.lastState = last;
  }

  get clusterId(): string {
    return this.replay.id;
  }

  private refuse(what: string): never {
    throw new ApiError('refused', `${this.replay.meta.name} is a replay of a recorded trace: it cannot ${what}. Its history plays in the time slider.`);
  }

  actionLabel(action: NodeAction): string {
    return action;
  }

  state(): ClusterState {
    return this.lastState;
  }

  async refresh(): Promise<ClusterState> {
    return this.lastState;
  }

  start = async (): Promise<void> => this.refuse('be started');
  stop = async (): Promise<void> => this.refuse('be stopped');
  node = async (_nodeId: string, action: NodeAction): Promise<void> => this.refuse(`${action} a node`);
  partition = async (): Promise<void> => this.refuse('be partitioned');
  heal = async (): Promise<void> => this.refuse('be healed');
  kvPut = async (): Promise<KvResult> => this.refuse('take writes');
  kvGet = async (): Promise<KvResult> => this.refuse('answer reads');
  kvDelete = async (): Promise<KvResult> => this.refuse('take writes');
  kvCas = async (): Promise<KvResult> => this.refuse('take writes');
  newNodeId = (): string => this.refuse('change its membership');
  provisionNode = async (): Promise<void> => this.refuse('change its membership');
  retireNode = async (): Promise<void> => this.refuse('change its membership');
  addLearner = async (): Promise<number> => this.refuse('change its membership');
  promote = async (): Promise<number> => this.refuse('change its membership');
  remove = async (): Promise<number> => this.refuse('change its membership');
  joint = async (): Promise<number> => this.refuse('change its membership');
  transferLeader = async (): Promise<void> => this.refuse('move its leadership');

  /** The recorded log tails are all a trace holds of the logs. */
  async logEntries(nodeId: string, from: number, limit: number): Promise<LogEntryView[]> {
    const node = this.lastState.nodes.find((n) => n.id === nodeId);
    if (!node) throw new ApiError('not-found', `replay ${this.replay.id} has no node "${nodeId}"`);
    return node.logTail.filter((e) => e.index >= from).slice(0, limit);
  }

  async logEntry(nodeId: string, index: number): Promise<LogEntryDetail> {
    const entry = (await this.logEntries(nodeId, index, 1))[0];
    if (!entry || entry.index !== index) throw new ApiError('not-found', `the trace did not record entry ${index} of ${nodeId}`);
    return { ...entry, decoded: entry.summary };
  }

  async readLogs(): Promise<NodeLogLine[]> {
    return [];
  }

  followLogs(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.replay.store.close();
  }

  async destroy(): Promise<void> {
    this.replay.store.destroy();
  }
}
