// Creating a remote cluster as the operator watches it: remote.clusterPlan decides everything first
// (each node's host, ports, data and log paths there, what each host's deploy sends) and changes
// nothing; remote.createCluster carries out exactly that plan as one cancellable operation with
// progress per node: connect → upload → start → join → leader. A failure is reported on the node
// where it happened; a failed or cancelled create undoes itself: uploads stop (no file is left under
// its final name), started nodes are stopped and the cluster's files, CA and record are removed.
// Nothing outside this cluster's own folder on a host is touched.
import { randomBytes, randomUUID } from 'node:crypto';
import { ApiError } from '../../shared/api.js';
import type { ClusterState, DeployStage, NodeDeployProgress, ParsedParams, RemoteClusterPlan, RemoteClusterPlanHost, RemoteNodePlan } from '../../shared/api.js';
import { DEPLOY_STAGES } from '../../shared/api.js';
import type { ClusterDriver } from '../cluster-driver.js';
import { nextNodeId } from '../cluster-driver.js';
import type { ClusterPki } from '../cluster-pki.js';
import type { ClusterRecord, ClusterRegistry, NodeRecord } from '../cluster-registry.js';
import { cancelledError, type OperationRunner, type StepReporter } from '../operations.js';
import { remoteFailure } from './deploy.js';
import { portsOn } from './remote-cluster.js';
import type { RemoteHost, RemoteHosts } from './remote-host.js';
import { remoteNodeDir } from './remote-processes.js';
import { isRemoteError } from './remote-shell.js';

export type ClusterPlanParams = ParsedParams<'remote.clusterPlan'>;

/** What the creator needs of the console: its clusters, and how one is added (attached) or deleted. */
export interface CreationHooks {
  registry(): ClusterRegistry;
  /** A fresh cluster id for the name. */
  uniqueId(name: string): string;
  /** Saves the record and opens its driver, as clusters.create does. */
  add(record: ClusterRecord): Promise<ClusterDriver>;
  /** Deletes the cluster: stops its nodes, removes their files on the hosts, its CA and its record. */
  remove(clusterId: string): Promise<void>;
}

export interface RemoteCreatorOptions {
  hosts: RemoteHosts;
  pki: ClusterPki;
  operations: OperationRunner;
  hooks: CreationHooks;
  /** How long started nodes may take to answer and see a leader. */
  joinTimeoutMs?: number;
  /** How long a plan may wait for remote.createCluster. */
  planTtlMs?: number;
  pollMs?: number;
}

interface StoredPlan {
  plan: RemoteClusterPlan;
  records: NodeRecord[];
  uploadRuntime: boolean;
  at: number;
}

/** Plans kept at once: a plan is small, but nothing a client sends may grow memory without bound. */
const MAX_PLANS = 20;

