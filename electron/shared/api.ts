// The console API: one contract shared by the main-process services, the preload, the web-mode
// server and the renderer. Requests are validated with these schemas wherever they cross a process
// boundary (IPC or WebSocket); results and events are plain JSON.
import { z } from 'zod';
import type { Role } from '../../core/raft/types.js';
import type { EntryDetail as LogEntryDetail, EntryView as LogEntryView } from '../../core/service/wire.js';
import { keyTooLarge, MAX_KEY_BYTES, MAX_VALUE_BYTES, valueTooLarge } from '../../core/kv/limits.js';
import type { ScenarioCheck, ScenarioStepView, ScenarioView } from '../../core/scenarios/index.js';
import type { MessageFields } from '../../core/transport/memory.js';
import { hostsRequestSchemas } from '../services/remote/host-profile.js';
import type { ConnectionTestReport, HostStateView } from '../services/remote/host-connections.js';
import type { HostProfileView } from '../services/remote/host-profile.js';
import type { ImportPreview } from '../services/remote/host-profiles.js';
import type { HostListItem, HostsOverview, SshConfigPreview } from '../services/remote/hosts-service.js';
import type { SshConfigCandidate, SshConfigSkipped } from '../services/remote/ssh-config-hosts.js';
import type { HostKeyInfo } from '../services/remote/remote-shell.js';
import type { TraceMessage } from './trace-format.js';

export type NodeKind = 'embedded' | 'local' | 'remote';
export type { Role };
export type ProcessState = 'running' | 'starting' | 'stopped' | 'paused' | 'killed' | 'crashed' | 'unknown';
/** What can be done to one node's process (node.* methods). */
export type NodeAction = 'start' | 'stop' | 'kill' | 'pause' | 'resume' | 'restart' | 'forceNewCluster';

const id = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, _ . -')
  .refine((s) => s !== '.' && s !== '..', 'not . or ..: ids name folders');
const clusterRef = z.object({ clusterId: id });
const nodeRef = z.object({ clusterId: id, nodeId: id });
const key = z
  .string()
  .min(1)
  .refine((k) => keyTooLarge(k) === null, `a key is at most ${MAX_KEY_BYTES} bytes`);
/** A KV value: at most MAX_VALUE_BYTES of UTF-8, the limit raftd's API has as well. */
const value = z.string().refine((v) => valueTooLarge(v) === null, `a value is at most ${MAX_VALUE_BYTES} bytes`);
/** What every kind of new cluster is asked for. */
const newCluster = {
  name: z.string().min(1).max(80),
  size: z.number().int().min(1).max(9),
  nodeNames: z.array(id).optional(),
};

