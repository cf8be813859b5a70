// A cluster of raftd processes, wherever they run: everything about Raft goes through raftd's HTTP
// API (operations, the state feed, partitions through /v1/fault); everything about processes (start,
// signals, logs, where to reach a node) through the cluster's NodeHost.
import { ApiError } from '../shared/api.js';
import type { ClusterCapabilities, ClusterState, KvResult, LogEntryDetail, LogEntryView, NodeLogLine } from '../shared/api.js';
import { completePartition, describePartition, newNodeIdAmong, type ClusterDriver, type NodeAction } from './cluster-driver.js';
import { logNodeIds, withoutNode, type ClusterRecord, type ClusterRegistry, type NodeRecord } from './cluster-registry.js';
import type { NodeHost, NodeLaunch, NodeLogQuery, NodeProcessInfo } from './node-host.js';
import { newestAcross } from './node-logs.js';
import { NODE_TLS_FILES, type ClusterPki, type ClusterTls } from './cluster-pki.js';
import { RaftdClient } from './raftd-client.js';
import { RaftdFeed, type FeedOptions } from './state-feed.js';

export interface RaftdClusterOptions {
  feed?: FeedOptions;
  /** Where the CAs of clusters with TLS are kept; needed for those. */
  pki?: ClusterPki;
  /** A new node's definition (its addresses), where the host can run it; `report` hears a deploy's progress, `signal` stops a deploy it starts. */
  defineNode(nodeId: string, report?: (text: string) => void, signal?: AbortSignal): Promise<NodeRecord>;
}

/** Every process action, through the host; no simulated clock. */
const RAFTD_CAPABILITIES: ClusterCapabilities = {
  nodeActions: ['start', 'stop', 'kill', 'pause', 'resume', 'restart', 'forceNewCluster'],
  simulatedClock: false,
  dropMessages: false,
  electionTimers: false,
  stopAll: true,
};

const ACTION_LABELS: Record<NodeAction, string> = {
  start: 'start',
  stop: 'stop (SIGTERM)',
  kill: 'kill (SIGKILL)',
  pause: 'pause (SIGSTOP)',
  resume: 'resume (SIGCONT)',
  restart: 'restart',
  forceNewCluster: 'force a new cluster from',
};

export class RaftdCluster implements ClusterDriver {
  readonly capabilities = RAFTD_CAPABILITIES;
  readonly feed: RaftdFeed;
  private readonly defineNode: RaftdClusterOptions['defineNode'];
  private groups: string[][] = [];
  /** Where the console reaches each node's HTTP API, as the host gave it. */
  private readonly endpoints = new Map<string, string>();
  private readonly pki?: ClusterPki;

  private constructor(
    readonly clusterId: string,
    private readonly registry: ClusterRegistry,
    private readonly host: NodeHost,
    publish: (state: ClusterState) => void,
    options: RaftdClusterOptions,
    /** The cluster's CA and the console's certificate, when it uses mutual TLS. */
    private readonly tls?: ClusterTls,
  ) {
    this.defineNode = options.defineNode;
    this.pki = options.pki;
    const record = () => this.record;
    this.feed = new RaftdFeed(
      {
        clusterId,
        get name() {
          return record().name;
        },
        get kind() {
          return record().kind;
        },
        capabilities: RAFTD_CAPABILITIES,
        token: this.record.token,
        tls: tls?.client,
        members: () => this.record.nodes.map((n) => ({ id: n.id, kind: n.kind, client: this.endpoints.get(n.id) })),
        processInfo: (nodeId) => this.host.info(nodeId),
        partitions: () => this.groups,
      },
      publish,
      options.feed,
    );
  }

  /** The driver of a saved cluster, its nodes' processes looked at once so its first state is already true. */
  static async open(
    clusterId: string,
    registry: ClusterRegistry,
    host: NodeHost,
    publish: (state: ClusterState) => void,
    options: RaftdClusterOptions,
  ): Promise<RaftdCluster> {
    let tls: ClusterTls | undefined;
    if (registry.get(clusterId).tls) {
      if (!options.pki) throw new ApiError('unavailable', `cluster ${clusterId} uses TLS, and this console has no place for its CA`);
      tls = await options.pki.open(clusterId);
    }
    const driver = new RaftdCluster(clusterId, registry, host, publish, options, tls);
    try {
      await driver.resolveEndpoints();
      await driver.feed.recheck();
    } catch (error) {
      // Not opened: its feed must not poll on (for a cluster that may be gone), nor its host keep forwards.
      await driver.close().catch(() => undefined);
      throw error;
    }
    return driver;
  }

