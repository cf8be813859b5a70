// Where a raftd node runs, and the raftctl command that reaches it from the operator's shell (built
// in electron/shared/raftctl-command.ts, with the cluster's token and TLS files the backend names).
import type { ClusterAccess, NodeDefinition } from '../../../electron/shared/api';
import { raftctlCommand } from '../../../electron/shared/raftctl-command';

export interface HostRef {
  name: string;
  user: string;
  address: string;
  port: number;
}

export interface NodeLocation {
  nodeId: string;
  /** The host profile's name; "this machine" for local nodes. */
  where: string;
  peer: string;
  client: string;
  raftctl: string;
}

/** null for embedded nodes (they run inside the console) and nodes without addresses. */
export function nodeLocation(node: NodeDefinition, host: HostRef | undefined, access?: ClusterAccess): NodeLocation | null {
  if (node.kind === 'embedded' || !node.peer || !node.client) return null;
  const raftctl = raftctlCommand(node, access, host) ?? '';
  if (node.kind === 'local') return { nodeId: node.id, where: 'this machine', peer: node.peer, client: node.client, raftctl };
  return {
    nodeId: node.id,
    where: host?.name ?? node.host ?? 'unknown host',
    peer: node.peer,
    client: `${node.client} on ${host?.name ?? node.host ?? 'its host'}`,
    raftctl,
  };
}