export const requestSchemas = {
  'clusters.list': z.object({}),
  /** One schema per kind of cluster: each kind asks for what it needs. */
  'clusters.create': z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('embedded'), ...newCluster }),
    z.object({ kind: z.literal('local'), ...newCluster }),
    /** Nodes on other machines over SSH: node i runs on hosts[i % hosts.length] (host profile ids). */
    z.object({
      kind: z.literal('remote'),
      ...newCluster,
      hosts: z.array(id).min(1).max(9),
      /** Opt-in: send the console's own Node runtime (~100 MB) to hosts without Node >= 20. */
      uploadRuntime: z.boolean().default(false),
    }),
  ]),
  'clusters.delete': clusterRef,
  'clusters.start': clusterRef,
  'clusters.stop': clusterRef,
  /** Stop every node, then start them all again. */
  'clusters.restart': clusterRef,
  'cluster.state': clusterRef,

  'node.start': nodeRef,
  'node.stop': nodeRef,
  'node.kill': nodeRef,
  'node.pause': nodeRef,
  'node.resume': nodeRef,
  'node.restart': nodeRef,
  /** Recover from a lost quorum: restart this node alone (force-new-cluster). Loses other members' unreplicated writes. */
  'node.forceNewCluster': nodeRef,
  /** Fire this node's election timer now (Raft's Hup): it campaigns, with a pre-vote first where PreVote is on. Where capabilities.forceElection. */
  'node.campaign': nodeRef,

  'fault.partition': z.object({ clusterId: id, groups: z.array(z.array(id).min(1)).min(2) }),
  'fault.heal': clusterRef,

  /** Guided one-at-a-time change: add as learner → catch up → promote → committed. Progress arrives as events. */
  'membership.addNode': z.object({
    clusterId: id,
    nodeId: id.optional(),
    /** Remote clusters: the host profile the new node runs on (default: the cluster's least used host). */
    host: id.optional(),
    /** With host: the opt-in to upload the console's Node runtime when that host has no Node >= 20. */
    uploadRuntime: z.boolean().default(false),
  }),
  'membership.removeNode': nodeRef,
  'membership.promote': nodeRef,
  'membership.joint': z.object({
    clusterId: id,
    addVoters: z.array(id).default([]),
    removeVoters: z.array(id).default([]),
  }),
  'membership.transferLeader': z.object({ clusterId: id, to: id }),
  /** What a change would do to the quorum, and whether it is safe now; shown before each step. */
  'membership.plan': z.object({
    clusterId: id,
    change: z.enum(['add', 'promote', 'remove']),
    nodeId: id.optional(),
  }),

  'kv.put': z.object({ clusterId: id, key, value }),
  'kv.get': z.object({ clusterId: id, key, stale: z.boolean().default(false) }),
  'kv.delete': z.object({ clusterId: id, key }),
  'kv.cas': z.object({ clusterId: id, key, from: value.nullable(), to: value }),

  'log.entries': z.object({
    clusterId: id,
    nodeId: id,
    from: z.number().int().min(1),
    limit: z.number().int().min(1).max(5000),
  }),
  'log.entry': z.object({ clusterId: id, nodeId: id, index: z.number().int().min(1) }),

  'nodeLogs.read': z.object({
    clusterId: id,
    nodeId: id.optional(),
    search: z.string().max(200).optional(),
    levels: z.array(z.enum(['debug', 'info', 'warn', 'error'])).optional(),
    limit: z.number().int().min(1).max(10_000).default(500),
  }),
  'nodeLogs.subscribe': z.object({ clusterId: id, nodeId: id.optional() }),
  'nodeLogs.unsubscribe': z.object({ clusterId: id }),

  'embedded.clock': z.object({
    clusterId: id,
    action: z.enum(['run', 'pause', 'step']),
    /** Down to the first demo's slow motion (FIRST_VOTES_SPEED): pausing and running again keeps the speed shown. */
    speed: z.number().min(0.02).max(20).optional(),
    stepMs: z.number().int().min(1).max(10_000).optional(),
  }),
  'embedded.dropMessage': z.object({ clusterId: id, messageId: z.number().int() }),

  'activity.list': z.object({ limit: z.number().int().min(1).max(1000).default(200) }),

  /** Guided scenarios (core/scenarios): each plays on an embedded cluster of its own, step by step. */
  'scenarios.list': z.object({}),
  /** (Re)creates the scenario's cluster, time paused at its first step; the same seed plays the same run. */
  'scenarios.start': z.object({ scenarioId: id, seed: z.number().int().min(0).max(2 ** 31 - 1).optional() }),
  /** Plays the next step on the scenario's cluster and checks what its narration says. */
  'scenarios.next': clusterRef,
  'scenarios.state': clusterRef,

  /** Time travel (electron/services/trace-service.ts): the span of a cluster's (or replay's) recorded history. */
  'trace.range': clusterRef,
  /** The cluster as recorded at a moment (wall-clock ms): read-only; null before its trace begins. */
  'trace.at': z.object({ clusterId: id, at: z.number().finite().min(0) }),
  /** A time range (default: all that is kept) as one trace file (electron/shared/trace-format.md). */
  'trace.export': z.object({ clusterId: id, from: z.number().finite().min(0).optional(), to: z.number().finite().min(0).optional() }),
  /** A trace file, kept as a read-only replay beside the clusters; checked whole first, nothing kept when it is bad. */
  'trace.import': z.object({
    content: z.string().min(1),
    encoding: z.enum(['text', 'gzip-base64']).default('text'),
    name: z.string().max(80).optional(),
  }),

  /** What deploying raftd to a host would send, changing nothing; refused with the reason (and the runtime's size) when it cannot run there. */
  'remote.plan': z.object({ host: id, uploadRuntime: z.boolean().default(false) }),
  /** Deploys raftd to a host (nothing is sent when it is there); uploadRuntime: the opt-in for hosts without Node >= 20. */
  'remote.deploy': z.object({ host: id, uploadRuntime: z.boolean().default(false) }),
  /**
   * What creating a remote cluster would do, changing nothing: each node's host, addresses and files there,
   * and what each host's deploy sends (or why it cannot). node i runs on hosts[i]. remote.createCluster carries it out.
   */
  'remote.clusterPlan': z.object({
    name: newCluster.name,
    hosts: z.array(id).min(1).max(9),
    nodeNames: z.array(id).optional(),
    uploadRuntime: z.boolean().default(false),
  }),
  /** Carries out a plan from remote.clusterPlan in the background: progress per node (operation.progress), cancellable (operation.cancel). */
  'remote.createCluster': z.object({ planId: z.string().min(1).max(64) }),
  /** Stops a cancellable operation (a remote cluster's deploy): what it started is stopped and what it created removed. */
  'operation.cancel': z.object({ operationId: z.string().min(1).max(64) }),

  /** SSH host profiles, their known keys and connections (electron/services/remote/hosts-service.ts). */
  ...hostsRequestSchemas,
} as const;

