// Remote clusters: raftd nodes on other machines, reached over SSH. A cluster's definition names, for
// each node, its host profile, its peer address on that host's own address (the only port other
// machines must reach) and its client address on the host's loopback, which the console reaches
// through a forwarded port. Everything else (operations, state feed, partitions, logs) is RaftdCluster's,
// the same as for local clusters; only the NodeHost differs (RemoteProcesses).
import { randomBytes } from 'node:crypto';
import { ApiError } from '../../shared/api.js';
import type { ClusterState } from '../../shared/api.js';
import type { ClusterDriver } from '../cluster-driver.js';
import type { ClusterKind, CreateParams } from '../cluster-kinds.js';
import type { ClusterRecord, ClusterRegistry, NodeRecord } from '../cluster-registry.js';
import type { ClusterPki } from '../cluster-pki.js';
import { RaftdCluster } from '../raftd-cluster.js';
import type { FeedOptions } from '../state-feed.js';
import type { RemoteHost, RemoteHosts } from './remote-host.js';
import { RemoteProcesses, type RemoteProcessesOptions } from './remote-processes.js';

/** clusters.create for kind 'remote': hosts (node i on hosts[i % hosts.length]), uploadRuntime. */
export type RemoteCreateParams = Extract<CreateParams, { kind: 'remote' }>;

export interface RemoteKindOptions {
  hosts: RemoteHosts;
  processes?: RemoteProcessesOptions;
  feed?: FeedOptions;
  /** The clusters' CAs, for those with TLS. */
  pki?: ClusterPki;
}

/** A per-cluster secret: peers prove it and raftd's admin routes require it. */
function newToken(): string {
  return randomBytes(16).toString('hex');
}

function portOf(address: string | undefined): number | undefined {
  if (!address) return undefined;
  const port = Number(address.slice(address.lastIndexOf(':') + 1));
  return Number.isInteger(port) ? port : undefined;
}

export class RemoteClusterKind implements ClusterKind<RemoteCreateParams> {
  constructor(private readonly options: RemoteKindOptions) {}

  /** raftd deployed on every host, two free ports per node on its host, a fresh token. */
  async define(ids: string[], params: RemoteCreateParams, registry: ClusterRegistry): Promise<Pick<ClusterRecord, 'nodes' | 'token'>> {
    if (params.hosts.length === 0) throw new ApiError('invalid-input', 'clusters.create: a remote cluster needs at least one host');
    const profiles = [...new Set(params.hosts)];
    const hosts = profiles.map((profile) => this.options.hosts.get(profile));
    const deployed = await Promise.allSettled(hosts.map((host) => host.deployment(params.uploadRuntime ?? false)));
    const failed = deployed.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => (r.reason as Error).message);
    if (failed.length) throw new ApiError('unavailable', failed.join('; '));

    const placed = ids.map((id, i) => ({ id, profile: params.hosts[i % params.hosts.length] }));
    // Every host is asked at once, for a few spare ports: client ports must differ across the cluster.
    const spare = 2 * ids.length;
    const offered = await Promise.all(
      hosts.map((host) => host.freePorts(2 * placed.filter((p) => p.profile === host.name).length + spare, new Set(portsOn(registry, host.name)))),
    );
    const nodes: NodeRecord[] = [];
    const clientPorts = new Set<number>();
    hosts.forEach((host, h) => {
      const free = [...offered[h]];
      for (const { id } of placed.filter((p) => p.profile === host.name)) {
        const client = free.find((port) => !clientPorts.has(port)) as number;
        free.splice(free.indexOf(client), 1);
        const peer = free.shift() as number;
        clientPorts.add(client);
        nodes.push(nodeOn(host, id, peer, client));
      }
    });
    return { nodes: ids.map((id) => nodes.find((n) => n.id === id) as NodeRecord), token: newToken() };
  }

  async attach(record: ClusterRecord, registry: ClusterRegistry, publish: (state: ClusterState) => void): Promise<ClusterDriver> {
    // A retired node leaves the definition before its data is removed: its host is remembered here.
    const hostNames = new Map<string, string>();
    const hostOf = (nodeId: string): RemoteHost => {
      const node = registry.find(record.id)?.nodes.find((n) => n.id === nodeId);
      if (node?.host) hostNames.set(nodeId, node.host);
      const name = hostNames.get(nodeId);
      if (!name) throw new ApiError('not-found', `cluster ${record.id} has no remote node "${nodeId}"`);
      return this.options.hosts.get(name);
    };
    const nodesOn = (host: RemoteHost) => (registry.find(record.id)?.nodes ?? []).filter((n) => n.host === host.name).map((n) => n.id);
    const processes = new RemoteProcesses(record.id, hostOf, nodesOn, this.options.processes);
    return RaftdCluster.open(record.id, registry, processes, publish, {
      feed: this.options.feed,
      pki: this.options.pki,
      defineNode: (nodeId, report, signal) => this.defineNode(record.id, nodeId, registry, report, signal),
    });
  }

  private async defineNode(clusterId: string, nodeId: string, registry: ClusterRegistry, report?: (text: string) => void, signal?: AbortSignal): Promise<NodeRecord> {
    const record = registry.get(clusterId);
    // The operator's choice (RemoteHosts.placeNextNode), else the cluster's least used host.
    const placement = this.options.hosts.takePlacement(clusterId);
    let profile = placement?.profile;
    if (!profile) {
      const counts = new Map<string, number>();
      for (const node of record.nodes) if (node.host) counts.set(node.host, (counts.get(node.host) ?? 0) + 1);
      profile = [...counts.entries()].sort((a, b) => a[1] - b[1])[0]?.[0];
    }
    if (!profile) throw new ApiError('invalid-input', `cluster ${clusterId} has no host to add a node on; choose one`);
    const host = this.options.hosts.get(profile);
    const clientPorts = record.nodes.map((n) => portOf(n.client)).filter((p): p is number => p !== undefined);
    // Finding free ports deploys raftd there first (once): its upload is what takes long.
    report?.(`deploying raftd to ${host.displayName} if needed`);
    let shown = 0;
    const off = host.onUpload((what, sent, total) => {
      if (sent < total && Date.now() - shown < 500) return;
      shown = Date.now();
      report?.(`${host.displayName}: uploading ${what}: ${mib(sent)} of ${mib(total)}`);
    });
    try {
      await host.deployment(placement?.uploadRuntime ?? false, signal);
      const [peer, client] = await host.freePorts(2, new Set([...portsOn(registry, profile), ...clientPorts]));
      report?.(`starting ${nodeId} on ${host.displayName}`);
      return nodeOn(host, nodeId, peer, client);
    } finally {
      off();
    }
  }
}

function nodeOn(host: RemoteHost, id: string, peerPort: number, clientPort: number): NodeRecord {
  // The client port listens on the host's loopback only: the console reaches it through SSH.
  return { id, kind: 'remote', host: host.name, peer: `${host.peerAddress}:${peerPort}`, client: `127.0.0.1:${clientPort}` };
}

/** Ports saved nodes of any cluster are defined on, on this host: a stopped node keeps its ports. */
export function portsOn(registry: ClusterRegistry, profile: string): number[] {
  return registry
    .list()
    .flatMap((c) => c.nodes)
    .filter((n) => n.host === profile)
    .flatMap((n) => [portOf(n.peer), portOf(n.client)])
    .filter((p): p is number => p !== undefined);
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}
