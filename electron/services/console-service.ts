// The console's one entry point: validates every request against the API contract, routes it to
// the cluster drivers and services, and pushes events to the sessions (one per window or socket).
// Plain Node: Electron's main process and the web-mode server are thin transports around it.
import { mkdir } from 'node:fs/promises';
import { ApiError, parseRequest } from '../shared/api.js';
import type { ClusterState, ClusterSummary, EventName, Events, Method, ParsedParams, Results } from '../shared/api.js';
import { ActivityLog } from './activity.js';
import { describePartition, nextNodeId, type ClusterDriver, type NodeAction } from './cluster-driver.js';
import { clusterKinds, type ClusterKind, type ClusterKinds, type RemoteKindSetup } from './cluster-kinds.js';
import type { RemoteHosts } from './remote/remote-host.js';
import type { HostsService } from './remote/hosts-service.js';
import { ClusterRegistry, clusterSummary, type ClusterRecord } from './cluster-registry.js';
import type { LocalHostOptions } from './local-host.js';
import { MembershipGuide, type MembershipOptions } from './membership.js';
import { OperationRunner } from './operations.js';
import { ClusterPki } from './cluster-pki.js';
import { ClusterAccessFiles } from './cluster-access.js';
import { RemoteClusterCreator } from './remote/remote-create.js';
import { DataLayout } from './paths.js';
import { acquirePidLock, type PidLock } from '../../core/process/pid-lock.js';
import { scenarioClusterId, ScenarioRuns, type ScenarioPace } from './scenarios/scenario-runs.js';
import type { FeedOptions } from './state-feed.js';
import { TraceService } from './trace-service.js';
import { ReplayDriver } from './trace-replay.js';
import type { TraceStoreOptions } from './trace-store.js';

export type EventSink = <E extends EventName>(event: E, payload: Events[E]) => void;

export interface ConsoleSession {
  /** Validates and runs one request; rejects with an ApiError (or an Error whose message is safe to show). */
  invoke(method: string, params: unknown): Promise<unknown>;
  close(): void;
}

export interface ConsoleServiceOptions {
  dataDir: string;
  local?: LocalHostOptions;
  /** Remote clusters: their hosts (host profiles over pooled SSH connections); without it they are refused. */
  remote?: RemoteKindSetup;
  /** SSH host profiles (hosts.* methods, hosts.state events); without it hosts.* are refused. */
  hosts?: HostsService;
  feed?: FeedOptions;
  /** Each cluster's recorded history (time travel): segment size, size bound, key frame spacing. */
  trace?: TraceStoreOptions;
  membership?: MembershipOptions;
  /** Whether new embedded clusters start with time running (default true: a live demo). */
  embeddedRuns?: boolean;
  /** How a scenario's step plays: slow enough to watch (default WATCH_PACE), or false for at once (tests). */
  scenarioPace?: ScenarioPace | false;
  /** On the very first run (no saved clusters yet), create the embedded demo cluster. Default true. */
  demoOnFirstRun?: boolean;
  /** Where unexpected (internal) errors are reported with their stack; the client only gets the message. */
  onInternalError?: (error: unknown, method: string) => void;
}

type Handler<M extends Method> = (params: ParsedParams<M>, session: Session) => Promise<Results[M]> | Results[M];

interface Session {
  send: EventSink;
  /** Live log followers by cluster id. */
  follows: Map<string, () => void>;
}

export class ConsoleService {
  private readonly sessions = new Set<Session>();
  private readonly drivers = new Map<string, ClusterDriver>();
  private readonly activity: ActivityLog;
  private readonly membership: MembershipGuide;
  private readonly kinds: ClusterKinds;
  private readonly layout: DataLayout;
  /**
   * Each cluster's health from the last state it published: a summary broadcast rebuilds the
   * others' from here instead of building their state again (lock files and /proc for local nodes).
   */
  private readonly lastHealth = new Map<string, ClusterSummary['health']>();
  private summaries = '';
  private closed = false;
  private readonly stopHostEvents: (() => void) | undefined;
  /** Every published state recorded per cluster; imported traces as read-only replays. */
  private readonly traces: TraceService;
  /** Guided scenarios, each on an embedded cluster of its own. */
  private readonly scenarioRuns: ScenarioRuns;
  private readonly operations: OperationRunner;
  /** The files raftctl needs to reach each cluster (ClusterSummary.access). */
  private readonly access: ClusterAccessFiles;
  /** Remote clusters created step by step (remote.clusterPlan, remote.createCluster). */
  private readonly remoteCreator: RemoteClusterCreator | undefined;