  actionLabel(action: NodeAction): string {
    return ACTION_LABELS[action];
  }

  private get record(): ClusterRecord {
    return this.registry.get(this.clusterId);
  }

  private nodeRecord(nodeId: string): NodeRecord {
    const node = this.record.nodes.find((n) => n.id === nodeId);
    if (!node) throw new ApiError('not-found', `cluster ${this.clusterId} has no node "${nodeId}"`);
    return node;
  }

  private async resolveEndpoints(): Promise<void> {
    for (const node of this.record.nodes) {
      if (!this.endpoints.has(node.id) && node.client) this.endpoints.set(node.id, await this.host.clientEndpoint(node.id, node.client));
    }
    this.feed.sync();
  }

  private client(nodeId: string): RaftdClient {
    const node = this.nodeRecord(nodeId);
    return new RaftdClient(this.endpoints.get(nodeId) ?? node.client ?? '', this.record.token, undefined, (address) => this.endpointOf(address), this.tls?.client);
  }

  /** A leader's redirect names its client address; the console reaches it at the host's endpoint for it. */
  private endpointOf(client: string): string {
    const node = this.record.nodes.find((n) => n.client === client);
    return (node && this.endpoints.get(node.id)) ?? client;
  }

  private async isLive(nodeId: string): Promise<boolean> {
    return isLive(await this.host.info(nodeId));
  }

  /** A process was started or signalled: its state is read now, so the next picture already shows it. */
  private async processChanged(nodeId?: string): Promise<void> {
    await this.feed.recheck(nodeId);
  }

  state(): ClusterState {
    return this.feed.state();
  }

  refresh(): Promise<ClusterState> {
    return this.feed.refresh();
  }

  async start(): Promise<void> {
    const idle = [];
    for (const node of this.record.nodes) if (!(await this.isLive(node.id))) idle.push(node);
    await settleAll(idle.map((n) => () => this.startNode(n)));
  }

  async stop(): Promise<void> {
    const running = [];
    for (const node of this.record.nodes) if (await this.isLive(node.id)) running.push(node);
    await settleAll(running.map((n) => () => this.host.stop(n.id))).finally(() => this.processChanged());
  }

  private async killLive(): Promise<void> {
    const running = [];
    for (const node of this.record.nodes) if (await this.isLive(node.id)) running.push(node);
    await settleAll(running.map((n) => () => this.host.kill(n.id))).finally(() => this.processChanged());
  }

  async node(nodeId: string, action: NodeAction): Promise<void> {
    const node = this.nodeRecord(nodeId);
    try {
      await this.act(node, action);
    } finally {
      await this.processChanged(nodeId);
    }
  }

  private async act(node: NodeRecord, action: NodeAction): Promise<void> {
    const nodeId = node.id;
    switch (action) {
      case 'start':
        await this.startNode(node);
        this.feed.timeline.add('fault', `${nodeId} started`);
        break;
      case 'stop':
        await this.host.stop(nodeId);
        this.feed.timeline.add('fault', `${nodeId} stopped (SIGTERM)`);
        break;
      case 'kill':
        await this.host.kill(nodeId);
        this.feed.timeline.add('fault', `${nodeId} killed (SIGKILL)`);
        break;
      case 'pause':
        await this.host.pause(nodeId);
        this.feed.timeline.add('fault', `${nodeId} paused (SIGSTOP)`);
        break;
      case 'resume':
        await this.host.resume(nodeId);
        this.feed.timeline.add('fault', `${nodeId} resumed (SIGCONT)`);
        break;
      case 'restart':
        await this.host.stop(nodeId);
        await this.startNode(node);
        this.feed.timeline.add('fault', `${nodeId} restarted`);
        break;
      case 'forceNewCluster':
        await this.host.stop(nodeId);
        await this.startNode(node, ['--force-new-cluster']);
        this.feed.timeline.add('membership', `${nodeId} restarted alone with --force-new-cluster`);
        break;
    }
  }

  /** Starts the node and waits until it answers, so a node that cannot start fails here with raftd's reason. */
  private async startNode(node: NodeRecord, flags: string[] = []): Promise<void> {
    try {
      await this.host.start(await this.launch(node, flags));
      await this.processChanged(node.id);
      const dropped = this.droppedFor(node.id);
      // A partition outlives restarts: the new process gets it as soon as it answers.
      const first = () => (dropped.length ? this.client(node.id).setDroppedPeers(dropped) : this.client(node.id).status());
      await this.whenReachable(node.id, first);
    } finally {
      await this.processChanged(node.id);
    }
  }

