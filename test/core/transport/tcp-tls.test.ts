// The peer transport over mutual TLS, with certificates from core/security/pki.ts.
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MessageType } from '../../../core/raft/types.js';
import type { Message, NodeId } from '../../../core/raft/types.js';
import { createClusterCa, issueClientCertificate, issueNodeCertificate, type ClusterCa } from '../../../core/security/pki.js';
import type { TlsMaterial } from '../../../core/security/tls.js';
import { TcpTransport, type TcpTransportOptions } from '../../../core/transport/tcp.js';

const TOKEN = 'tls-token';
let ca: ClusterCa;
let otherCa: ClusterCa;
beforeAll(async () => {
  [ca, otherCa] = await Promise.all([createClusterCa({ clusterId: 'c1' }), createClusterCa({ clusterId: 'c1' })]);
});

interface Node {
  transport: TcpTransport;
  received: Message[];
  log: string[];
  port: number;
}

const open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function msg(from: NodeId, to: NodeId, index: number): Message {
  return { type: MessageType.App, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

async function startNode(id: NodeId, tls: TlsMaterial, options: Partial<TcpTransportOptions> = {}): Promise<Node> {
  const log: string[] = [];
  const transport = new TcpTransport({
    id,
    clusterId: 'c1',
    token: TOKEN,
    tls,
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    logger: { debug: (m) => log.push(`debug ${m}`), info: (m) => log.push(`info ${m}`), warn: (m) => log.push(`warn ${m}`) },
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  open.push(transport);
  const node: Node = { transport, received: [], log, port: 0 };
  transport.onMessage((m) => node.received.push(m));
  await transport.start();
  node.port = transport.address().port;
  return node;
}

const nodeCert = (id: string, from = ca, extra: { now?: Date; validDays?: number } = {}) => issueNodeCertificate(from, { nodeId: id, hosts: ['127.0.0.1'], ...extra });

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** `from` keeps sending to `to` until `done` (the first messages go while the connection comes up). */
async function sendUntil(from: Node, to: Node, done: () => boolean, what: string): Promise<void> {
  from.transport.setPeer(to.transport.id, `127.0.0.1:${to.port}`);
  let i = 0;
  const timer = setInterval(() => from.transport.send([msg(from.transport.id, to.transport.id, ++i)]), 10);
  try {
    await waitFor(what, done);
  } finally {
    clearInterval(timer);
  }
}

describe('TcpTransport over mutual TLS', () => {
  it('carries messages both ways between nodes holding certificates of the cluster CA', async () => {
    const a = await startNode('a', await nodeCert('a'));
    const b = await startNode('b', await nodeCert('b'));
    await sendUntil(a, b, () => b.received.length > 0, 'a → b');
    await sendUntil(b, a, () => a.received.length > 0, 'b → a');
    expect(a.transport.stats().peers.b.connected).toBe(true);
    expect(b.transport.stats().peers.a.connected).toBe(true);
    expect(a.transport.stats().refused + b.transport.stats().refused).toBe(0);
  });

  it('refuses a peer whose certificate another CA signed, either way round', async () => {
    const a = await startNode('a', await nodeCert('a'));
    const stranger = await startNode('b', await nodeCert('b', otherCa));
    await sendUntil(stranger, a, () => a.transport.stats().refused >= 1, 'a to refuse the stranger');
    // The stranger sees our certificate as unknown too: nothing it dials is trusted.
    await sendUntil(a, stranger, () => a.log.some((l) => l.includes('cannot connect to peer b')), 'a to refuse to talk to the stranger');
    expect(a.received).toEqual([]);
    expect(stranger.received).toEqual([]);
    // Whichever side's check fails first, a logs the refusal.
    expect(a.log.some((l) => l.startsWith('warn refused connection from'))).toBe(true);
  });

  it('refuses an expired certificate and a self-made one', async () => {
    const a = await startNode('a', await nodeCert('a'));
    const expired = await startNode('b', await nodeCert('b', ca, { now: new Date(Date.now() - 10 * 86_400_000), validDays: 2 }));
    await sendUntil(expired, a, () => a.transport.stats().refused >= 1, 'a to refuse the expired certificate');
    expect(a.log.some((l) => l.includes('its certificate is not trusted (CERT_HAS_EXPIRED)'))).toBe(true);

    // Signed by a CA of its own that names itself like ours: still not ours.
    const selfMade = await createClusterCa({ clusterId: 'c1' });
    const forger = await startNode('c', { ...(await nodeCert('c', selfMade)), ca: ca.cert });
    await sendUntil(forger, a, () => a.transport.stats().refused >= 2, 'a to refuse the self-made certificate');
    expect(a.log.filter((l) => l.includes('its certificate is not trusted')).length).toBeGreaterThanOrEqual(2);
    expect(a.received).toEqual([]);
  });

  it('lets a peer speak only as the node its certificate names', async () => {
    const a = await startNode('a', await nodeCert('a'));
    // A genuine certificate of node x, used to claim to be b.
    const impostor = await startNode('b', await nodeCert('x'));
    const told = () => impostor.log.some((l) => l.includes('refused our connection: certificate is for another node'));
    await sendUntil(impostor, a, () => a.transport.stats().refused >= 1 && told(), 'a to refuse the impostor, telling it why');
    expect(a.log.some((l) => l.includes('peer claims to be b with the certificate of x'))).toBe(true);
    expect(a.received).toEqual([]);
  });

  it('checks that the node it dials is the one its certificate names', async () => {
    const a = await startNode('a', await nodeCert('a'));
    const x = await startNode('x', await nodeCert('x'));
    a.transport.setPeer('b', `127.0.0.1:${x.port}`); // b's address now leads to x
    const timer = setInterval(() => a.transport.send([msg('a', 'b', 1)]), 10);
    await waitFor('the dialer to refuse x', () => a.log.some((l) => l.includes('certificate is for node x, not b'))).finally(() => clearInterval(timer));
    expect(x.received).toEqual([]);
  });

  it('refuses a client certificate at the peer port', async () => {
    const a = await startNode('a', await nodeCert('a'));
    const client = await startNode('b', await issueClientCertificate(ca, { name: 'b' }));
    await sendUntil(client, a, () => a.log.some((l) => l.includes('is not a node certificate')), 'a to refuse the client certificate');
    expect(a.received).toEqual([]);
  });
});
