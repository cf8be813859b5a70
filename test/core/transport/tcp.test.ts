import { spawn } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import { Packr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageType } from '../../../core/raft/types.js';
import type { Message, NodeId, RaftLogger } from '../../../core/raft/types.js';
import { encodeMessage } from '../../../core/transport/codec.js';
import { FrameDecoder, encodeFrames } from '../../../core/transport/frames.js';
import { TcpTransport, parseHostPort } from '../../../core/transport/tcp.js';
import { sealer, type Seal } from './frame-seal.js';
import type { TcpTransportOptions } from '../../../core/transport/tcp.js';

const CLUSTER = 'test-cluster';
const TOKEN = 's3cret';

function msg(from: NodeId, to: NodeId, index: number, type = MessageType.App): Message {
  return { type, from, to, term: 1, logTerm: 0, index, entries: [], commit: 0, reject: false, rejectHint: 0 };
}

interface Node {
  transport: TcpTransport;
  received: Message[];
  unreachable: NodeId[];
  log: string[];
  port: number;
}

const open: TcpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

function recordingLogger(lines: string[]): RaftLogger {
  return {
    debug: (m) => lines.push(`debug ${m}`),
    info: (m) => lines.push(`info ${m}`),
    warn: (m) => lines.push(`warn ${m}`),
  };
}

async function startNode(id: NodeId, options: Partial<TcpTransportOptions> = {}): Promise<Node> {
  const log: string[] = [];
  const transport = new TcpTransport({
    id,
    clusterId: CLUSTER,
    token: TOKEN,
    listen: { host: '127.0.0.1', port: 0 },
    peers: {},
    logger: recordingLogger(log),
    backoff: { initialMs: 20, maxMs: 200 },
    ...options,
  });
  open.push(transport);
  const node: Node = { transport, received: [], unreachable: [], log, port: 0 };
  transport.onMessage((m) => node.received.push(m));
  transport.onUnreachable((p) => node.unreachable.push(p));
  await transport.start();
  node.port = transport.address().port;
  return node;
}

function link(...nodes: Node[]): void {
  for (const a of nodes) for (const b of nodes) if (a !== b) a.transport.setPeer(b.transport.id, `127.0.0.1:${b.port}`);
}

async function waitFor(what: string, condition: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Keeps sending until `done`: the first messages may be dropped while a connection comes up. */
async function sendUntil(from: Node, make: () => Message, done: () => boolean, what: string): Promise<void> {
  const timer = setInterval(() => from.transport.send([make()]), 10);
  try {
    await waitFor(what, done);
  } finally {
    clearInterval(timer);
  }
}

const handshakePackr = new Packr({ useRecords: false });

/** The wire handshake, written out independently of the implementation to pin the protocol. */
function mac(token: string, role: 'accept' | 'dial' | 'frames', clusterId: string, from: NodeId, to: NodeId, dialerNonce: Uint8Array, acceptorNonce: Uint8Array): Buffer {
  const signed = JSON.stringify([`raft-peer-${role}`, clusterId, from, to, Buffer.from(dialerNonce).toString('hex'), Buffer.from(acceptorNonce).toString('hex')]);
  return createHmac('sha256', token).update(signed).digest();
}

function helloFrame(fields: { clusterId: string; from: NodeId; to: NodeId }, nonce: Buffer): Buffer {
  return encodeFrames([handshakePackr.pack({ v: 3, ...fields, nonce })]);
}

interface RawClient {
  socket: net.Socket;
  closed: () => boolean;
  /** Frames received so far (handshake answers, pings). */
  frames: Buffer[];
}

/** A raw client that writes bytes and records the frames that come back and whether the server closed. */
async function rawClient(port: number): Promise<RawClient> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let closed = false;
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder(1 << 20);
  socket.on('data', (c: Buffer) => {
    decoder.push(c);
    for (let f = decoder.next(); f; f = decoder.next()) frames.push(f);
  });
  socket.on('close', () => (closed = true));
  socket.on('error', () => {});
  return { socket, closed: () => closed, frames };
}