export type Method = keyof typeof requestSchemas;
export type Params<M extends Method> = z.input<(typeof requestSchemas)[M]>;
/** A request's params after validation (defaults filled in), as the services receive them. */
export type ParsedParams<M extends Method> = z.output<(typeof requestSchemas)[M]>;

export interface ClusterSummary {
  id: string;
  name: string;
  kind: NodeKind;
  nodes: NodeDefinition[];
  /** Nodes removed from the cluster whose logs can still be read (nodeLogs.read). */
  retiredNodes?: string[];
  createdAt: number;
  /** What its driver can do; absent while the console cannot run the cluster. */
  capabilities?: ClusterCapabilities;
  /** no-leader: none leads now, though a majority of voters is up to elect one; no-quorum: a majority is down. */
  health: 'healthy' | 'degraded' | 'no-leader' | 'no-quorum' | 'stopped';
  /** The guided scenario this (embedded) cluster plays, if any. */
  scenario?: string;
  /** An imported trace, read-only: its history plays in the time slider. */
  replay?: { from: number; to: number; sourceId: string; importedAt: number };
  /** raftd clusters: whether their ports speak mutual TLS. */
  tls?: boolean;
  /** raftd clusters: the files on this machine raftctl needs to reach the cluster (token, client certificate). */
  access?: ClusterAccess;
}

/** Absolute paths on the console's machine, as raftctl's flags take them. */
export interface ClusterAccess {
  tokenFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
}

/** A guided scenario as scenarios.list shows it. */
export interface ScenarioSummary {
  id: string;
  title: string;
  summary: string;
  steps: number;
  nodes: number;
}

/** A scenario being played: its steps, those played with their narration and checks. */
export type { ScenarioCheck, ScenarioStepView, ScenarioView };
export type { MessageFields };

export interface NodeDefinition {
  id: string;
  kind: NodeKind;
  /** Peer (raft) and client (HTTP) addresses for local and remote nodes. */
  peer?: string;
  client?: string;
  /** Remote nodes: the SSH host profile that runs them. */
  host?: string;
}

/** Log entries as raftd serves them (core/service/wire.ts): one definition for raftd and the console. */
export type { LogEntryDetail, LogEntryView };

export interface NodeView {
  id: string;
  kind: NodeKind;
  process: ProcessState;
  /** False when the console cannot reach the node now: then the fields below are its last known values. */
  reachable: boolean;
  lastSeen: number;
  error?: string;
  role: Role | 'unknown';
  membership: 'voter' | 'learner' | 'none';
  term: number;
  vote: string;
  leader: string;
  commitIndex: number;
  appliedIndex: number;
  lastIndex: number;
  /** First index still in the log; those below it are only in the snapshot (snapshotIndex). */
  firstIndex: number;
  snapshotIndex: number;
  /** Leader's match index for this node, when the leader reports it. */
  matchIndex?: number;
  logTail: LogEntryView[];
  /** What can be done to this node now, as its driver decides (never an action its cluster cannot do). */
  actions: NodeAction[];
  /**
   * Remote nodes: the host profile whose SSH link is down now. The process is then 'unknown' (it may well
   * run), never crashed; shown as "unknown (host unreachable)" until the link is back.
   */
  hostUnreachable?: string;
  /** Embedded only: ticks elapsed since the last heartbeat and this node's randomized timeout. */
  electionElapsed?: number;
  electionTimeout?: number;
}

