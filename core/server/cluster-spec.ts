// Parsing of raftd's address arguments, shared by raftd, raftctl and the console.
import { parseHostPort } from '../net/address.js';
import type { MemberContext } from '../service/state-machine.js';

export { parseHostPort };

/** `n1=127.0.0.1:7001/127.0.0.1:8001,n2=...` → { n1: { peer, client }, ... } */
export function parseClusterSpec(text: string): MemberContext {
  const members: MemberContext = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([A-Za-z0-9_.-]+)=([^/]+)\/(.+)$/.exec(part);
    if (!match) throw new Error(`--cluster: expected id=peerHost:peerPort/clientHost:clientPort, got "${part}"`);
    const [, id, peer, client] = match;
    parseHostPort(peer, `--cluster ${id} peer address`);
    parseHostPort(client, `--cluster ${id} client address`);
    if (members[id]) throw new Error(`--cluster: member "${id}" is listed twice`);
    members[id] = { peer, client };
  }
  if (Object.keys(members).length === 0) throw new Error('--cluster: no members given');
  return members;
}

export function formatClusterSpec(members: MemberContext): string {
  return Object.entries(members)
    .map(([id, a]) => `${id}=${a.peer}/${a.client}`)
    .join(',');
}