/** Runs the whole handshake as `from` with `token`; resolves once the acceptor said ok (or rejects with its refusal) with the seal for what follows. */
async function handshake(client: RawClient, fields: { clusterId: string; from: NodeId; to: NodeId; token: string }): Promise<Seal> {
  const nonce = randomBytes(16);
  client.socket.write(helloFrame(fields, nonce));
  await waitFor('the challenge', () => client.frames.length >= 1 || client.closed());
  const challenge = handshakePackr.unpack(client.frames[0]) as { ok: boolean; nonce: Uint8Array; mac: Uint8Array; reason?: string };
  if (!challenge.ok) throw new Error(`refused: ${challenge.reason}`);
  expect(Buffer.from(challenge.mac)).toEqual(mac(fields.token, 'accept', fields.clusterId, fields.from, fields.to, nonce, challenge.nonce));
  client.socket.write(encodeFrames([handshakePackr.pack({ mac: mac(fields.token, 'dial', fields.clusterId, fields.from, fields.to, nonce, challenge.nonce) })]));
  await waitFor('the answer', () => client.frames.length >= 2 || client.closed());
  const answer = handshakePackr.unpack(client.frames[1]) as { ok: boolean; reason?: string };
  if (!answer.ok) throw new Error(`refused: ${answer.reason}`);
  return sealer(mac(fields.token, 'frames', fields.clusterId, fields.from, fields.to, nonce, challenge.nonce));
}

/**
 * Forwards bytes both ways, recording what the dialer sent. `hold(true)` stops forwarding: bytes
 * wait in the proxy as they would in the kernel while a link is down (TCP retransmits them once
 * it is back), and a side that closes loses what waits for it. `hold(false)` delivers them.
 */
