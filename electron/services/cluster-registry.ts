// Saved cluster definitions: one JSON file in the data dir, replaced atomically (write, fsync,
// rename) so a crash leaves the old or the new file, never a torn one.
import { readFile, rename } from 'node:fs/promises';
import { z } from 'zod';
import { ApiError } from '../shared/api.js';
import type { ClusterAccess, ClusterCapabilities, ClusterSummary, NodeDefinition } from '../shared/api.js';
import { writeFileAtomic } from '../../core/process/atomic-file.js';

const nodeRecordSchema = z.object({
  id: z.string().min(1),
  kind: z.enum(['embedded', 'local', 'remote']),
  peer: z.string().optional(),
  client: z.string().optional(),
  host: z.string().optional(),
  /** Added after the cluster was formed: raftd starts it with --join. */
  joined: z.boolean().optional(),
});

const clusterRecordSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  kind: z.enum(['embedded', 'local', 'remote']),
  createdAt: z.number(),
  /** Local clusters: the shared secret raftd checks on its HTTP API. */
  token: z.string().optional(),
  /** Mutual TLS from the cluster's CA (see cluster-pki.ts); records saved before it run without TLS. */
  tls: z.boolean().optional(),
  /** Embedded clusters: the seed of the simulation, so a definition replays the same run. */
  seed: z.number().int().optional(),
  /** Embedded clusters playing a guided scenario (core/scenarios): its id; reopened at its first step. */
  scenario: z.string().optional(),
  nodes: z.array(nodeRecordSchema),
  /** Nodes removed from the cluster: their log files stay, readable in Node logs. */
  retired: z.array(z.string()).optional(),
});

const registryFileSchema = z.object({ version: z.literal(1), clusters: z.array(clusterRecordSchema) });

export type NodeRecord = z.infer<typeof nodeRecordSchema>;
export type ClusterRecord = z.infer<typeof clusterRecordSchema>;

function nodeDefinition(node: NodeRecord): NodeDefinition {
  const { id, kind, peer, client, host } = node;
  return { id, kind, ...(peer && { peer }), ...(client && { client }), ...(host && { host }) };
}

export function clusterSummary(record: ClusterRecord, health: ClusterSummary['health'], capabilities?: ClusterCapabilities, access?: ClusterAccess): ClusterSummary {
  return {
    id: record.id,
    name: record.name,
    kind: record.kind,
    createdAt: record.createdAt,
    nodes: record.nodes.map(nodeDefinition),
    ...(record.retired?.length && { retiredNodes: record.retired }),
    ...(capabilities && { capabilities }),
    ...(record.scenario && { scenario: record.scenario }),
    health,
    ...(record.kind !== 'embedded' && { tls: record.tls ?? false }),
    ...(access && { access }),
  };
}

/** The record after `nodeId` left the cluster: no longer a node, its logs still listed. */
export function withoutNode(record: ClusterRecord, nodeId: string): ClusterRecord {
  return { ...record, nodes: record.nodes.filter((n) => n.id !== nodeId), retired: [...new Set([...(record.retired ?? []), nodeId])] };
}

/** Every node whose logs can be read: the members, then those removed. */
export function logNodeIds(record: ClusterRecord): string[] {
  const ids = record.nodes.map((n) => n.id);
  return [...ids, ...(record.retired ?? []).filter((id) => !ids.includes(id))];
}

export class ClusterRegistry {
  private writes: Promise<void> = Promise.resolve();

  private constructor(
    readonly file: string,
    private clusters: ClusterRecord[],
    /** True when no registry existed: the console's first run. */
    readonly firstRun: boolean,
  ) {}

  /**
   * Loads the saved definitions. A damaged file is moved aside (never overwritten) and reported
   * through `onDamaged`, and the console starts with no clusters.
   */
  static async open(file: string, onDamaged: (message: string) => void): Promise<ClusterRegistry> {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new ClusterRegistry(file, [], true);
      throw error;
    }
    try {
      const parsed = registryFileSchema.parse(JSON.parse(text));
      return new ClusterRegistry(file, parsed.clusters, false);
    } catch (error) {
      const aside = `${file}.damaged-${Date.now()}`;
      await rename(file, aside);
      const why = error instanceof z.ZodError ? error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (error as Error).message;
      onDamaged(`saved clusters could not be read (${why}); the file was kept as ${aside}`);
      return new ClusterRegistry(file, [], false);
    }
  }

  list(): readonly ClusterRecord[] {
    return this.clusters;
  }

  find(id: string): ClusterRecord | undefined {
    return this.clusters.find((c) => c.id === id);
  }

  get(id: string): ClusterRecord {
    const record = this.find(id);
    if (!record) throw new ApiError('not-found', `no cluster "${id}"`);
    return record;
  }

  async add(record: ClusterRecord): Promise<void> {
    if (this.find(record.id)) throw new ApiError('conflict', `a cluster "${record.id}" already exists`);
    this.clusters = [...this.clusters, clusterRecordSchema.parse(record)];
    await this.save();
  }

  async update(id: string, change: (record: ClusterRecord) => ClusterRecord): Promise<ClusterRecord> {
    const updated = clusterRecordSchema.parse(change(structuredClone(this.get(id))));
    this.clusters = this.clusters.map((c) => (c.id === id ? updated : c));
    await this.save();
    return updated;
  }

  async remove(id: string): Promise<void> {
    this.get(id);
    this.clusters = this.clusters.filter((c) => c.id !== id);
    await this.save();
  }

  /** Writes are queued so concurrent changes land in order. */
  private save(): Promise<void> {
    const text = JSON.stringify({ version: 1, clusters: this.clusters }, null, 2) + '\n';
    this.writes = this.writes.catch(() => undefined).then(() => writeFileAtomic(this.file, text));
    return this.writes;
  }
}