export interface MembershipView {
  voters: string[];
  /** C_old while joint; empty otherwise. */
  votersOutgoing: string[];
  learners: string[];
}

export interface TimelineEvent {
  /** On the cluster's own clock: simulated ms (clock.now's) for a cluster with a simulated clock, else wall-clock ms. */
  at: number;
  term: number;
  leader: string;
  kind: 'election-started' | 'leader-elected' | 'leader-lost' | 'membership' | 'fault';
  detail: string;
}

export interface MessageInFlight {
  id: number;
  from: string;
  to: string;
  type: string;
  sentAt: number;
  deliverAt: number;
  summary: string;
  /** Its raft fields (term, index, log term, commit, entries…): what the message panel shows. */
  fields?: MessageFields;
}

/** What a cluster's driver can do: the console offers exactly this, whatever the kind. */
export interface ClusterCapabilities {
  /** Node actions the driver carries out at all; each node's `actions` are those possible now. */
  nodeActions: NodeAction[];
  /** A simulated clock to run, pause and step (embedded.clock), with messages in flight shown. */
  simulatedClock: boolean;
  /** Single messages in flight can be dropped (embedded.dropMessage). */
  dropMessages: boolean;
  /** Nodes report their election timers (electionElapsed, electionTimeout). */
  electionTimers: boolean;
  /** The whole cluster can be stopped and started again later (raftd processes); an embedded cluster's clock is paused instead. */
  stopAll: boolean;
  /** A node's election timer can be made to fire now (node.campaign). Embedded clusters only: raftd has no request for it. */
  forceElection?: boolean;
}

export interface ClusterState {
  clusterId: string;
  name: string;
  kind: NodeKind;
  capabilities: ClusterCapabilities;
  at: number;
  leader: string;
  term: number;
  members: MembershipView;
  nodes: NodeView[];
  timeline: TimelineEvent[];
  /** Embedded only: simulated time and messages in flight. */
  clock?: { now: number; running: boolean; speed: number };
  messages?: MessageInFlight[];
  partitions?: string[][];
  /** Embedded only: single directed links cut (a guided scenario's, or an isolated node's), apart from any partition. */
  cutLinks?: Array<{ from: string; to: string }>;
  /** What follows from the above, decided once (electron/shared/cluster-facts.ts): the renderer shows it as is. */
  facts: ClusterFacts;
}

export interface ClusterFacts {
  /** Voters of the configuration (C_new while joint) and the votes a decision needs among them. */
  voters: number;
  majority: number;
  /** While joint: C_old's voters and majority, needed as well. */
  votersOutgoing?: number;
  majorityOutgoing?: number;
  /** Voters running and answering now. */
  votersUp: string[];
  /** Paused or unreachable voters: they may come back by themselves (resume, heal). */
  votersSuspended: string[];
  /** Killed, crashed, stopped or unknown voters: down until started again. */
  votersDown: string[];
  /** A majority of the voters (of each half while joint) is up. */
  hasQuorum: boolean;
  /** Even if every suspended voter came back, no majority could form. */
  quorumLostForGood: boolean;
  /** How many more voters may fail with a majority still up (only voters up now count). */
  failuresTolerated: number;
  /** leader: one leads; electing: none now, but a majority is up to elect one; no-quorum: a majority is down. */
  leadership: 'leader' | 'electing' | 'no-quorum';
  /** Per node: entries its log is behind the leader's last index; null when unknown (node or leader not up). */
  lag: Record<string, number | null>;
  /** Voters up now, the most of the log first: the first one other than X is who should take over from X. */
  takeoverOrder: string[];
}

/** What a cluster's trace holds (wall-clock ms of its first and last frame). */
export interface TraceRange {
  first: number;
  last: number;
  frames: number;
  bytes: number;
  /** An imported replay: there is no live moment to return to. */
  replay: boolean;
}

export interface TraceMomentView {
  /** The recorded frame shown: the last one at or before the moment asked for. */
  at: number;
  /** Read-only: no actions, no clock controls. */
  state: ClusterState;
  /** The cluster's health at that moment, by the same rule as ClusterSummary's. */
  health: ClusterSummary['health'];
  /** Embedded clusters: network events since the frame before this one. */
  messages: TraceMessage[];
}

export interface TraceExport {
  filename: string;
  text: string;
  frames: number;
  bytes: number;
}

