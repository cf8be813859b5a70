// What differs between kinds of cluster, in one place: how clusters.create defines a new cluster of
// the kind, and which driver runs a saved one. ConsoleService picks the kind's entry; it never branches.
import { randomBytes } from 'node:crypto';
import { ApiError } from '../shared/api.js';
import type { ClusterState, NodeKind, ParsedParams } from '../shared/api.js';
import type { ClusterDriver } from './cluster-driver.js';
import type { ClusterRecord, ClusterRegistry, NodeRecord } from './cluster-registry.js';
import { EmbeddedDriver } from './embedded-driver.js';
import { definedPorts, LocalHost, pickFreePorts, type LocalHostOptions } from './local-host.js';
import { defaultLogRotation } from './node-logs.js';
import type { DataLayout } from './paths.js';
import { ClusterPki } from './cluster-pki.js';
import { RaftdCluster } from './raftd-cluster.js';
import { RemoteClusterKind, type RemoteKindOptions } from './remote/remote-cluster.js';
import type { RemoteCreatorOptions } from './remote/remote-create.js';
import type { FeedOptions } from './state-feed.js';
import type { OperationRunner } from './operations.js';
import type { ScenarioRuns } from './scenarios/scenario-runs.js';

export type CreateParams = ParsedParams<'clusters.create'>;

export interface ClusterKind<P extends CreateParams = CreateParams> {
  /** The parts of a new cluster's record its kind decides: its nodes (with these ids), secrets, seed, TLS. */
  define(ids: string[], params: P, registry: ClusterRegistry, clusterId: string): Promise<Pick<ClusterRecord, 'nodes' | 'token' | 'seed' | 'tls'>>;
  /** The driver of a saved cluster of this kind. */
  attach(record: ClusterRecord, registry: ClusterRegistry, publish: (state: ClusterState) => void): Promise<ClusterDriver>;
}

export type ClusterKinds = { [K in CreateParams['kind']]: ClusterKind<Extract<CreateParams, { kind: K }>> } & Partial<Record<NodeKind, ClusterKind>>;

export interface KindOptions {
  layout: DataLayout;
  local?: LocalHostOptions;
  remote?: RemoteKindSetup;
  feed?: FeedOptions;
  /** Whether new embedded clusters start with time running. */
  embeddedRuns: boolean;
  /** Runs long operations (a deploy) with progress events, one per cluster, as membership changes run. */
  operations?: OperationRunner;
  /** Embedded clusters that play a guided scenario are built by it. */
  scenarios?: ScenarioRuns;
}

/** What remote clusters need: their hosts, how their processes are run, and how long a create may wait for its nodes. */
export type RemoteKindSetup = Omit<RemoteKindOptions, 'feed'> & { create?: Pick<RemoteCreatorOptions, 'joinTimeoutMs' | 'pollMs'> };

/** A kind this console cannot run: creating or opening such a cluster is refused with the reason. */
function unavailableKind(reason: string): ClusterKind<never> {
  const refuse = async (): Promise<never> => {
    throw new ApiError('unavailable', reason);
  };
  return { define: refuse, attach: refuse };
}

/** A per-cluster secret: peers prove it and raftd's admin routes require it. */
function newToken(): string {
  return randomBytes(16).toString('hex');
}

/** A kind of raftd cluster whose new clusters use mutual TLS from a CA of their own, made at create time. */
function withTls<P extends CreateParams>(kind: ClusterKind<P>, pki: ClusterPki): ClusterKind<P> {
  return {
    define: async (ids, params, registry, clusterId) => {
      const defined = await kind.define(ids, params, registry, clusterId);
      await pki.create(clusterId);
      return { ...defined, tls: true };
    },
    attach: (record, registry, publish) => kind.attach(record, registry, publish),
  };
}

/** Two free loopback ports per node, none a saved node is defined on. */
async function loopbackNodes(ids: string[], registry: ClusterRegistry): Promise<NodeRecord[]> {
  const ports = await pickFreePorts(ids.length * 2, definedPorts(registry.list()));
  return ids.map((id, i) => ({ id, kind: 'local', peer: `127.0.0.1:${ports[2 * i]}`, client: `127.0.0.1:${ports[2 * i + 1]}` }));
}

export function clusterKinds(options: KindOptions): ClusterKinds {
  const pki = new ClusterPki(options.layout.pkiDir);
  return {
    embedded: {
      define: async (ids) => ({ nodes: ids.map((id) => ({ id, kind: 'embedded' })), seed: randomBytes(4).readUInt32BE() >>> 1 }),
      attach: (record, registry, publish) =>
        EmbeddedDriver.create(record, registry, publish, {
          // A scenario's time moves only as its steps (or the user) move it.
          run: options.embeddedRuns && !record.scenario,
          logs: { layout: options.layout, rotation: options.local?.rotation ?? defaultLogRotation },
          ...(record.scenario && options.scenarios && { build: (logger) => options.scenarios!.open(record, logger) }),
        }),
    },
    local: withTls(
      {
        define: async (ids, _params, registry) => ({ nodes: await loopbackNodes(ids, registry), token: newToken() }),
        attach: (record, registry, publish) =>
          RaftdCluster.open(record.id, registry, new LocalHost(options.layout, record.id, options.local), publish, {
            feed: options.feed,
            pki,
            defineNode: async (id) => (await loopbackNodes([id], registry))[0],
          }),
      },
      pki,
    ),
    remote: options.remote
      ? withTls(new RemoteClusterKind({ ...options.remote, feed: options.feed, pki }), pki)
      : unavailableKind('remote clusters need the host profiles service, and this console was started without it'),
  };
}