  private constructor(
    private readonly options: ConsoleServiceOptions,
    private readonly lock: PidLock,
    private registry: ClusterRegistry | null,
  ) {
    this.layout = new DataLayout(options.dataDir);
    this.scenarioRuns = new ScenarioRuns(options.scenarioPace === false ? null : options.scenarioPace);
    this.activity = new ActivityLog((item) => this.broadcast('activity', item));
    this.traces = new TraceService(options.dataDir, {
      store: options.trace,
      health,
      onError: (clusterId, error) => this.activity.record('record trace', 'failed', `${clusterId}: its history is no longer recorded (${(error as Error).message})`, clusterId),
    });
    const operations = new OperationRunner((progress) => this.broadcast('operation.progress', progress), this.activity);
    this.operations = operations;
    this.access = new ClusterAccessFiles(new ClusterPki(this.layout.pkiDir), this.layout.root);
    this.remoteCreator = options.remote && new RemoteClusterCreator({
      hosts: options.remote.hosts,
      pki: new ClusterPki(this.layout.pkiDir),
      operations,
      ...options.remote.create,
      hooks: {
        registry: () => this.clusters,
        uniqueId: (name) => this.uniqueClusterId(name),
        add: (record) => this.adopt(record),
        remove: (clusterId) => this.deleteCluster(clusterId),
      },
    });
    this.kinds = clusterKinds({ layout: this.layout, local: options.local, remote: options.remote, feed: options.feed, embeddedRuns: options.embeddedRuns !== false, operations, scenarios: this.scenarioRuns });
    this.membership = new MembershipGuide(operations, options.membership);
    this.stopHostEvents = options.hosts?.onState((view) => this.broadcast('hosts.state', view));
  }

  /** Takes the data dir (refused while another console holds it), loads the saved clusters and re-attaches. */
  static async open(options: ConsoleServiceOptions): Promise<ConsoleService> {
    const layout = new DataLayout(options.dataDir);
    await mkdir(layout.root, { recursive: true });
    const lock = await acquirePidLock(layout.consoleLock, `the console data directory ${layout.root}`);
    const service = new ConsoleService(options, lock, null);
    try {
      service.registry = await ClusterRegistry.open(layout.registryFile, (message) => service.activity.record('load clusters', 'failed', message));
      for (const record of service.clusters.list()) await service.attach(record);
      for (const replay of service.traces.loadReplays((message) => service.activity.record('load replays', 'failed', message))) {
        service.drivers.set(replay.id, new ReplayDriver(replay));
      }
      if (service.clusters.firstRun && options.demoOnFirstRun !== false) {
        await service.createCluster({ name: 'Demo', kind: 'embedded', size: 3 });
      }
    } catch (error) {
      await service.close();
      throw error;
    }
    return service;
  }

  get dataDir(): string {
    return this.layout.root;
  }

  private get clusters(): ClusterRegistry {
    if (!this.registry) throw new ApiError('unavailable', 'the console is still starting');
    return this.registry;
  }

  openSession(send: EventSink): ConsoleSession {
    const session: Session = { send, follows: new Map() };
    this.sessions.add(session);
    return {
      invoke: (method, params) => this.invoke(method, params, session),
      close: () => {
        this.unfollowAll(session);
        this.sessions.delete(session);
      },
    };
  }