export interface MembershipPlan {
  safe: boolean;
  /** Why the step is safe, or why it is blocked. */
  reason: string;
  before: { voters: number; majority: number };
  after: { voters: number; majority: number };
}

export interface KvResult {
  value?: string | null;
  succeeded?: boolean;
  /** Where the write committed. */
  index?: number;
  term?: number;
}

export interface NodeLogLine {
  clusterId: string;
  nodeId: string;
  time: number;
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  raw: string;
}

export interface ActivityItem {
  id: number;
  at: number;
  clusterId?: string;
  action: string;
  outcome: 'started' | 'ok' | 'failed';
  detail: string;
}

export interface OperationProgress {
  operationId: string;
  clusterId: string;
  title: string;
  step: string;
  /** 0..1, or null when unknown. */
  fraction: number | null;
  done: boolean;
  error?: string;
  /** operation.cancel stops it. */
  cancellable?: boolean;
  /** It ended because it was cancelled (error says what was undone). */
  cancelled?: boolean;
  /** A remote cluster's deploy: where each node is, each failure on the node where it happened. */
  nodes?: NodeDeployProgress[];
}

/** A remote node's way to a running member: connect to its host, upload, start, join, see a leader. */
export type DeployStage = 'connect' | 'upload' | 'start' | 'join' | 'leader';
export const DEPLOY_STAGES: readonly DeployStage[] = ['connect', 'upload', 'start', 'join', 'leader'];

export interface NodeDeployProgress {
  nodeId: string;
  host: string;
  /** The stage reached; `state` is that stage's. */
  stage: DeployStage;
  state: 'waiting' | 'running' | 'done' | 'failed' | 'cancelled';
  /** While uploading: what (raftd, Node v20…) and bytes sent of total, for the host (shared by its nodes). */
  upload?: { what: string; sent: number; total: number };
  /** Bytes the host's deploy sent in all (0: everything was there). */
  uploadedBytes?: number;
  /** What happened at this stage, in words (the failure, or the pid started). */
  detail?: string;
  error?: string;
}

/** remote.clusterPlan: what creating the cluster would do, decided by the backend. */
export interface RemoteClusterPlan {
  /** Hand it to remote.createCluster (valid for a while, in this console). */
  planId: string;
  clusterId: string;
  name: string;
  hosts: RemoteClusterPlanHost[];
  nodes: RemoteNodePlan[];
  /** Bytes the deploys would send in all. */
  uploadBytes: number;
  /** Why it cannot be carried out as it is (a host refused, unreachable…); empty when it can. */
  problems: string[];
}

export interface RemoteClusterPlanHost {
  host: string;
  /** The remote user's home, where ~/.raft-console/ lives. */
  home?: string;
  deploy?: RemoteDeployPlan;
  error?: string;
}

/** A planned node; its addresses and paths are absent when its host could not be planned (see the host's error). */
export interface RemoteNodePlan {
  nodeId: string;
  host: string;
  /** host:port other nodes reach it at, on the host's own address. */
  peer?: string;
  /** host:port of its HTTP API, on the host's loopback (the console reaches it over SSH). */
  client?: string;
  /** Absolute paths on the host. */
  dataDir?: string;
  logFile?: string;
}

/** What a deploy to a remote host would do. */
export interface RemoteDeployPlan {
  host: string;
  /** `uname -s`, `uname -m` of the host, and the Node its login shell finds (null: none). */
  os: string;
  arch: string;
  hostNode: string | null;
  /** raftd runs on the host's Node, or on the console's runtime uploaded there. */
  runtime: 'host' | 'uploaded';
  runtimeVersion: string;
  bundleBytes: number;
  bundlePresent: boolean;
  /** For an uploaded runtime: its size, and whether it is there already. */
  runtimeBytes?: number;
  runtimePresent?: boolean;
  /** Bytes a deploy would send now (0: everything is there). */
  uploadBytes: number;
}

export interface RemoteDeployment {
  host: string;
  uploadedBytes: number;
  /** What was sent: 'raftd', 'Node v20…'; empty when everything was there. */
  uploaded: string[];
  /** Older raftd and Node folders removed from the host (unused for a day, run by no process). */
  removed: string[];
  /** Absolute paths on the host. */
  nodePath: string;
  bundlePath: string;
}

