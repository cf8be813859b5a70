// A cluster of local raftd processes: process control through LocalProcesses, state through the
// raftd feed, operations through the leader's HTTP API.
import { ApiError } from '../shared/api.js';
import type { ClusterState, KvResult, LogEntryDetail, LogEntryView } from '../shared/api.js';
import { completePartition, describePartition, newNodeIdAmong, type ClusterDriver, type NodeAction } from './cluster-driver.js';
import type { ClusterRecord, ClusterRegistry, NodeRecord } from './cluster-registry.js';
import { definedPorts, LocalProcesses, pickFreePorts } from './local-cluster.js';
import type { LogSource } from './node-logs.js';
import type { DataLayout } from './paths.js';
import { RaftdClient } from './raftd-client.js';
import { RaftdFeed, type FeedOptions } from './state-feed.js';

export class LocalCluster implements ClusterDriver {
  readonly feed: RaftdFeed;
  private groups: string[][] = [];

  constructor(
    readonly clusterId: string,
    private readonly registry: ClusterRegistry,
    private readonly processes: LocalProcesses,
    private readonly layout: DataLayout,
    publish: (state: ClusterState) => void,
    feedOptions: FeedOptions = {},
  ) {
    const record = () => this.record;
    this.feed = new RaftdFeed(
      {
        clusterId,
        get name() {
          return record().name;
        },
        kind: 'local',
        token: this.record.token,
        members: () => this.record.nodes.map((n) => ({ id: n.id, kind: n.kind, client: n.client })),
        processInfo: (nodeId) => this.processes.info(clusterId, nodeId),
        partitions: () => this.groups,
      },
      publish,
      feedOptions,
    );
  }

  private get record(): ClusterRecord {
    return this.registry.get(this.clusterId);
  }

  private nodeRecord(nodeId: string): NodeRecord {
    const node = this.record.nodes.find((n) => n.id === nodeId);
    if (!node) throw new ApiError('not-found', `cluster ${this.clusterId} has no node "${nodeId}"`);
    return node;
  }

  private client(nodeId: string): RaftdClient {
    return new RaftdClient(this.nodeRecord(nodeId).client ?? '', this.record.token);
  }

  state(): ClusterState {
    return this.feed.state();
  }

  refresh(): Promise<ClusterState> {
    return this.feed.refresh();
  }

  async start(): Promise<void> {
    const idle = this.record.nodes.filter((n) => !this.processes.isRunning(this.clusterId, n.id));
    await settleAll(idle.map((n) => () => this.startNode(n)));
  }

  async stop(): Promise<void> {
    const running = this.record.nodes.filter((n) => this.processes.isRunning(this.clusterId, n.id));
    await settleAll(running.map((n) => () => this.processes.stop(this.clusterId, n.id)));
    this.feed.note();
  }

  async node(nodeId: string, action: NodeAction): Promise<void> {
    const node = this.nodeRecord(nodeId);
    switch (action) {
      case 'start':
        await this.startNode(node);
        break;
      case 'stop':
        await this.processes.stop(this.clusterId, nodeId);
        break;
      case 'kill':
        await this.processes.kill(this.clusterId, nodeId);
        this.feed.timeline.add('fault', `${nodeId} killed (SIGKILL)`);
        break;
      case 'pause':
        this.processes.pause(this.clusterId, nodeId);
        this.feed.timeline.add('fault', `${nodeId} paused (SIGSTOP)`);
        break;
      case 'resume':
        this.processes.resume(this.clusterId, nodeId);
        break;
      case 'restart':
        await this.processes.stop(this.clusterId, nodeId);
        await this.startNode(node);
        break;
      case 'forceNewCluster':
        await this.processes.stop(this.clusterId, nodeId);
        await this.startNode(node, ['--force-new-cluster']);
        this.feed.timeline.add('membership', `${nodeId} restarted alone with --force-new-cluster`);
        break;
    }
    this.feed.note();
  }

  /** Starts the node and waits until it answers, so a node that cannot start fails here with raftd's reason. */
  private async startNode(node: NodeRecord, flags: string[] = []): Promise<void> {
    await this.processes.start(this.record, node, flags);
    this.feed.note();
    const dropped = this.droppedFor(node.id);
    // A partition outlives restarts: the new process gets it as soon as it answers.
    const first = () => (dropped.length ? this.client(node.id).setDroppedPeers(dropped) : this.client(node.id).status());
    await this.whenReachable(node.id, first);
    this.feed.note();
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
  }

  private droppedFor(nodeId: string): string[] {
    const group = this.groups.find((g) => g.includes(nodeId));
    return group ? this.record.nodes.map((n) => n.id).filter((id) => !group.includes(id)) : [];
  }

  /** Sends each running node its drop list; nodes that are down get it when they start. */
  private async applyFaults(): Promise<void> {
    const running = this.record.nodes.filter((n) => this.processes.info(this.clusterId, n.id).state === 'running');
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
        if (!this.processes.isRunning(this.clusterId, nodeId)) {
          const { detail } = this.processes.info(this.clusterId, nodeId);
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

  logEntries(nodeId: string, from: number, limit: number): Promise<LogEntryView[]> {
    return this.client(nodeId).log(from, limit);
  }

  logEntry(nodeId: string, index: number): Promise<LogEntryDetail> {
    return this.client(nodeId).entry(index);
  }

  logSources(nodeId?: string): LogSource[] {
    if (nodeId) this.nodeRecord(nodeId);
    return this.record.nodes
      .filter((n) => !nodeId || n.id === nodeId)
      .map((n) => ({ clusterId: this.clusterId, nodeId: n.id, file: this.layout.nodeLogFile(this.clusterId, n.id) }));
  }

  newNodeId(requested?: string): string {
    return newNodeIdAmong(this.clusterId, this.record.nodes.map((n) => n.id), requested);
  }

  async provisionNode(id: string): Promise<void> {
    this.newNodeId(id);
    const [peer, client] = await pickFreePorts(2, definedPorts(this.registry.list()));
    const node: NodeRecord = { id, kind: 'local', peer: `127.0.0.1:${peer}`, client: `127.0.0.1:${client}`, joined: true };
    await this.registry.update(this.clusterId, (r) => ({ ...r, nodes: [...r.nodes, node] }));
    this.feed.sync();
    await this.startNode(node);
  }

  async retireNode(nodeId: string): Promise<void> {
    this.nodeRecord(nodeId);
    if (this.processes.isRunning(this.clusterId, nodeId)) await this.processes.stop(this.clusterId, nodeId);
    await this.registry.update(this.clusterId, (r) => ({ ...r, nodes: r.nodes.filter((n) => n.id !== nodeId) }));
    await this.processes.removeNodeData(this.clusterId, nodeId);
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
  }

  async destroy(): Promise<void> {
    this.feed.close();
    await this.stop();
    await this.processes.removeClusterFiles(this.record);
  }
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

