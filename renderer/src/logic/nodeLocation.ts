// Where a raftd node runs, and the raftctl command that reaches it from the operator's shell. A
// remote node's client port listens on its host's loopback only, so the command goes through SSH.
import type { NodeDefinition } from '../../../electron/shared/api';

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

function portOf(address: string): string {
  return address.slice(address.lastIndexOf(':') + 1);
}

/** null for embedded nodes (they run inside the console) and nodes without addresses. */
export function nodeLocation(node: NodeDefinition, host: HostRef | undefined): NodeLocation | null {
  if (node.kind === 'embedded' || !node.peer || !node.client) return null;
  if (node.kind === 'local') {
    return { nodeId: node.id, where: 'this machine', peer: node.peer, client: node.client, raftctl: `npx raftctl --endpoints ${node.client} status` };
  }
  const port = portOf(node.client);
  const login = host ? `${host.user}@${host.address}${host.port === 22 ? '' : ` -p ${host.port}`}` : `<${node.host ?? 'host'}>`;
  // Forward the node's loopback client port to the same port here, then ask it.
  return {
    nodeId: node.id,
    where: host?.name ?? node.host ?? 'unknown host',
    peer: node.peer,
    client: `${node.client} on ${host?.name ?? node.host ?? 'its host'}`,
    raftctl: `ssh -f -N -L ${port}:${node.client} ${login} && npx raftctl --endpoints 127.0.0.1:${port} status`,
  };
}
