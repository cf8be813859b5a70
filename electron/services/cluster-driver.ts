// What the console service needs from a cluster, whatever runs its nodes (local raftd processes,
// the embedded in-process cluster, later remote daemons over SSH).
import { ApiError } from '../shared/api.js';
import type { ClusterCapabilities, ClusterState, KvResult, LogEntryDetail, LogEntryView, NodeAction, NodeLogLine, ProcessState } from '../shared/api.js';
import type { NodeLogQuery } from './node-host.js';
import type { TraceMessage } from '../shared/trace-format.js';

export type { NodeAction };

/** Primitive membership changes, each one configuration change on the leader; membership.ts sequences them. */
export interface MembershipTarget {
  readonly clusterId: string;
  state(): ClusterState;
  /** Fresh state, polled now. */
  refresh(): Promise<ClusterState>;
  /** The id a new node would get: the requested one if free (else a conflict), or the next free nK. */
  newNodeId(requested?: string): string;
  /**
   * Defines a new node and brings it up ready to join (it is not a member yet); `report` hears the longer
   * steps (a deploy's upload). `signal` stops it where it can (a deploy under way, or before the node is
   * defined): it then rejects having defined nothing; past that point it finishes.
   */
  provisionNode(nodeId: string, report?: (text: string) => void, signal?: AbortSignal): Promise<void>;
  /** After its removal from the configuration: stops the node and drops it from the definition. */
  retireNode(nodeId: string): Promise<void>;
  /** Each change returns the log index of its configuration entry. */
  addLearner(nodeId: string): Promise<number>;
  promote(nodeId: string): Promise<number>;
  remove(nodeId: string): Promise<number>;
  joint(addVoters: string[], removeVoters: string[]): Promise<number>;
  transferLeader(to: string): Promise<void>;
}

export interface ClusterDriver extends MembershipTarget {
  /** What this driver can do; also in every ClusterState it publishes. */
  readonly capabilities: ClusterCapabilities;
  /** How the activity list names an action on this kind of node ("stop (SIGTERM)"). */
  actionLabel(action: NodeAction): string;
  start(): Promise<void>;
  stop(): Promise<void>;
  node(nodeId: string, action: NodeAction): Promise<void>;
  partition(groups: string[][]): Promise<void>;
  heal(): Promise<void>;
  kvPut(key: string, value: string): Promise<KvResult>;
  kvGet(key: string, stale: boolean): Promise<KvResult>;
  kvDelete(key: string): Promise<KvResult>;
  kvCas(key: string, from: string | null, to: string): Promise<KvResult>;
  logEntries(nodeId: string, from: number, limit: number): Promise<LogEntryView[]>;
  logEntry(nodeId: string, index: number): Promise<LogEntryDetail>;
  /** The newest lines of one node's log, or of every node's, oldest first. */
  readLogs(nodeId: string | undefined, query: NodeLogQuery): Promise<NodeLogLine[]>;
  /** Follows one node's log, or every node's, from now on until the returned function is called. */
  followLogs(nodeId: string | undefined, onLine: (line: NodeLogLine) => void): () => void;
  /** With capabilities.simulatedClock / dropMessages: the simulated clock and network. */
  clock?(action: 'run' | 'pause' | 'step', speed?: number, stepMs?: number): Promise<void>;
  dropMessage?(messageId: number): Promise<void>;
  /** With a simulated network: every message sent, delivered or dropped (for the cluster's trace), until the returned function is called. */
  onNetworkEvent?(listener: (event: TraceMessage) => void): () => void;
  /** With capabilities.forceElection: the node's election timer fires now. */
  campaign?(nodeId: string): Promise<void>;
  /** The console is closing: stop observing, leave local processes running. */
  close(): Promise<void>;
  /** The cluster is deleted: stop every node and remove its files. */
  destroy(): Promise<void>;
}

/** The actions that make sense for a process in this state, of those the driver supports. */
export function actionsNow(process: ProcessState, supported: readonly NodeAction[]): NodeAction[] {
  const byState: Record<ProcessState, NodeAction[]> = {
    running: ['kill', 'pause', 'restart', 'stop'],
    paused: ['resume', 'kill'],
    starting: ['kill'],
    stopped: ['start'],
    killed: ['start'],
    crashed: ['start'],
    // The console cannot tell (a remote node it cannot reach): what works either way.
    unknown: ['restart', 'kill'],
  };
  const now = byState[process];
  // Recovery from a lost quorum restarts the node alone: offered wherever the driver can do it.
  return [...now, 'forceNewCluster'].filter((a): a is NodeAction => supported.includes(a as NodeAction));
}

/**
 * The partition a fault.partition request asks for, whole: the listed groups plus one group of
 * every node not listed. Refuses names that are not nodes of the cluster and nodes listed twice.
 */
export function completePartition(clusterId: string, ids: readonly string[], groups: string[][]): string[][] {
  const listed = groups.flat();
  const unknown = listed.filter((id) => !ids.includes(id));
  if (unknown.length) throw new ApiError('invalid-input', `not nodes of ${clusterId}: ${unknown.join(', ')}`);
  const twice = listed.filter((id, i) => listed.indexOf(id) !== i);
  if (twice.length) throw new ApiError('invalid-input', `a node can be in one group only: ${[...new Set(twice)].join(', ')}`);
  const rest = ids.filter((id) => !listed.includes(id));
  return rest.length ? [...groups, rest] : groups;
}

/** A partition as the timeline and the activity log show it: "{n1, n2} | {n3}". */
export function describePartition(groups: string[][]): string {
  return groups.map((g) => `{${g.join(', ')}}`).join(' | ');
}

/** The first free name of the form nK (n1, n2, …). */
export function nextNodeId(existing: readonly string[]): string {
  for (let i = 1; ; i++) if (!existing.includes(`n${i}`)) return `n${i}`;
}

/** A new node's id among the cluster's: the requested one if free (else a conflict), or the next free nK. */
export function newNodeIdAmong(clusterId: string, ids: readonly string[], requested?: string): string {
  if (requested && ids.includes(requested)) throw new ApiError('conflict', `${clusterId} already has a node "${requested}"`);
  return requested ?? nextNodeId(ids);
}