  /** Stops observing clusters and releases the data dir. Local nodes keep running; embedded ones stop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const session of this.sessions) this.unfollowAll(session);
    this.sessions.clear();
    this.stopHostEvents?.();
    await Promise.allSettled([...this.drivers.values()].map((d) => d.close()));
    this.drivers.clear();
    this.traces.close();
    await this.lock.release();
  }

  private async invoke(method: string, params: unknown, session: Session): Promise<unknown> {
    if (this.closed) throw new ApiError('unavailable', 'the console is shutting down');
    const request = parseRequest(method, params);
    const handler = this.handlers[request.method] as Handler<Method>;
    try {
      return await handler(request.params, session);
    } catch (error) {
      if (!(error instanceof ApiError)) (this.options.onInternalError ?? defaultInternalError)(error, method);
      throw error;
    }
  }

  private broadcast<E extends EventName>(event: E, payload: Events[E]): void {
    for (const session of this.sessions) session.send(event, payload);
  }

  private driver(clusterId: string): ClusterDriver {
    const driver = this.drivers.get(clusterId);
    if (!driver) throw new ApiError('not-found', `no cluster "${clusterId}"`);
    return driver;
  }

  private async attach(record: ClusterRecord): Promise<void> {
    let driver: ClusterDriver | undefined;
    const publish = (state: ClusterState) => {
      this.broadcast('cluster.state', state);
      // A driver being deleted may still publish: its health must not outlive it.
      if (this.drivers.get(record.id) !== driver) return;
      this.traces.record(state);
      this.lastHealth.set(record.id, health(state));
      this.publishSummariesIfChanged();
    };
    const kind: ClusterKind | undefined = this.kinds[record.kind];
    if (!kind) {
      this.activity.record('load clusters', 'failed', `cluster ${record.id}: ${record.kind} clusters are not supported by this console yet`, record.id);
      return;
    }
    driver = await kind.attach(record, this.clusters, publish);
    this.drivers.set(record.id, driver);
    // Embedded clusters: every message goes into the trace too (the driver's network stops with it).
    driver.onNetworkEvent?.((event) => this.drivers.get(record.id) === driver && this.traces.recordMessage(record.id, event));
    await this.access.save(record);
  }

  private summaryOf(record: ClusterRecord): ClusterSummary {
    const driver = this.drivers.get(record.id);
    return clusterSummary(record, health(driver?.state()), driver?.capabilities, this.access.describe(record));
  }

  private summaryList(): ClusterSummary[] {
    return [...this.clusters.list().map((record) => this.summaryOf(record)), ...this.replaySummaries()];
  }

  /** Imported traces, listed after the clusters. */
  private replaySummaries(): ClusterSummary[] {
    return [...this.drivers.values()].filter((d): d is ReplayDriver => d instanceof ReplayDriver).map((d) => d.replay.summary(health(d.state())));
  }

  /** Broadcasts the summaries when they differ from the last ones sent; definitions are read fresh, health as last published. */
  private publishSummariesIfChanged(): void {
    const list = [...this.clusters.list().map((record) => clusterSummary(record, this.knownHealth(record.id), this.drivers.get(record.id)?.capabilities, this.access.describe(record))), ...this.replaySummaries()];
    const signature = JSON.stringify(list);
    if (signature === this.summaries) return;
    this.summaries = signature;
    this.broadcast('clusters.changed', list);
  }

  /** A cluster that has not published yet (just attached) has its health built from its state once. */
  private knownHealth(clusterId: string): ClusterSummary['health'] {
    let known = this.lastHealth.get(clusterId);
    if (known === undefined) {
      const driver = this.drivers.get(clusterId);
      known = health(driver?.state());
      if (driver) this.lastHealth.set(clusterId, known);
    }
    return known;
  }

  private async createCluster(params: ParsedParams<'clusters.create'>): Promise<ClusterSummary> {
    const { name, kind, size } = params;
    const names = params.nodeNames ?? [];
    if (names.length && names.length !== size) throw new ApiError('invalid-input', `clusters.create: nodeNames lists ${names.length} names for ${size} nodes`);
    const duplicate = names.find((n, i) => names.indexOf(n) !== i);
    if (duplicate) throw new ApiError('invalid-input', `clusters.create: node name "${duplicate}" is used twice`);
    const ids: string[] = [];
    for (let i = 0; i < size; i++) ids.push(names[i] ?? nextNodeId(ids));

    const id = this.uniqueClusterId(name);
    const defined = await (this.kinds[kind] as ClusterKind).define(ids, params, this.clusters, id);
    const record: ClusterRecord = { id, name, kind, createdAt: Date.now(), ...defined };
    await this.clusters.add(record);
    await this.attach(record);
    this.publishSummariesIfChanged();
    return this.summaryOf(record);
  }

  /** Saves a cluster made elsewhere (a remote create) and opens its driver; a cluster that cannot be opened is not kept. */
  private async adopt(record: ClusterRecord): Promise<ClusterDriver> {
    await this.clusters.add(record);
    try {
      await this.attach(record);
    } catch (error) {
      await this.clusters.remove(record.id);
      throw error;
    }
    this.publishSummariesIfChanged();
    return this.driver(record.id);
  }

  private remoteCreation(): RemoteClusterCreator {
    if (!this.remoteCreator) throw new ApiError('unavailable', 'remote clusters need the host profiles service, and this console was started without it');
    return this.remoteCreator;
  }