export interface Results {
  'clusters.list': ClusterSummary[];
  'clusters.create': ClusterSummary;
  'clusters.delete': void;
  'clusters.start': void;
  'clusters.stop': void;
  'clusters.restart': void;
  'cluster.state': ClusterState;
  'node.start': void;
  'node.stop': void;
  'node.kill': void;
  'node.pause': void;
  'node.resume': void;
  'node.restart': void;
  'node.forceNewCluster': void;
  'node.campaign': void;
  'fault.partition': void;
  'fault.heal': void;
  'membership.addNode': { operationId: string; nodeId: string };
  'membership.removeNode': { operationId: string };
  'membership.promote': { operationId: string };
  'membership.joint': { operationId: string };
  'membership.transferLeader': void;
  'membership.plan': MembershipPlan;
  'kv.put': KvResult;
  'kv.get': KvResult;
  'kv.delete': KvResult;
  'kv.cas': KvResult;
  'log.entries': LogEntryView[];
  'log.entry': LogEntryDetail;
  'nodeLogs.read': NodeLogLine[];
  'nodeLogs.subscribe': void;
  'nodeLogs.unsubscribe': void;
  'embedded.clock': void;
  'embedded.dropMessage': void;
  'activity.list': ActivityItem[];
  'scenarios.list': ScenarioSummary[];
  'scenarios.start': { clusterId: string; view: ScenarioView };
  'scenarios.next': ScenarioView;
  'scenarios.state': ScenarioView;
  'trace.range': TraceRange | null;
  'trace.at': TraceMomentView | null;
  'trace.export': TraceExport;
  'trace.import': ClusterSummary;
  'remote.plan': RemoteDeployPlan;
  'remote.deploy': RemoteDeployment;
  'remote.clusterPlan': RemoteClusterPlan;
  'remote.createCluster': { operationId: string; clusterId: string };
  'operation.cancel': { cancelled: boolean };
  'hosts.list': HostsOverview;
  'hosts.create': HostProfileView;
  'hosts.update': HostProfileView;
  'hosts.delete': void;
  'hosts.duplicate': HostProfileView;
  'hosts.export': { json: string };
  'hosts.importPreview': ImportPreview;
  'hosts.import': ImportPreview;
  'hosts.sshConfigPreview': SshConfigPreview;
  'hosts.importSshConfig': ImportPreview;
  'hosts.test': ConnectionTestReport;
  'hosts.state': HostStateView[];
  'hosts.acceptKey': HostStateView;
  'hosts.replaceKey': HostStateView;
}

/** Host profile shapes as the hosts.* methods return them. */
export type { ConnectionTestReport, HostKeyInfo, HostListItem, HostProfileView, HostsOverview, HostStateView, ImportPreview, SshConfigCandidate, SshConfigPreview, SshConfigSkipped };

export interface Events {
  'cluster.state': ClusterState;
  'clusters.changed': ClusterSummary[];
  activity: ActivityItem;
  'operation.progress': OperationProgress;
  'nodeLogs.line': NodeLogLine;
  /** A host's SSH connection changed state (connected, reconnecting, unreachable, key not trusted…). */
  'hosts.state': HostStateView;
}

export type EventName = keyof Events;

/** What both transports (IPC and WebSocket) give the renderer. */
export interface ConsoleApi {
  invoke<M extends Method>(method: M, params: Params<M>): Promise<Results[M]>;
  /** Returns an unsubscribe function. */
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
}

/** Errors cross the boundary as { code, message }: readable, never a stack. */
export interface ApiErrorShape {
  code: 'invalid-input' | 'not-found' | 'conflict' | 'unavailable' | 'refused' | 'internal';
  message: string;
}

export class ApiError extends Error {
  constructor(
    public readonly code: ApiErrorShape['code'],
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Validates one request; throws ApiError('invalid-input') naming the bad field. */
export function parseRequest<M extends Method>(method: string, params: unknown): { method: M; params: ParsedParams<M> } {
  if (!Object.hasOwn(requestSchemas, method)) throw new ApiError('invalid-input', `unknown method "${method}"`);
  const result = requestSchemas[method as M].safeParse(params ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue.path.length ? issue.path.join('.') : 'params';
    throw new ApiError('invalid-input', `${method}: ${where}: ${issue.message}`);
  }
  return { method: method as M, params: result.data as ParsedParams<M> };
}