  async partition(groups: string[][]): Promise<void> {
    this.groups = completePartition(this.clusterId, this.record.nodes.map((n) => n.id), groups);
    await this.applyFaults();
    this.feed.note(`partition ${describePartition(this.groups)}`);
  }

  async heal(): Promise<void> {
    this.groups = [];
    await this.applyFaults();
    this.feed.note('partition healed');
    // The nodes' drop lists are read again now: until then the last polls still tell of the partition.
    await this.feed.refresh();
  }

  private droppedFor(nodeId: string): string[] {
    const group = this.groups.find((g) => g.includes(nodeId));
    return group ? this.record.nodes.map((n) => n.id).filter((id) => !group.includes(id)) : [];
  }

  /** Sends each running node its drop list; nodes that are down get it when they start. */
  private async applyFaults(): Promise<void> {
    const running = [];
    for (const node of this.record.nodes) if ((await this.host.info(node.id)).state === 'running') running.push(node);
    await settleAll(running.map((n) => () => this.client(n.id).setDroppedPeers(this.droppedFor(n.id))));
  }

  /** Retries `action` while the starting node does not answer yet; a node still silent after the timeout is left starting. */
  private async whenReachable(nodeId: string, action: () => Promise<unknown>, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await action();
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || error.code !== 'unavailable') throw error;
        const info = await this.host.info(nodeId);
        if (!isLive(info)) {
          const { detail } = info;
          throw new ApiError('unavailable', `node ${nodeId} did not start: ${detail ?? 'it stopped'}`);
        }
        if (Date.now() > deadline) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  }

  /** A node to send client requests to: the leader when known, else any reachable node (raftd redirects). */
  private entryClient(): RaftdClient {
    const state = this.state();
    const target = state.leader || state.nodes.find((n) => n.reachable)?.id;
    if (!target) throw new ApiError('unavailable', `no node of ${this.clusterId} is reachable; start the cluster first`);
    return this.client(target);
  }

  private async leaderClient(): Promise<RaftdClient> {
    let state = this.state();
    if (!state.leader) state = await this.refresh();
    if (!state.leader) throw new ApiError('unavailable', `${this.clusterId} has no leader right now (no quorum?)`);
    return this.client(state.leader);
  }

  async kvPut(key: string, value: string): Promise<KvResult> {
    return this.entryClient().put(key, value);
  }

  async kvGet(key: string, stale: boolean): Promise<KvResult> {
    return { value: await this.entryClient().get(key, stale) };
  }

  async kvDelete(key: string): Promise<KvResult> {
    return this.entryClient().delete(key);
  }

  async kvCas(key: string, from: string | null, to: string): Promise<KvResult> {
    return this.entryClient().cas(key, from, to);
  }

  async logEntries(nodeId: string, from: number, limit: number): Promise<LogEntryView[]> {
    return this.client(nodeId).log(from, limit);
  }

  async logEntry(nodeId: string, index: number): Promise<LogEntryDetail> {
    return this.client(nodeId).entry(index);
  }

  /** Removed nodes' logs stay readable (their data is gone, their log files are not). */
  private logNodes(nodeId?: string): string[] {
    const ids = logNodeIds(this.record);
    if (nodeId && !ids.includes(nodeId)) this.nodeRecord(nodeId);
    return ids.filter((id) => !nodeId || id === nodeId);
  }

  async readLogs(nodeId: string | undefined, query: NodeLogQuery): Promise<NodeLogLine[]> {
    const lists = await Promise.all(this.logNodes(nodeId).map((id) => this.host.readLog(id, query)));
    return newestAcross(lists, query.limit);
  }

  followLogs(nodeId: string | undefined, onLine: (line: NodeLogLine) => void): () => void {
    const stops = this.logNodes(nodeId).map((id) => this.host.followLog(id, onLine));
    return () => stops.forEach((stop) => stop());
  }

  newNodeId(requested?: string): string {
    return newNodeIdAmong(this.clusterId, this.record.nodes.map((n) => n.id), requested);
  }

  async provisionNode(id: string, report?: (text: string) => void, signal?: AbortSignal): Promise<void> {
    this.newNodeId(id);
    const node: NodeRecord = { ...(await this.defineNode(id, report, signal)), joined: true };
    // Cancelled while it was being defined: nothing is saved or started.
    if (signal?.aborted) throw new ApiError('conflict', `cancelled before ${id} was started`);
    await this.registry.update(this.clusterId, (r) => ({ ...r, nodes: [...r.nodes, node] }));
    await this.resolveEndpoints();
    await this.startNode(node);
  }

  async retireNode(nodeId: string): Promise<void> {
    this.nodeRecord(nodeId);
    if (await this.isLive(nodeId)) await this.host.stop(nodeId);
    await this.registry.update(this.clusterId, (r) => withoutNode(r, nodeId));
    await this.host.removeNodeData(nodeId);
    this.endpoints.delete(nodeId);
    this.groups = this.groups.map((g) => g.filter((id) => id !== nodeId)).filter((g) => g.length);
    this.feed.sync();
  }

  /** Sends a membership request to the leader, then has the feed poll soon so its effect shows. */
  private async onLeader<T>(request: (leader: RaftdClient) => Promise<T>): Promise<T> {
    const result = await request(await this.leaderClient());
    this.feed.note();
    return result;
  }

  async addLearner(nodeId: string): Promise<number> {
    const node = this.nodeRecord(nodeId);
    return (await this.onLeader((leader) => leader.addMember({ id: node.id, peer: node.peer ?? '', client: node.client ?? '', learner: true }))).index;
  }

  async promote(nodeId: string): Promise<number> {
    return (await this.onLeader((leader) => leader.promote(nodeId))).index;
  }

  async remove(nodeId: string): Promise<number> {
    return (await this.onLeader((leader) => leader.removeMember(nodeId))).index;
  }

  async joint(addVoters: string[], removeVoters: string[]): Promise<number> {
    const add = addVoters.map((id) => this.nodeRecord(id)).map((n) => ({ id: n.id, peer: n.peer ?? '', client: n.client ?? '' }));
    return (await this.onLeader((leader) => leader.joint(add, removeVoters))).index;
  }

  async transferLeader(to: string): Promise<void> {
    this.nodeRecord(to);
    await this.onLeader((leader) => leader.transferLeader(to));
  }

  async close(): Promise<void> {
    this.feed.close();
    await this.host.close();
  }

  async destroy(): Promise<void> {
    this.feed.close();
    // Its data is removed next: a node still running when SIGTERM's wait ends is killed, not left behind.
    await this.stop().catch(() => this.killLive());
    await this.host.removeAll(this.record.nodes.map((n) => n.id));
    await this.host.close();
    if (this.record.tls) await this.pki?.remove(this.clusterId);
  }

  /** raftd's arguments for the node, from the cluster's definition. */
  private async launch(node: NodeRecord, flags: string[]): Promise<NodeLaunch> {
    const cluster = this.record;
    // A certificate issued at each launch: the CA key stays here, the node gets only its own.
    const files = this.tls ? await this.tls.nodeFiles(node) : undefined;
    const path = (name: string) => this.host.filePath(node.id, name);
    const members = cluster.nodes.map((n) => `${n.id}=${n.peer}/${n.client}`).join(',');
    return {
      nodeId: node.id,
      peer: node.peer ?? '',
      client: node.client ?? '',
      args: [
        '--id', node.id,
        '--peer', node.peer ?? '',
        '--client', node.client ?? '',
        '--cluster', members,
        // Peers of other clusters (ports get reused) are refused by raftd.
        '--cluster-id', cluster.id,
        ...(node.joined ? ['--join'] : []),
        ...(files ? ['--tls-cert', path(NODE_TLS_FILES.cert), '--tls-key', path(NODE_TLS_FILES.key), '--tls-ca', path(NODE_TLS_FILES.ca)] : []),
        ...flags,
      ],
      env: cluster.token ? { RAFTD_TOKEN: cluster.token } : {},
      ...(files && { files }),
    };
  }
}

/** The process is up (or coming up, or stopped by a signal): the node's data dir is in use. */
function isLive(info: NodeProcessInfo): boolean {
  return info.state === 'running' || info.state === 'starting' || info.state === 'paused';
}

/** Runs every task; if any failed, throws one error naming each failure. */
async function settleAll(tasks: Array<() => Promise<unknown>>): Promise<void> {
  const results = await Promise.allSettled(tasks.map((t) => t()));
  const failures = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  if (failures.length) {
    const first = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')?.reason;
    throw new ApiError(first instanceof ApiError ? first.code : 'internal', failures.join('; '));
  }
}