  private uniqueClusterId(name: string): string {
    // Dots and dashes only inside: a name like ".." never becomes an id that names a parent folder.
    const base = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 40) || 'cluster';
    let id = base;
    for (let i = 2; this.clusters.find(id) || this.drivers.has(id); i++) id = `${base}-${i}`;
    return id;
  }

  private async deleteCluster(clusterId: string): Promise<void> {
    const driver = this.driver(clusterId);
    await driver.destroy();
    this.drivers.delete(clusterId);
    this.lastHealth.delete(clusterId);
    this.traces.forget(clusterId);
    this.scenarioRuns.forget(clusterId);
    if (driver instanceof ReplayDriver) return this.publishSummariesIfChanged();
    await this.clusters.remove(clusterId);
    await this.access.remove(clusterId);
    for (const session of this.sessions) this.unfollow(session, clusterId);
    this.publishSummariesIfChanged();
  }

  /** A scenario's cluster, fresh (the one of an earlier start is replaced), time paused at its first step. */
  private async startScenario(scenarioId: string, seed = randomSeed()): Promise<Results['scenarios.start']> {
    const defined = this.scenarioRuns.define(scenarioId, seed);
    const clusterId = scenarioClusterId(scenarioId);
    if (this.drivers.has(clusterId)) await this.deleteCluster(clusterId);
    const record: ClusterRecord = { id: clusterId, name: `Scenario: ${this.scenarioRuns.scenario(scenarioId).title}`, createdAt: Date.now(), ...defined };
    await this.clusters.add(record);
    await this.attach(record);
    this.publishSummariesIfChanged();
    return { clusterId, view: this.scenarioRuns.view(clusterId) };
  }

  /** One node action, labelled as the cluster's driver names it ("stop (SIGTERM)"); a driver refuses what it cannot do, saying why. */
  private nodeAction(action: NodeAction) {
    return (p: { clusterId: string; nodeId: string }) => {
      const driver = this.driver(p.clusterId);
      return this.activity.track(`node.${action}`, `${driver.actionLabel(action)} ${p.nodeId}`, p.clusterId, () => driver.node(p.nodeId, action));
    };
  }

  private unfollow(session: Session, clusterId: string): void {
    session.follows.get(clusterId)?.();
    session.follows.delete(clusterId);
  }

  private unfollowAll(session: Session): void {
    for (const clusterId of [...session.follows.keys()]) this.unfollow(session, clusterId);
  }

  private remoteHosts(): RemoteHosts {
    if (!this.options.remote) throw new ApiError('unavailable', 'remote hosts need the host profiles service, and this console was started without it');
    return this.options.remote.hosts;
  }

  private hosts(): HostsService {
    if (!this.options.hosts) throw new ApiError('unavailable', 'host profiles need the hosts service, and this console was started without it');
    return this.options.hosts;
  }

  private readonly handlers: { [M in Method]: Handler<M> } = {
    'clusters.list': () => this.summaryList(),
    'clusters.create': (p) => this.activity.track('clusters.create', `create ${p.kind} cluster "${p.name}" of ${p.size}`, undefined, () => this.createCluster(p)),
    'clusters.delete': (p) => this.activity.track('clusters.delete', `delete ${p.clusterId}`, p.clusterId, () => this.deleteCluster(p.clusterId)),
    'clusters.start': (p) => this.activity.track('clusters.start', `start ${p.clusterId}`, p.clusterId, () => this.driver(p.clusterId).start()),
    'clusters.stop': (p) => this.activity.track('clusters.stop', `stop ${p.clusterId}`, p.clusterId, () => this.driver(p.clusterId).stop()),
    'clusters.restart': (p) =>
      this.activity.track('clusters.restart', `restart ${p.clusterId}`, p.clusterId, async () => {
        const driver = this.driver(p.clusterId);
        await driver.stop();
        await driver.start();
      }),
    'cluster.state': (p) => this.driver(p.clusterId).state(),

    'node.start': this.nodeAction('start'),
    'node.stop': this.nodeAction('stop'),
    'node.kill': this.nodeAction('kill'),
    'node.pause': this.nodeAction('pause'),
    'node.resume': this.nodeAction('resume'),
    'node.restart': this.nodeAction('restart'),
    'node.forceNewCluster': this.nodeAction('forceNewCluster'),
    'node.campaign': (p) => {
      const driver = this.driver(p.clusterId);
      if (!driver.capabilities.forceElection || !driver.campaign) {
        throw new ApiError('invalid-input', `${p.clusterId}: forcing an election timeout needs an embedded cluster; raftd has no request that fires a node's election timer`);
      }
      return this.activity.track('node.campaign', `fire ${p.nodeId}'s election timer`, p.clusterId, () => driver.campaign!(p.nodeId));
    },

    'fault.partition': (p) =>
      this.activity.track('fault.partition', describePartition(p.groups), p.clusterId, () => this.driver(p.clusterId).partition(p.groups)),
    'fault.heal': (p) => this.activity.track('fault.heal', 'heal partitions', p.clusterId, () => this.driver(p.clusterId).heal()),

    'membership.addNode': (p) => {
      const driver = this.driver(p.clusterId);
      if (p.host) {
        if (this.clusters.get(p.clusterId).kind !== 'remote') throw new ApiError('invalid-input', `membership.addNode: ${p.clusterId} is not a remote cluster; host applies to remote clusters only`);
        this.remoteHosts().placeNextNode(p.clusterId, { profile: p.host, uploadRuntime: p.uploadRuntime });
      }
      try {
        return this.membership.addNode(driver, p.nodeId);
      } catch (error) {
        // Refused before it started: the choice must not carry over to the next add.
        if (p.host) this.remoteHosts().takePlacement(p.clusterId);
        throw error;
      }
    },
    'membership.removeNode': (p) => this.membership.removeNode(this.driver(p.clusterId), p.nodeId),
    'membership.promote': (p) => this.membership.promote(this.driver(p.clusterId), p.nodeId),
    'membership.joint': (p) => this.membership.joint(this.driver(p.clusterId), p.addVoters, p.removeVoters),
    'membership.transferLeader': (p) =>
      this.activity.track('membership.transferLeader', `transfer leadership to ${p.to}`, p.clusterId, () => this.driver(p.clusterId).transferLeader(p.to)),
    'membership.plan': (p) => this.membership.plan(this.driver(p.clusterId), p.change, p.nodeId),

    'kv.put': (p) => this.driver(p.clusterId).kvPut(p.key, p.value),
    'kv.get': (p) => this.driver(p.clusterId).kvGet(p.key, p.stale),
    'kv.delete': (p) => this.driver(p.clusterId).kvDelete(p.key),
    'kv.cas': (p) => this.driver(p.clusterId).kvCas(p.key, p.from, p.to),

    'log.entries': (p) => this.driver(p.clusterId).logEntries(p.nodeId, p.from, p.limit),
    'log.entry': (p) => this.driver(p.clusterId).logEntry(p.nodeId, p.index),

    'nodeLogs.read': (p) => this.driver(p.clusterId).readLogs(p.nodeId, { search: p.search, levels: p.levels, limit: p.limit }),
    'nodeLogs.subscribe': (p, session) => {
      const driver = this.driver(p.clusterId);
      this.unfollow(session, p.clusterId);
      session.follows.set(
        p.clusterId,
        driver.followLogs(p.nodeId, (line) => session.send('nodeLogs.line', line)),
      );
    },
    'nodeLogs.unsubscribe': (p, session) => this.unfollow(session, p.clusterId),

    'embedded.clock': async (p) => {
      const driver = this.driver(p.clusterId);
      if (!driver.capabilities.simulatedClock || !driver.clock) throw new ApiError('invalid-input', `${p.clusterId} is not an embedded cluster: only embedded clusters have a simulated clock`);
      await driver.clock(p.action, p.speed, p.stepMs);
    },
    'embedded.dropMessage': async (p) => {
      const driver = this.driver(p.clusterId);
      if (!driver.capabilities.dropMessages || !driver.dropMessage) throw new ApiError('invalid-input', `${p.clusterId} is not an embedded cluster: only embedded messages can be dropped one by one`);
      await driver.dropMessage(p.messageId);
    },

    'activity.list': (p) => this.activity.list(p.limit),

    'scenarios.list': () => this.scenarioRuns.list(),
    'scenarios.start': (p) => this.activity.track('scenarios.start', `start scenario ${p.scenarioId}${p.seed === undefined ? '' : ` (seed ${p.seed})`}`, undefined, () => this.startScenario(p.scenarioId, p.seed)),
    'scenarios.next': (p) => this.scenarioRuns.next(p.clusterId),
    'scenarios.state': (p) => this.scenarioRuns.view(p.clusterId),

    // The cluster must exist: a trace is never opened for an id that names nothing.
    'trace.range': (p) => (this.driver(p.clusterId), this.traces.range(p.clusterId)),
    'trace.at': (p) => (this.driver(p.clusterId), this.traces.at(p.clusterId, p.at)),
    'trace.export': (p) => (this.driver(p.clusterId), this.traces.export(p.clusterId, p.from, p.to)),
    'trace.import': (p) =>
      this.activity.track('trace.import', `import a trace${p.name ? ` as "${p.name}"` : ''}`, undefined, async () => {
        const replay = await this.traces.import(p.content, p.encoding, (id) => !this.clusters.find(id) && !this.drivers.has(id), p.name);
        const driver = new ReplayDriver(replay);
        this.drivers.set(replay.id, driver);
        this.publishSummariesIfChanged();
        return replay.summary(health(driver.state()));
      }),

    'remote.plan': (p) => this.remoteHosts().plan(p.host, p.uploadRuntime),
    'remote.deploy': (p) =>
      this.activity.track('remote.deploy', `deploy raftd to ${p.host}${p.uploadRuntime ? ' (with the Node runtime if needed)' : ''}`, undefined, () => this.remoteHosts().deploy(p.host, p.uploadRuntime)),

    'remote.clusterPlan': (p) => this.remoteCreation().plan(p),
    'remote.createCluster': (p) => this.remoteCreation().create(p.planId),
    'operation.cancel': (p) => ({ cancelled: this.operations.cancel(p.operationId) }),

    'hosts.list': () => this.hosts().list(),
    'hosts.create': (p) => this.activity.track('hosts.create', `add host ${p.name} (${p.user}@${p.address}:${p.port})`, undefined, () => this.hosts().create(p)),
    'hosts.update': (p) => this.activity.track('hosts.update', `change host ${p.id}`, undefined, () => this.hosts().update(p)),
    'hosts.delete': (p) => this.activity.track('hosts.delete', `delete host ${p.id}`, undefined, () => this.hosts().delete(p)),
    'hosts.duplicate': (p) => this.hosts().duplicate(p),
    'hosts.export': (p) => this.hosts().export(p),
    'hosts.importPreview': (p) => this.hosts().importPreview(p),
    'hosts.import': (p) => this.activity.track('hosts.import', 'import host profiles', undefined, () => this.hosts().import(p)),
    'hosts.sshConfigPreview': () => this.hosts().sshConfigPreview(),
    'hosts.importSshConfig': (p) => this.activity.track('hosts.importSshConfig', `import ${p.names.length > 5 ? `${p.names.length} hosts` : `hosts ${p.names.join(', ')}`} from ~/.ssh/config`, undefined, () => this.hosts().importSshConfig(p)),
    'hosts.test': (p) => this.hosts().test(p),
    'hosts.state': () => this.hosts().state(),
    'hosts.acceptKey': (p) => this.activity.track('hosts.acceptKey', `trust the ${p.keyType} key ${p.fingerprint} of host ${p.id}`, undefined, () => this.hosts().acceptKey(p)),
    'hosts.replaceKey': (p) =>
      this.activity.track('hosts.replaceKey', `replace the host key of ${p.id}: ${p.previousFingerprint} → ${p.fingerprint}`, undefined, () => this.hosts().replaceKey(p)),
  };
}