async function startProxy(targetPort: number): Promise<{ port: number; fromDialer: Buffer[][]; hold(on: boolean): void; close(): Promise<void> }> {
  const fromDialer: Buffer[][] = [];
  const sockets = new Set<net.Socket>();
  const releases = new Set<() => void>();
  let held = false;
  const server = net.createServer((down) => {
    const recorded: Buffer[] = [];
    fromDialer.push(recorded);
    const up = net.connect({ host: '127.0.0.1', port: targetPort });
    const waiting: Array<[net.Socket, Buffer]> = [];
    let otherSideClosed = false;
    const release = () => {
      if (otherSideClosed) {
        // The close that the dead link held back arrives now.
        down.destroy();
        up.destroy();
        return;
      }
      for (const [to, chunk] of waiting.splice(0)) to.write(chunk);
    };
    releases.add(release);
    for (const s of [down, up]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => {
        waiting.length = 0;
        // A dead link carries no FIN either: the other side must find out by itself.
        if (held) {
          otherSideClosed = true;
          return;
        }
        releases.delete(release);
        down.destroy();
        up.destroy();
      });
    }
    const forward = (to: net.Socket) => (c: Buffer) => {
      if (held) waiting.push([to, c]);
      else to.write(c);
    };
    down.on('data', (c: Buffer) => {
      recorded.push(c);
      forward(up)(c);
    });
    up.on('data', forward(down));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    fromDialer,
    hold: (on) => {
      held = on;
      if (!on) for (const release of releases) release();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('TcpTransport', () => {
  it('three nodes exchange messages in both directions', async () => {
    const nodes = await Promise.all(['a', 'b', 'c'].map((id) => startNode(id)));
    link(...nodes);
    for (const from of nodes) {
      from.transport.send(nodes.filter((n) => n !== from).map((to) => msg(from.transport.id, to.transport.id, 1)));
    }
    await waitFor('every node to hear from both others', () => nodes.every((n) => n.received.length === 2));
    for (const n of nodes) {
      expect(n.received.map((m) => m.from).sort()).toEqual(nodes.filter((o) => o !== n).map((o) => o.transport.id).sort());
      expect(n.received.every((m) => m.to === n.transport.id)).toBe(true);
    }
    const stats = nodes[0].transport.stats();
    expect(stats.peers.b).toMatchObject({ sent: 1, received: 1, dropped: 0, connected: true });
    expect(stats.refused).toBe(0);
  });

  it('delivers messages to one peer in the order they were sent', async () => {
    const [a, b] = await Promise.all([startNode('a'), startNode('b')]);
    link(a, b);
    for (let batch = 0; batch < 50; batch++) {
      a.transport.send(Array.from({ length: 40 }, (_, i) => msg('a', 'b', batch * 40 + i)));
      if (batch % 10 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('2000 messages', () => b.received.length === 2000);
    expect(b.received.map((m) => m.index)).toEqual(Array.from({ length: 2000 }, (_, i) => i));
  });

  it('refuses a peer with the wrong token and never delivers its messages', async () => {
    const a = await startNode('a');
    const intruder = await startNode('x', { token: 'guessed' });
    link(a, intruder);
    const sent = setInterval(() => intruder.transport.send([msg('x', 'a', 1)]), 5);
    await waitFor('refusals on both sides', () =>
      a.transport.stats().refused >= 2 && intruder.log.some((l) => l.startsWith('warn') && l.includes('peer failed authentication (it does not know the token)')),
    ).finally(() => clearInterval(sent));
    expect(a.received).toEqual([]);
    expect(a.log.some((l) => l.startsWith('warn') && l.includes('peer x') && l.includes('hung up after our challenge (wrong token?)'))).toBe(true);
    expect(intruder.transport.stats().peers.a.connected).toBe(false);
  });

  it('refuses a peer of another cluster', async () => {
    const a = await startNode('a');
    const stranger = await startNode('s', { clusterId: 'other-cluster' });
    link(a, stranger);
    await sendUntil(stranger, () => msg('s', 'a', 1), () => a.transport.stats().refused >= 1, 'a refusal');
    expect(a.received).toEqual([]);
    expect(a.log.some((l) => l.startsWith('warn') && l.includes('is in cluster "other-cluster", not "test-cluster"'))).toBe(true);
  });

  it('refuses a dialer that meant another node', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    b.transport.setPeer('c', `127.0.0.1:${a.port}`); // a stale address book: c's address is now a's
    // The dialer learns the reason from a's answer, which may arrive after a counted the refusal.
    const told = () => b.log.some((l) => l.startsWith('warn') && l.includes('refused our connection: this is node a, not c'));
    await sendUntil(b, () => msg('b', 'c', 1), () => a.transport.stats().refused >= 1 && told(), 'a refusal, explained to the dialer');
    expect(a.received).toEqual([]);
  });

  it('delivers nothing that follows a forged handshake in the same write', async () => {
    const a = await startNode('a');
    const client = await rawClient(a.port);
    // The acceptor's nonce is not known yet: the proof can only be a guess.
    const forgedProof = encodeFrames([handshakePackr.pack({ mac: randomBytes(32) })]);
    const messages = encodeFrames([encodeMessage(msg('b', 'a', 1)), encodeMessage(msg('b', 'a', 2))]);
    client.socket.write(Buffer.concat([helloFrame({ clusterId: CLUSTER, from: 'b', to: 'a' }, randomBytes(16)), forgedProof, messages]));
    await waitFor('the connection to be closed', client.closed);
    expect(a.received).toEqual([]);
    expect(a.transport.stats().refused).toBe(1);
    expect(a.log.some((l) => l.startsWith('warn') && l.includes('peer b failed authentication'))).toBe(true);
  });

  it('sends nothing to an acceptor that cannot prove it knows the token', async () => {
    // A listener that answers the hello with a challenge it made up.
    const received: Buffer[] = [];
    const impostor = net.createServer((socket) => {
      let answered = false;
      socket.on('data', (c: Buffer) => {
        received.push(c);
        if (answered) return;
        answered = true;
        socket.write(encodeFrames([handshakePackr.pack({ ok: true, nonce: randomBytes(16), mac: randomBytes(32) })]));
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => impostor.listen(0, '127.0.0.1', resolve));
    try {
      const a = await startNode('a');
      a.transport.setPeer('b', `127.0.0.1:${(impostor.address() as net.AddressInfo).port}`);
      const sent = setInterval(() => a.transport.send([msg('a', 'b', 7)]), 10);
      await waitFor('the dialer to give up on it', () => a.log.some((l) => l.includes('peer failed authentication (it does not know the token)'))).finally(() => clearInterval(sent));
      // Only hellos ever reached it: one frame per connection, no proof, no message.
      const bytes = Buffer.concat(received);
      const decoder = new FrameDecoder(1 << 20);
      decoder.push(bytes);
      for (let f = decoder.next(); f; f = decoder.next()) expect(Object.keys(handshakePackr.unpack(f) as object).sort()).toEqual(['clusterId', 'from', 'nonce', 'to', 'v']);
    } finally {
      await new Promise<void>((resolve) => impostor.close(() => resolve()));
    }
  });

  it('closes a connection that sends a malformed frame and keeps serving others', async () => {
    const a = await startNode('a');
    const client = await rawClient(a.port);
    const seal = await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
    client.socket.write(encodeFrames([seal(encodeMessage(msg('b', 'a', 1)))]));
    await waitFor('the first message', () => a.received.length === 1);
    client.socket.write(encodeFrames([seal(Buffer.from('definitely not msgpack'))]));
    await waitFor('the connection to be closed', client.closed);
    expect(a.transport.stats().malformed).toBe(1);
    expect(a.log.some((l) => l.startsWith('warn') && l.includes('malformed message'))).toBe(true);

    const b = await startNode('b');
    link(a, b);
    await sendUntil(b, () => msg('b', 'a', 2), () => a.received.some((m) => m.index === 2), 'a message over a fresh connection');
  });

  it('closes a connection announcing a frame over the size limit', async () => {
    const a = await startNode('a', { maxFrameBytes: 1024 });
    const client = await rawClient(a.port);
    await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2 ** 31);
    client.socket.write(header);
    await waitFor('the connection to be closed', client.closed);
    expect(a.transport.stats().malformed).toBe(1);
    expect(a.log.some((l) => l.includes('exceeds the limit of 1024 bytes'))).toBe(true);
  });

  it('drops messages whose sender differs from the handshake', async () => {
    const a = await startNode('a');
    const client = await rawClient(a.port);
    const seal = await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
    client.socket.write(encodeFrames([encodeMessage(msg('c', 'a', 1)), encodeMessage(msg('b', 'z', 2)), encodeMessage(msg('b', 'a', 3))].map(seal)));
    await waitFor('the genuine message', () => a.received.length === 1);
    expect(a.received[0].index).toBe(3);
    expect(a.transport.stats().misaddressed).toBe(2);
    expect(client.closed()).toBe(false);
  });

  it('never delivers a local message type (a Propose would bypass the API) from a peer', async () => {
    const a = await startNode('a');
    const client = await rawClient(a.port);
    const seal = await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
    // Encoded by hand: the codec refuses to encode local types at all.
    const propose = new Packr({ useRecords: false }).pack([2, 'b', 'a', 0, 0, 0, 0, false, 0, [0, 0, 0, new Uint8Array([1])], null, null]);
    client.socket.write(encodeFrames([propose, encodeMessage(msg('b', 'a', 3))].map(seal)));
    await waitFor('the connection to be closed', client.closed);
    expect(a.received).toEqual([]);
    expect(a.transport.stats().malformed).toBe(1);
    expect(a.log.some((l) => l.includes('Propose is a local message type'))).toBe(true);
  });

  it('without TLS, closes the connection at a message frame altered on the path and delivers nothing from it on', async () => {
    const a = await startNode('a');
    const client = await rawClient(a.port);
    const seal = await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
    client.socket.write(encodeFrames([seal(encodeMessage(msg('b', 'a', 1)))]));
    await waitFor('the first message', () => a.received.length === 1);
    const altered = seal(encodeMessage(msg('b', 'a', 2)));
    altered[altered.length - 20] ^= 1; // a byte of the message, not of its tag
    client.socket.write(encodeFrames([altered, seal(encodeMessage(msg('b', 'a', 3)))]));
    await waitFor('the connection to be closed', client.closed);
    expect(a.received.map((m) => m.index)).toEqual([1]);
    expect(a.transport.stats().malformed).toBe(1);
    expect(a.log.some((l) => l.startsWith('warn') && l.includes('a frame failed authentication'))).toBe(true);
  });

  it('without TLS, refuses a message frame played again, a frame without its tag, and one from another connection', async () => {
    const a = await startNode('a');
    const attempts: Array<(seal: Seal, other: Seal) => Uint8Array[]> = [
      (seal) => {
        const frame = seal(encodeMessage(msg('b', 'a', 1)));
        return [frame, frame]; // the same frame twice: its place in the stream is taken
      },
      (seal) => [seal(encodeMessage(msg('b', 'a', 1))), encodeMessage(msg('b', 'a', 2))],
      (seal, other) => [seal(encodeMessage(msg('b', 'a', 1))), other(encodeMessage(msg('b', 'a', 2)))],
    ];
    for (const [i, attempt] of attempts.entries()) {
      // An earlier connection of b's (a newer one of the same peer replaces it, so it goes first).
      const otherClient = await rawClient(a.port);
      const other = await handshake(otherClient, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
      other(encodeMessage(msg('b', 'a', 0))); // its first tag spent: its next is for place 1, as ours will be
      otherClient.socket.destroy();
      const client = await rawClient(a.port);
      const seal = await handshake(client, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN });
      const before = a.received.length;
      client.socket.write(encodeFrames(attempt(seal, other)));
      await waitFor(`attempt ${i}: the connection to be closed`, client.closed);
      expect(a.received.slice(before).map((m) => m.index)).toEqual([1]);
    }
    expect(a.transport.stats().malformed).toBe(attempts.length);
  });

  it('refuses a recorded handshake played again, and delivers nothing that follows it', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    const proxy = await startProxy(a.port);
    try {
      b.transport.setPeer('a', `127.0.0.1:${proxy.port}`);
      await sendUntil(b, () => msg('b', 'a', 1), () => a.received.length > 0, 'a first delivery through the proxy');
      await waitFor('the recording', () => proxy.fromDialer.length === 1 && Buffer.concat(proxy.fromDialer[0]).length > 0);
      const recorded = Buffer.concat(proxy.fromDialer[0]);
      const before = a.received.length;
      const replay = await rawClient(a.port);
      replay.socket.write(recorded);
      await waitFor('the replay to be refused', replay.closed);
      expect(a.received.length).toBe(before);
      expect(a.transport.stats().refused).toBe(1);
      expect(a.log.some((l) => l.startsWith('warn') && l.includes('peer b failed authentication (wrong token, or a replayed handshake)'))).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('drops a connection whose peer falls silent, reconnects, and never delivers what went stale meanwhile', async () => {
    const liveness = { pingIntervalMs: 50, silenceMs: 400, maxMessageAgeMs: 400 };
    const a = await startNode('a', liveness);
    const b = await startNode('b', liveness);
    const proxy = await startProxy(b.port);
    try {
      a.transport.setPeer('b', `127.0.0.1:${proxy.port}`);
      await sendUntil(a, () => msg('a', 'b', 1), () => b.received.length > 0, 'a first delivery');
      // The link goes dead with both sockets open: only the transports' own checks can tell.
      proxy.hold(true);
      await waitFor('both sides to drop the silent connection, saying why', () =>
        a.transport.stats().silent >= 1 &&
        b.transport.stats().silent >= 1 &&
        a.log.some((l) => l.startsWith('warn connection to peer b') && l.includes('lost: nothing heard for')) &&
        b.log.some((l) => l.startsWith('warn closing connection from peer a') && l.includes('nothing heard for')),
      );
      await waitFor('a to report b unreachable', () => a.unreachable.includes('b'));

      // Queued while the new connection cannot get through, and older than maxMessageAgeMs once it does.
      await new Promise((resolve) => setTimeout(resolve, 250)); // past the reconnect backoff (at most 200 ms)
      const droppedBefore = a.transport.stats().peers.b.dropped;
      a.transport.send([msg('a', 'b', 999)]);
      expect(a.transport.stats().peers.b.dropped).toBe(droppedBefore); // queued, not refused
      await new Promise((resolve) => setTimeout(resolve, liveness.maxMessageAgeMs + 100));
      proxy.hold(false);
      await sendUntil(a, () => msg('a', 'b', 2), () => b.received.some((m) => m.index === 2), 'delivery over the new connection');
      expect(b.received.map((m) => m.index)).not.toContain(999);
      expect(a.transport.stats().peers.b.dropped).toBeGreaterThan(droppedBefore);
      expect(a.transport.stats().peers.b.connected).toBe(true);
    } finally {
      await proxy.close();
    }
  });

  it('logs a flood of refused connections without flooding the log', async () => {
    const a = await startNode('a');
    const flood = await Promise.all(Array.from({ length: 30 }, () => rawClient(a.port)));
    for (const c of flood) c.socket.write(encodeFrames([Buffer.from('not a handshake')]));
    await waitFor('every refusal', () => a.transport.stats().refused === 30);
    const refusals = (level: string) => a.log.filter((l) => l.startsWith(level) && l.includes('refused connection from')).length;
    // Each is counted and logged, but at most one a second at warn level.
    expect(refusals('warn') + refusals('debug')).toBe(30);
    expect(refusals('warn')).toBeLessThan(30);
    for (const c of flood) c.socket.destroy();
  });

  it('holds at most maxPendingHandshakes connections that have not authenticated', async () => {
    const a = await startNode('a', { maxPendingHandshakes: 3 });
    const idle = await Promise.all([1, 2, 3].map(() => rawClient(a.port)));
    const extra = await rawClient(a.port);
    await waitFor('the connection over the bound to be closed', extra.closed);
    expect(idle.some((c) => c.closed())).toBe(false);
    // A slot frees when one goes: a peer that then proves itself is served.
    idle[0].socket.destroy();
    let peer = await rawClient(a.port);
    let seal: Seal | undefined;
    // The server may not have seen the close yet: then this one is turned away too; try again.
    for (let attempt = 0; ; attempt++) {
      seal = await handshake(peer, { clusterId: CLUSTER, from: 'b', to: 'a', token: TOKEN }).catch(() => undefined);
      if (seal || attempt === 50) break;
      peer = await rawClient(a.port);
    }
    peer.socket.write(encodeFrames([seal!(encodeMessage(msg('b', 'a', 1)))]));
    await waitFor('the message', () => a.received.length === 1);
    for (const c of [...idle, peer]) c.socket.destroy();
  });

  it('abandons a connection attempt that gets no answer and dials again', async () => {
    // A listener whose process never accepts: once its backlog is full the kernel drops SYNs,
    // as a dead link does, and a connect() waits for the kernel's slow retransmissions.
    const blocked = spawn(process.execPath, ['-e', `
      const server = require('node:net').createServer();
      server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
        process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000));
      });`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const port = await new Promise<number>((resolve) => blocked.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      // Fill the backlog so that later SYNs go unanswered.
      const fillers = Array.from({ length: 4 }, () => net.connect({ host: '127.0.0.1', port }).on('error', () => {}));
      try {
        const a = await startNode('a', { connectTimeoutMs: 150, handshakeTimeoutMs: 60_000 });
        a.transport.setPeer('b', `127.0.0.1:${port}`);
        const timer = setInterval(() => a.transport.send([msg('a', 'b', 1)]), 20);
        // Without the connect timeout the first attempt would wait for the handshake timeout (a minute).
        await waitFor('two abandoned attempts', () => a.log.filter((l) => l.includes('no connection within 150 ms')).length >= 2).finally(() => clearInterval(timer));
        expect(a.transport.stats().peers.b.connected).toBe(false);
      } finally {
        for (const f of fillers) f.destroy();
      }
    } finally {
      blocked.kill('SIGKILL');
    }
  });

  it('while no attempt is answered, dials again every ping interval (earlier attempts kept, bounded) and uses the first that connects', async () => {
    // The same SYN-dropping listener: a dead link, as far as connect() can tell.
    const blocked = spawn(process.execPath, ['-e', `
      const server = require('node:net').createServer();
      server.listen({ host: '127.0.0.1', port: 0, backlog: 1 }, () => {
        process.stdout.write(server.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000));
      });`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise((resolve) => blocked.once('exit', resolve));
    const port = await new Promise<number>((resolve) => blocked.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
    const fillers = Array.from({ length: 4 }, () => net.connect({ host: '127.0.0.1', port }).on('error', () => {}));
    // Attempts live a minute: only new attempts, not the connect timeout, can find the link back soon.
    const a = await startNode('a', { pingIntervalMs: 30, silenceMs: 1000, connectTimeoutMs: 60_000, handshakeTimeoutMs: 60_000 });
    a.transport.setPeer('b', `127.0.0.1:${port}`);
    const timer = setInterval(() => a.transport.send([msg('a', 'b', 1)]), 10);
    const underWay = () => a.log.filter((l) => l.includes('dialing again')).map((l) => Number(/\((\d+) attempts under way\)/.exec(l)?.[1]));
    try {
      await waitFor('new attempts while the first is unanswered, up to the bound', () => underWay().includes(7));
      await new Promise((resolve) => setTimeout(resolve, 300)); // ten more intervals: no attempt beyond the bound
      expect(a.transport.stats().peers.b.connected).toBe(false);
      expect(a.log.some((l) => l.includes('no connection within'))).toBe(false);
    } finally {
      clearInterval(timer);
      for (const f of fillers) f.destroy();
      blocked.kill('SIGKILL');
      await exited;
    }
    // At most 8 at once (MAX_PARALLEL_DIALS): the first, then one more each interval while fewer than 8 are under way.
    expect(underWay()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // The link comes back: a node listens on that port now, and the first attempt that connects is used.
    const b = await startNode('b', { listen: { host: '127.0.0.1', port } });
    await sendUntil(a, () => msg('a', 'b', 2), () => b.received.some((m) => m.index === 2), 'a delivery once b listens');
    expect(a.transport.stats().peers.b.connected).toBe(true);
  });

  it('keeps an idle connection open while its peer answers', async () => {
    const liveness = { pingIntervalMs: 25, silenceMs: 250 };
    const a = await startNode('a', liveness);
    const b = await startNode('b', liveness);
    link(a, b);
    await sendUntil(a, () => msg('a', 'b', 1), () => b.received.length > 0, 'a first delivery');
    // Many silence periods without a raft message: pings alone keep it up, the same connection throughout.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(a.transport.stats().silent + b.transport.stats().silent).toBe(0);
    expect(a.transport.stats().peers.b.connected).toBe(true);
    expect(a.log.filter((l) => l.includes('connected to peer b')).length).toBe(1);
  });

  it('reconnects after the peer restarts on the same port, reporting it unreachable meanwhile', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    link(a, b);
    await sendUntil(a, () => msg('a', 'b', 1), () => b.received.length > 0, 'a first delivery');
    const port = b.port;
    await b.transport.close();
    await sendUntil(a, () => msg('a', 'b', 2), () => a.unreachable.includes('b'), 'b reported unreachable');
    expect(a.transport.stats().peers.b.connected).toBe(false);

    const restarted = await startNode('b', { listen: { host: '127.0.0.1', port } });
    await sendUntil(a, () => msg('a', 'b', 3), () => restarted.received.length > 0, 'delivery after restart');
    expect(restarted.received[0].index).toBe(3);
    expect(a.transport.stats().peers.b.connected).toBe(true);
  });

  it('drops what exceeds the per-peer queue instead of growing it', async () => {
    const a = await startNode('a', { maxQueueBytes: 1000 });
    const b = await startNode('b');
    link(a, b);
    // While the first connection is being set up, everything waits in the queue.
    const sent = 500;
    a.transport.send(Array.from({ length: sent }, (_, i) => msg('a', 'b', i)));
    const { dropped } = a.transport.stats().peers.b;
    expect(dropped).toBeGreaterThan(0);
    await waitFor('the queued messages', () => b.received.length === sent - dropped);
    expect(b.received.map((m) => m.index)).toEqual(Array.from({ length: sent - dropped }, (_, i) => i));
    await waitFor('b reported unreachable', () => a.unreachable.includes('b'));
  });

  it('drops messages to unknown peers and reports them unreachable without throwing', async () => {
    const a = await startNode('a');
    expect(() => a.transport.send([msg('a', 'nobody', 1)])).not.toThrow();
    await waitFor('the report', () => a.unreachable.includes('nobody'));
    expect(a.transport.stats().peers.nobody.dropped).toBe(1);
  });

  it('delivers 50k small messages in order', async () => {
    const [a, b] = await Promise.all([startNode('a'), startNode('b')]);
    link(a, b);
    await sendUntil(a, () => msg('a', 'b', 0, MessageType.Heartbeat), () => b.received.length > 0, 'a connection');
    // Late warm-up heartbeats may still arrive: count only the burst.
    const burst: Message[] = [];
    b.transport.onMessage((m) => m.type === MessageType.AppResp && burst.push(m));
    const total = 50_000;
    const started = performance.now();
    for (let i = 0; i < total; i += 100) {
      a.transport.send(Array.from({ length: 100 }, (_, j) => msg('a', 'b', i + j, MessageType.AppResp)));
      if (i % 5000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await waitFor('all messages', () => burst.length === total);
    const seconds = (performance.now() - started) / 1000;
    console.log(`tcp: ${total} messages in ${seconds.toFixed(2)} s (${Math.round(total / seconds)} msg/s)`);
    expect(burst.every((m, i) => m.index === i)).toBe(true);
    expect(a.transport.stats().peers.b.dropped).toBe(0);
  });

  it('rejects bad addresses with a clear error and keeps the old one', async () => {
    const a = await startNode('a');
    const b = await startNode('b');
    link(a, b);
    expect(() => a.transport.setPeer('b', 'localhost')).toThrow(/invalid address of peer b "localhost"/);
    expect(() => a.transport.setPeer('b', '127.0.0.1:99999')).toThrow(/port in 1..65535/);
    await sendUntil(a, () => msg('a', 'b', 1), () => b.received.length > 0, 'delivery to the kept address');
    expect(parseHostPort('[::1]:7000')).toEqual({ host: '::1', port: 7000 });
    await expect(startNode('c', { listen: { host: '127.0.0.1', port: b.port } })).rejects.toThrow(/cannot listen on 127.0.0.1/);
  });
});
