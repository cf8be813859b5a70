// The cluster state feed for raftd-backed clusters (local now, remote later): each running node is
// followed through its event stream and polled for /v1/status and its log tail at a bounded rate;
// the results are folded into one ClusterState. A node that does not answer is shown unreachable,
// with role 'unknown', so a dead leader is never displayed as leading.
import type { ClusterCapabilities, ClusterState, LogEntryView, MembershipView, NodeKind, NodeView } from '../shared/api.js';
import { clusterState, membersFrom, mostAuthoritative } from './cluster-view.js';
import { nodeView } from './node-view.js';
import type { NodeProcessInfo } from './node-host.js';
import type { StatusView } from '../../core/service/wire.js';
import type { TlsMaterial } from '../../core/security/tls.js';
import { RaftdClient } from './raftd-client.js';
import { Timeline } from './timeline.js';

export interface FeedMember {
  id: string;
  kind: NodeKind;
  client?: string;
}

export interface FeedSource {
  clusterId: string;
  name: string;
  kind: NodeKind;
  capabilities: ClusterCapabilities;
  token?: string;
  /** The console's client certificate, for a cluster with mutual TLS. */
  tls?: TlsMaterial;
  members(): FeedMember[];
  /** What the console knows of the node's process; null when it cannot know. */
  processInfo(nodeId: string): Promise<NodeProcessInfo | null> | NodeProcessInfo | null;
  partitions(): string[][];
}

export interface FeedOptions {
  /** Status poll period per node. */
  pollMs?: number;
  /** Soonest re-poll after an event from the node: bounds the request rate under busy streams. */
  minRefreshMs?: number;
  /** Entries of each node's log shown in the tail. */
  tailSize?: number;
}

interface Tracked {
  member: FeedMember;
  client: RaftdClient;
  status?: StatusView;
  reachable: boolean;
  /** The process as last looked at (each poll, and at once after the driver starts or signals it). */
  proc: NodeProcessInfo | null;
  /** Reached at least once since its process started: until then a running process is 'starting'. */
  seenSincePid?: number;
  lastSeen: number;
  error?: string;
  tail: LogEntryView[];
  tailKey: string;
  stopEvents?: () => void;
  timer?: NodeJS.Timeout;
  due: number;
  lastPoll: number;
  polling?: Promise<void>;
}

export class RaftdFeed {
  private readonly nodes = new Map<string, Tracked>();
  readonly timeline = new Timeline(() => Date.now());
  private publishTimer?: NodeJS.Timeout;
  private lastPublished = '';
  private closed = false;
  private readonly pollMs: number;
  private readonly minRefreshMs: number;
  private readonly tailSize: number;

  constructor(
    private readonly source: FeedSource,
    private readonly publish: (state: ClusterState) => void,
    options: FeedOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 1000;
    this.minRefreshMs = options.minRefreshMs ?? 250;
    this.tailSize = options.tailSize ?? 20;
    this.sync();
  }

  /** Built on demand from the last polls; the driver rechecks processes it acted on, so a node it just stopped shows stopped. */
  state(): ClusterState {
    return this.build();
  }

  /** Polls every node now and returns the resulting state (for operations that must act on fresh data). */
  async refresh(): Promise<ClusterState> {
    this.sync();
    await Promise.all([...this.nodes.keys()].map((id) => this.poll(id)));
    return this.build();
  }

  /** Follows membership of the definition: starts tracking new nodes, forgets removed ones. */
  sync(): void {
    if (this.closed) return;
    const members = this.source.members();
    for (const [id, tracked] of this.nodes) {
      if (!members.some((m) => m.id === id)) {
        this.untrack(tracked);
        this.nodes.delete(id);
      }
    }
    for (const member of members) {
      const existing = this.nodes.get(member.id);
      if (existing && existing.member.client === member.client) continue;
      if (existing) this.untrack(existing);
      const tracked: Tracked = {
        member,
        client: new RaftdClient(member.client ?? '', this.source.token, Math.min(2000, this.pollMs * 2), undefined, this.source.tls),
        reachable: false,
        proc: existing?.proc ?? null,
        lastSeen: 0,
        tail: [],
        tailKey: '',
        due: 0,
        lastPoll: 0,
      };
      this.nodes.set(member.id, tracked);
      this.schedule(tracked, 0);
    }
    this.changed();
  }

  /** Looks at the processes (one node's, or every node's) now, then polls soon. */
  async recheck(nodeId?: string): Promise<void> {
    const tracked = [...this.nodes.values()].filter((t) => !nodeId || t.member.id === nodeId);
    await Promise.all(tracked.map(async (t) => (t.proc = await this.source.processInfo(t.member.id))));
    this.note();
  }

  /** Something happened (an operation, a fault): poll soon and record it on the timeline when given. */
  note(fault?: string): void {
    if (fault) this.timeline.add('fault', fault);
    for (const tracked of this.nodes.values()) this.schedule(tracked, 0);
    this.changed();
  }

  close(): void {
    this.closed = true;
    for (const tracked of this.nodes.values()) this.untrack(tracked);
    clearTimeout(this.publishTimer);
  }

  private untrack(tracked: Tracked): void {
    clearTimeout(tracked.timer);
    tracked.timer = undefined;
    stopFollowing(tracked);
  }

  /** Polls the node after `delayMs`, never sooner than minRefreshMs after its last poll; an earlier pending poll wins. */
  private schedule(tracked: Tracked, delayMs: number): void {
    if (this.closed) return;
    const due = Math.max(Date.now() + delayMs, tracked.lastPoll + this.minRefreshMs);
    if (tracked.timer && tracked.due <= due) return;
    clearTimeout(tracked.timer);
    tracked.due = due;
    tracked.timer = setTimeout(() => {
      tracked.timer = undefined;
      void this.poll(tracked.member.id).finally(() => {
        if (this.nodes.get(tracked.member.id) === tracked) this.schedule(tracked, this.pollMs);
      });
    }, due - Date.now());
    tracked.timer.unref?.();
  }