/** A cluster's health from the state the console sees. */
export function health(state: ClusterState | undefined): ClusterSummary['health'] {
  if (!state) return 'stopped';
  const live = state.nodes.filter((n) => n.process === 'running' || n.process === 'starting' || n.reachable);
  if (live.length === 0) return 'stopped';
  // A majority down means no quorum, even while a leader is still reported: it cannot commit
  // anything, and steps down at its next quorum check. With a majority up and no leader, an election is on.
  if (!state.facts.hasQuorum) return 'no-quorum';
  if (!state.leader) return 'no-leader';
  // Only members count: a node removed from the configuration (or left behind by a forced
  // recovery) is not a reason to call the cluster degraded; a partition in place is.
  const { voters, votersOutgoing, learners } = state.members;
  const members = new Set([...voters, ...votersOutgoing, ...learners]);
  const memberNodes = state.nodes.filter((n) => members.size === 0 || members.has(n.id));
  const partitioned = (state.partitions ?? []).length > 1;
  return !partitioned && memberNodes.every((n) => n.reachable) ? 'healthy' : 'degraded';
}

/** A scenario's seed when none is asked for: any run is as good as another, and the view shows which it was. */
function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

function defaultInternalError(error: unknown, method: string): void {
  console.error(`[console] ${method} failed unexpectedly:`, error);
}
