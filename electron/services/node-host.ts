// Where a cluster's raftd processes run: this machine (LocalHost) or other machines over SSH
// (RemoteProcesses). A RaftdCluster does everything through raftd's HTTP API and asks its NodeHost only for what
// is about processes: start and signal them, tell whether they run, read their logs, and give the
// address at which the console reaches each node's HTTP API.
import { ApiError, type NodeLogLine, type ProcessState } from '../shared/api.js';

/** What the host needs to start one node. */
export interface NodeLaunch {
  nodeId: string;
  /** The addresses raftd listens on (its --peer and --client): a host may check them or forward the client one. */
  peer: string;
  client: string;
  /** raftd's arguments except --data-dir, which the host adds: it knows where the node's data lives. */
  args: string[];
  /** Added to raftd's environment. Secrets go here or in `files`, never in args (visible to every user in ps). */
  env: Record<string, string>;
  /**
   * Files the node needs besides its data (a token, certificates), by name: the host writes them
   * owner-only (0600) before raftd starts, at `filePath(nodeId, name)`, which args may name.
   */
  files?: Record<string, string>;
}

/** What the host knows of a node's process. */
export interface NodeProcessInfo {
  state: ProcessState;
  pid?: number;
  /** The process's start time as the host's kernel records it: with the pid, it names this very process. */
  started?: string;
  /** How the last process ended, when it is not running. */
  detail?: string;
  /** The host that runs it cannot be reached now (its SSH link is down): the state is 'unknown', not a crash. */
  hostUnreachable?: string;
}

export interface NodeLogQuery {
  search?: string;
  levels?: NodeLogLine['level'][];
  limit: number;
}

export interface NodeHost {
  /** Starts raftd for the node; refuses (ApiError 'conflict') while a process already runs for it. Resolves with raftd's pid. */
  start(launch: NodeLaunch): Promise<number>;
  /** SIGTERM (continuing a paused process so it can handle it), then waits for the process to end. */
  stop(nodeId: string): Promise<void>;
  /** SIGKILL, then waits for the process to end; refuses when it is not running. */
  kill(nodeId: string): Promise<void>;
  /** SIGSTOP / SIGCONT; refuse when the node is not running. */
  pause(nodeId: string): Promise<void>;
  resume(nodeId: string): Promise<void>;
  info(nodeId: string): Promise<NodeProcessInfo>;
  /** Where the host keeps the node's file of that name (see NodeLaunch.files), as raftd on that host sees it. */
  filePath(nodeId: string, name: string): string;
  /** The newest `limit` lines of the node's log matching the query, oldest first. */
  readLog(nodeId: string, query: NodeLogQuery): Promise<NodeLogLine[]>;
  /** Follows the node's log from its current end, across rotations, until the returned function is called. */
  followLog(nodeId: string, onLine: (line: NodeLogLine) => void): () => void;
  /**
   * host:port at which the console reaches the node's HTTP API: locally its client address; remotely a
   * forwarded local port. Stable for the node while the host is open.
   */
  clientEndpoint(nodeId: string, client: string): Promise<string>;
  /** Deletes a removed node's raft data, keeping its logs; refuses while it runs. */
  removeNodeData(nodeId: string): Promise<void>;
  /** Deletes every file of the cluster's nodes (data and logs); refuses while any of `nodeIds` runs. */
  removeAll(nodeIds: readonly string[]): Promise<void>;
  /** The console stops using the host (forwardings, connections); processes keep running. */
  close(): Promise<void>;
}

/** One start or stop at a time per node: a second one while the first runs is a conflict, not a race. */
export class NodeOperationGuard {
  private readonly busy = new Set<string>();

  async run<T>(nodeId: string, work: () => Promise<T>): Promise<T> {
    if (this.busy.has(nodeId)) throw new ApiError('conflict', `node ${nodeId} is already being started or stopped`);
    this.busy.add(nodeId);
    try {
      return await work();
    } finally {
      this.busy.delete(nodeId);
    }
  }
}