  private poll(id: string): Promise<void> {
    const tracked = this.nodes.get(id);
    if (!tracked) return Promise.resolve();
    tracked.polling ??= this.pollOnce(tracked).finally(() => {
      tracked.polling = undefined;
      tracked.lastPoll = Date.now();
      this.changed();
    });
    return tracked.polling;
  }

  private async pollOnce(tracked: Tracked): Promise<void> {
    const proc = await this.source.processInfo(tracked.member.id);
    tracked.proc = proc;
    const down = downReason(proc);
    if (down) {
      // Not running (or paused: it could not answer anyway): no requests, and say why.
      tracked.reachable = false;
      tracked.error = down;
      stopFollowing(tracked);
      return;
    }
    try {
      const status = await tracked.client.status();
      const tailKey = `${status.lastIndex}/${status.term}/${status.snapshotIndex}`;
      if (tailKey !== tracked.tailKey) {
        const from = Math.max(status.firstIndex ?? status.snapshotIndex + 1, status.lastIndex - this.tailSize + 1, 1);
        tracked.tail = status.lastIndex >= from ? await tracked.client.log(from, this.tailSize) : [];
        tracked.tailKey = tailKey;
      }
      // Status and tail change together: a state built meanwhile never shows a new status with an old tail.
      tracked.status = status;
      tracked.reachable = true;
      tracked.error = undefined;
      tracked.lastSeen = Date.now();
      tracked.seenSincePid = proc?.pid;
      if (!tracked.stopEvents) this.followEvents(tracked);
    } catch (error) {
      tracked.reachable = false;
      tracked.error = (error as Error).message;
      stopFollowing(tracked);
    }
  }

  private followEvents(tracked: Tracked): void {
    tracked.stopEvents = tracked.client.events(
      () => this.schedule(tracked, 0),
      () => {
        tracked.stopEvents = undefined;
        this.schedule(tracked, 0);
      },
    );
  }

  private changed(): void {
    if (this.closed || this.publishTimer) return;
    this.publishTimer = setTimeout(() => {
      this.publishTimer = undefined;
      const state = this.build();
      const signature = JSON.stringify({ ...state, at: 0 });
      if (signature !== this.lastPublished) {
        this.lastPublished = signature;
        this.publish(state);
      }
    }, 100);
    this.publishTimer.unref?.();
  }

  private build(): ClusterState {
    const tracked = [...this.nodes.values()];
    const reachable = tracked.filter((t) => t.reachable && t.status);
    const reference = mostAuthoritative(reachable.map((t) => t.status as StatusView));
    const members = membersFrom(reference?.members, this.source.members().map((m) => m.id));
    const leaderStatus = reference?.role === 'leader' ? reference : undefined;

    const nodes = tracked.map((t) => this.nodeView(t, members, leaderStatus));
    const injected = this.source.partitions();
    const partitions = injected.length ? injected : partitionsFromDrops(reachable.map((t) => t.status as StatusView), tracked.map((t) => t.member.id));
    const { clusterId, name, kind, capabilities } = this.source;
    return clusterState({ clusterId, name, kind, capabilities }, this.timeline, members, nodes, partitions);
  }

  private nodeView(t: Tracked, members: MembershipView, leader: StatusView | undefined): NodeView {
    const proc = t.proc;
    const starting = proc?.state === 'running' && t.seenSincePid !== proc.pid;
    // The process as last looked at wins over the last poll: a node just stopped or paused is unreachable now.
    const down = downReason(proc);
    const reachable = t.reachable && !down;
    const error = t.error || down;
    return nodeView(
      {
        id: t.member.id,
        kind: t.member.kind,
        process: starting && !reachable ? 'starting' : (proc?.state ?? (reachable ? 'running' : 'unknown')),
        reachable,
        lastSeen: t.lastSeen,
        ...(error && { error }),
        ...(t.status && { status: t.status }),
        logTail: t.tail,
        ...(proc?.hostUnreachable && { hostUnreachable: proc.hostUnreachable }),
      },
      members,
      leader,
      this.source.capabilities.nodeActions,
    );
  }
}

function stopFollowing(tracked: Tracked): void {
  tracked.stopEvents?.();
  tracked.stopEvents = undefined;
}

/**
 * Why the node cannot answer when its process is known not to serve (stopped, crashed, killed,
 * or paused); undefined while it runs or starts, or when the console cannot know (null).
 */
function downReason(proc: NodeProcessInfo | null): string | undefined {
  if (proc === null || proc.state === 'running' || proc.state === 'starting') return undefined;
  return proc.state === 'paused' ? 'paused (SIGSTOP)' : (proc.detail ?? proc.state);
}

/**
 * The partition the nodes themselves report (their fault drop lists), for faults the console did
 * not inject in this session (e.g. before it restarted): each node's group is everyone it does not drop.
 */
export function partitionsFromDrops(statuses: StatusView[], ids: string[]): string[][] {
  const groups = new Map<string, string[]>();
  for (const s of statuses) {
    if (!s.droppedPeers?.length) continue;
    const group = ids.filter((id) => !s.droppedPeers!.includes(id));
    groups.set(group.join(','), group);
  }
  if (groups.size === 0) return [];
  const grouped = new Set([...groups.values()].flat());
  const rest = ids.filter((id) => !grouped.has(id));
  return rest.length ? [...groups.values(), rest] : [...groups.values()];
}