export class RemoteClusterCreator {
  private readonly plans = new Map<string, StoredPlan>();
  private readonly joinTimeoutMs: number;
  private readonly planTtlMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: RemoteCreatorOptions) {
    this.joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
    this.planTtlMs = options.planTtlMs ?? 15 * 60_000;
    this.pollMs = options.pollMs ?? 300;
  }

  /** What creating the cluster would do; asks every host at once and changes nothing on any. */
  async plan(params: ClusterPlanParams): Promise<RemoteClusterPlan> {
    const names = params.nodeNames ?? [];
    if (names.length && names.length !== params.hosts.length) {
      throw new ApiError('invalid-input', `remote.clusterPlan: nodeNames lists ${names.length} names for ${params.hosts.length} nodes`);
    }
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new ApiError('invalid-input', `remote.clusterPlan: node name "${duplicate}" is used twice`);
    const ids: string[] = [];
    for (let i = 0; i < params.hosts.length; i++) ids.push(names[i] ?? nextNodeId(ids));

    const registry = this.options.hooks.registry();
    const clusterId = this.options.hooks.uniqueId(params.name);
    const profiles = [...new Set(params.hosts)];
    const count = (profile: string) => params.hosts.filter((h) => h === profile).length;
    // Client ports must differ across the whole cluster (a redirect names one): each host offers spares.
    const asked = await Promise.all(
      profiles.map(async (profile) => {
        const host = this.options.hosts.get(profile);
        try {
          const [{ view, home }, ports] = await Promise.all([
            this.options.hosts.planOn(profile, params.uploadRuntime),
            host.unusedPorts(2 * count(profile) + 2 * ids.length, new Set(portsOn(registry, profile))),
          ]);
          return { profile, host, view, home, ports };
        } catch (error) {
          const message = remoteFailure(host.displayName, 'planning the deploy', error).message;
          return { profile, host, error: message.startsWith(`${host.displayName}:`) ? message : `${host.displayName}: ${message}` };
        }
      }),
    );

    const clientPorts = new Set<number>();
    const records: NodeRecord[] = [];
    const nodes: RemoteNodePlan[] = ids.map((nodeId, i) => {
      const profile = params.hosts[i];
      const offer = asked.find((a) => a.profile === profile);
      if (!offer || !('ports' in offer) || !offer.ports) return { nodeId, host: profile };
      const free = offer.ports;
      const client = free.find((port) => !clientPorts.has(port)) as number;
      free.splice(free.indexOf(client), 1);
      clientPorts.add(client);
      const peer = free.shift() as number;
      const record: NodeRecord = { id: nodeId, kind: 'remote', host: profile, peer: `${offer.host.peerAddress}:${peer}`, client: `127.0.0.1:${client}` };
      records.push(record);
      const dir = `${offer.home}/${remoteNodeDir(clusterId, nodeId)}`;
      return { nodeId, host: profile, peer: record.peer, client: record.client, dataDir: `${dir}/data`, logFile: `${dir}/logs/raftd.log` };
    });
    const hosts: RemoteClusterPlanHost[] = asked.map((a) => ('error' in a ? { host: a.profile, error: a.error } : { host: a.profile, home: a.home, deploy: a.view }));
    const plan: RemoteClusterPlan = {
      planId: randomUUID(),
      clusterId,
      name: params.name,
      hosts,
      nodes,
      uploadBytes: hosts.reduce((sum, h) => sum + (h.deploy?.uploadBytes ?? 0), 0),
      problems: hosts.filter((h) => h.error).map((h) => h.error as string),
    };
    this.keep(plan.planId, { plan, records, uploadRuntime: params.uploadRuntime, at: Date.now() });
    return plan;
  }

  /** Starts carrying out the plan; progress arrives as operation.progress events of the returned operation. */
  create(planId: string): { operationId: string; clusterId: string } {
    const stored = this.plans.get(planId);
    if (!stored || Date.now() - stored.at > this.planTtlMs) {
      this.plans.delete(planId);
      throw new ApiError('not-found', 'that plan is no longer known (plans last 15 minutes in this console); review the plan again');
    }
    const { plan } = stored;
    if (plan.problems.length) throw new ApiError('refused', `the plan cannot be carried out: ${plan.problems.join('; ')}`);
    if (this.options.hooks.registry().find(plan.clusterId)) throw new ApiError('conflict', `a cluster "${plan.clusterId}" exists now; review the plan again`);
    this.plans.delete(planId);
    const operationId = this.options.operations.launch(
      plan.clusterId,
      'clusters.create',
      `Create remote cluster “${plan.name}”`,
      (step, signal) => this.carryOut(stored, new DeployBoard(plan, step, (profile) => this.options.hosts.get(profile).displayName), signal),
      { cancellable: true },
    );
    return { operationId, clusterId: plan.clusterId };
  }

  private keep(planId: string, stored: StoredPlan): void {
    for (const [id, old] of this.plans) if (Date.now() - old.at > this.planTtlMs) this.plans.delete(id);
    while (this.plans.size >= MAX_PLANS) this.plans.delete(this.plans.keys().next().value as string);
    this.plans.set(planId, stored);
  }

  private async carryOut(stored: StoredPlan, board: DeployBoard, signal: AbortSignal): Promise<void> {
    const { plan, records, uploadRuntime } = stored;
    const { hosts, hooks, pki } = this.options;
    const cancelled = () => signal.aborted;

    // 1. Each host: connect, then deploy raftd (and the runtime when asked), bytes as they go.
    const deployed = await Promise.allSettled(
      plan.hosts.map(async ({ host: profile }) => {
        const host = hosts.get(profile);
        board.stage(profile, 'connect', 'running');
        try {
          await host.shell.exec('true', { timeoutMs: 20_000 });
        } catch (error) {
          throw board.fail(profile, remoteFailure(host.displayName, 'connecting', error).message);
        }
        board.stage(profile, 'upload', 'running');
        const off = host.onUpload((what, sent, total) => board.upload(profile, what, sent, total));
        try {
          const deployment = await host.deployment(uploadRuntime, signal);
          const tidied = deployment.removed.length ? `; removed ${deployment.removed.length === 1 ? 'an older version' : `${deployment.removed.length} older versions`}` : '';
          board.uploaded(profile, deployment.uploadedBytes, `${deployment.uploaded.length ? `sent ${deployment.uploaded.join(' and ')}` : 'already there'}${tidied}`);
        } catch (error) {
          if (cancelled() || isRemoteError(error, 'cancelled')) throw board.cancel(profile, 'upload stopped; no file was left under its final name');
          throw board.fail(profile, remoteFailure(host.displayName, 'deploying raftd', error).message);
        } finally {
          off();
        }
      }),
    );
    if (cancelled()) {
      board.cancelAll('not started');
      throw cancelledError('nothing was created; uploads under way were stopped');
    }
    failIfAny(deployed, 'the deploy failed on');

    // 2. The cluster exists from here: anything that goes wrong removes it again.
    const record: ClusterRecord = { id: plan.clusterId, name: plan.name, kind: 'remote', createdAt: Date.now(), nodes: records, token: randomBytes(16).toString('hex'), tls: true };
    let driver: ClusterDriver | undefined;
    try {
      await pki.create(record.id);
      driver = await hooks.add(record);
      await this.startAndWatch(driver, board, signal);
    } catch (error) {
      const undone = await this.undo(record.id, driver !== undefined || hooks.registry().find(record.id) !== undefined);
      if (cancelled()) {
        board.cancelAll('cancelled');
        throw cancelledError(undone);
      }
      throw new ApiError(error instanceof ApiError ? error.code : 'unavailable', `${(error as Error).message}; ${undone}`);
    }
  }

  /** Starts every node, then waits until each answers and sees the leader. */
  private async startAndWatch(driver: ClusterDriver, board: DeployBoard, signal: AbortSignal): Promise<void> {
    const ids = board.nodeIds();
    const started = await Promise.allSettled(
      ids.map(async (nodeId) => {
        board.node(nodeId, 'start', 'running');
        try {
          await driver.node(nodeId, 'start');
          board.node(nodeId, 'start', 'done');
        } catch (error) {
          // A start cannot be taken back half-way; cancel waits for it, then stops it with the rest.
          throw board.failNode(nodeId, (error as Error).message);
        }
      }),
    );
    if (signal.aborted) throw cancelledError('');
    failIfAny(started, 'could not start');

    const deadline = Date.now() + this.joinTimeoutMs;
    for (const id of ids) board.node(id, 'join', 'running');
    for (;;) {
      if (signal.aborted) throw cancelledError('');
      const state = await driver.refresh();
      if (board.watch(state)) return;
      if (Date.now() > deadline) {
        const late = board.timeOut(state, Math.round(this.joinTimeoutMs / 1000));
        throw new ApiError('unavailable', `${late.join(', ')} did not join and see a leader within ${Math.round(this.joinTimeoutMs / 1000)} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Removes what the create made; says what was undone, or what is left and why. */
  private async undo(clusterId: string, created: boolean): Promise<string> {
    try {
      if (created) await this.options.hooks.remove(clusterId);
      else await this.options.pki.remove(clusterId);
      return created ? 'the cluster was removed again: its started nodes were stopped and its files on the hosts deleted' : 'nothing was created';
    } catch (error) {
      return `the cluster could not be removed (${(error as Error).message}); it stays in the Clusters view: delete it there once its hosts answer`;
    }
  }
}

function failIfAny(results: PromiseSettledResult<unknown>[], what: string): void {
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
  if (failed.length) throw new ApiError('unavailable', `${what} ${failed.join('; ')}`);
}

/** The per-node progress of one create, published through the operation's step reporter; its text names each host as the operator does. */
class DeployBoard {
  private readonly nodes: NodeDeployProgress[];
  private lastUploadPublish = 0;

  constructor(
    plan: RemoteClusterPlan,
    private readonly report: StepReporter,
    private readonly hostName: (profile: string) => string,
  ) {
    this.nodes = plan.nodes.map((n) => ({ nodeId: n.nodeId, host: n.host, stage: 'connect', state: 'waiting' }));
    this.publish('connecting to the hosts');
  }

  nodeIds(): string[] {
    return this.nodes.map((n) => n.nodeId);
  }

  private onHost(profile: string): NodeDeployProgress[] {
    return this.nodes.filter((n) => n.host === profile);
  }

  private byId(nodeId: string): NodeDeployProgress[] {
    return this.nodes.filter((n) => n.nodeId === nodeId);
  }

  /** A node moves to `stage` in `state`; what it said before (detail, error, bytes under way) goes. */
  private set(node: NodeDeployProgress, stage: DeployStage, state: NodeDeployProgress['state'], detail?: string, error?: string): void {
    node.stage = stage;
    node.state = state;
    if (detail === undefined) delete node.detail;
    else node.detail = detail;
    if (error === undefined) delete node.error;
    else node.error = error;
    if (stage !== 'upload' || state !== 'running') delete node.upload;
  }

  stage(profile: string, stage: DeployStage, state: NodeDeployProgress['state'], detail?: string): void {
    for (const node of this.onHost(profile)) this.set(node, stage, state, detail);
    this.publish(`${this.hostName(profile)}: ${stage}${state === 'running' ? '' : ` ${state}`}`);
  }

  uploaded(profile: string, bytes: number, detail: string): void {
    for (const node of this.onHost(profile)) {
      this.set(node, 'upload', 'done', detail);
      node.uploadedBytes = bytes;
    }
    this.publish(`${this.hostName(profile)}: deployed`);
  }

  upload(profile: string, what: string, sent: number, total: number): void {
    for (const node of this.onHost(profile)) node.upload = { what, sent, total };
    // Uploads report every chunk: the operator sees a few updates a second, and the last one.
    const now = Date.now();
    if (sent < total && now - this.lastUploadPublish < 200) return;
    this.lastUploadPublish = now;
    this.publish(`${this.hostName(profile)}: uploading ${what}`);
  }

  /** The host failed: each of its nodes shows the failure at the stage it had reached. */
  fail(profile: string, message: string): Error {
    for (const node of this.onHost(profile)) this.set(node, node.stage, 'failed', undefined, message);
    this.publish(`${this.hostName(profile)} failed`);
    return new Error(message);
  }

  cancel(profile: string, detail: string): Error {
    for (const node of this.onHost(profile)) this.set(node, node.stage, 'cancelled', detail);
    this.publish(`${this.hostName(profile)}: cancelled`);
    return new Error(`${this.hostName(profile)}: cancelled`);
  }

  /** Every node still on its way is cancelled (failed ones keep their failure). */
  cancelAll(detail: string): void {
    for (const node of this.nodes) if (node.state !== 'failed' && node.state !== 'cancelled') this.set(node, node.stage, 'cancelled', detail);
    this.publish('cancelled');
  }

  node(nodeId: string, stage: DeployStage, state: NodeDeployProgress['state'], detail?: string): void {
    for (const node of this.byId(nodeId)) this.set(node, stage, state, detail);
    this.publish(`${nodeId}: ${stage}${state === 'running' ? '' : ` ${state}`}`);
  }

  failNode(nodeId: string, message: string): Error {
    for (const node of this.byId(nodeId)) this.set(node, node.stage, 'failed', undefined, message);
    this.publish(`${nodeId} failed`);
    return new Error(message);
  }

  /** Moves nodes on from what the cluster's state shows; true once every node has seen the leader. */
  watch(state: ClusterState): boolean {
    let changed = false;
    for (const node of this.nodes) {
      const view = state.nodes.find((n) => n.id === node.nodeId);
      if (!view || !(view.reachable && view.process === 'running')) continue;
      if (node.stage === 'join') {
        this.set(node, 'leader', 'running', `${view.role}, term ${view.term}`);
        changed = true;
      }
      if (node.stage === 'leader' && node.state === 'running' && state.leader && view.leader === state.leader) {
        this.set(node, 'leader', 'done', state.leader === node.nodeId ? `leads, term ${view.term}` : `follows ${state.leader}, term ${view.term}`);
        changed = true;
      }
    }
    if (changed) this.publish(state.leader ? `${state.leader} leads` : 'waiting for a leader');
    return this.nodes.every((n) => n.stage === 'leader' && n.state === 'done');
  }

  /** The nodes that have not seen a leader by the deadline, each failed with what the console knows of it. */
  timeOut(state: ClusterState, seconds: number): string[] {
    const late: string[] = [];
    for (const node of this.nodes) {
      if (node.stage === 'leader' && node.state === 'done') continue;
      const view = state.nodes.find((n) => n.id === node.nodeId);
      const why = node.stage === 'join' ? `it did not answer within ${seconds} s${view?.error ? `: ${view.error}` : ''}` : `it saw no leader within ${seconds} s`;
      this.set(node, node.stage, 'failed', undefined, why);
      late.push(node.nodeId);
    }
    this.publish('timed out');
    return late;
  }

  private publish(text: string): void {
    const steps = DEPLOY_STAGES.length;
    const reached = this.nodes.reduce((sum, n) => sum + DEPLOY_STAGES.indexOf(n.stage) + (n.state === 'done' ? 1 : 0), 0);
    this.report(text, this.nodes.length ? reached / (steps * this.nodes.length) : null, this.nodes.map((n) => ({ ...n, ...(n.upload && { upload: { ...n.upload } }) })));
  }
}
