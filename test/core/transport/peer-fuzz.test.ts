// Fuzzing what an authenticated peer may send: after a valid handshake, frames that are
// truncated, oversized, of the wrong types, with impossible terms or a forged sender. The node
// (a RaftNode on the real TcpTransport) drops them, never crashes, and never adopts them.
import { createHmac, randomBytes } from 'node:crypto';
import net from 'node:net';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../../core/clock.js';
import { RaftNode, type StateMachine } from '../../../core/node/raft-node.js';
import { EntryType, MessageType, type Message } from '../../../core/raft/types.js';
import { MemoryLogStore, MemorySnapshotStore } from '../../../core/storage/memory.js';
import { MAX_TERM_OR_INDEX, encodeMessage } from '../../../core/transport/codec.js';
import { FrameDecoder, encodeFrames } from '../../../core/transport/frames.js';
import { TcpTransport } from '../../../core/transport/tcp.js';
import { sealer, type Seal } from './frame-seal.js';
import type { Transport } from '../../../core/transport/types.js';

const CLUSTER = 'fuzz';
const TOKEN = 'fuzz-token';
const MAX_FRAME = 64 * 1024;
const packr = new Packr({ useRecords: false });

/** Passes everything through, recording what the transport delivers to the node. */
class Recording implements Transport {
  readonly delivered: Message[] = [];
  constructor(private readonly inner: TcpTransport) {}
  get id() {
    return this.inner.id;
  }
  send(messages: Message[]) {
    this.inner.send(messages);
  }
  onMessage(handler: (m: Message) => void) {
    this.inner.onMessage((m) => {
      this.delivered.push(m);
      handler(m);
    });
  }
  setPeer(id: string, address: string) {
    this.inner.setPeer(id, address);
  }
  removePeer(id: string) {
    this.inner.removePeer(id);
  }
  close() {
    return this.inner.close();
  }
}

/** Applies nothing: this test is about what reaches raft, not what raft applies. */
const nothingMachine: StateMachine = { apply: () => undefined, snapshot: () => new Uint8Array(), restore: () => {} };

let tcp: TcpTransport;
let recording: Recording;
let node: RaftNode;
let port: number;

beforeAll(async () => {
  tcp = new TcpTransport({ id: 'a', clusterId: CLUSTER, token: TOKEN, listen: { host: '127.0.0.1', port: 0 }, peers: {}, maxFrameBytes: MAX_FRAME });
  recording = new Recording(tcp);
  // The clock never moves: the node only reacts to what arrives.
  node = await RaftNode.start({
    id: 'a',
    logStore: new MemoryLogStore(),
    snapshotStore: new MemorySnapshotStore(),
    transport: recording,
    clock: new ManualClock(),
    stateMachine: nothingMachine,
    initialMembers: ['a', 'b', 'c'],
  });
  await tcp.start();
  port = tcp.address().port;
});

afterAll(async () => {
  await node?.stop();
  await tcp?.close();
});

type Frame = { kind: 'valid' | 'misaddressed' | 'malformed' | 'garbage'; bytes: Buffer } | { kind: 'oversized'; bytes: Buffer };

const WIRE_TYPES = [MessageType.App, MessageType.AppResp, MessageType.Vote, MessageType.VoteResp, MessageType.PreVote, MessageType.PreVoteResp, MessageType.Heartbeat, MessageType.HeartbeatResp, MessageType.TimeoutNow, MessageType.ReadIndex, MessageType.ReadIndexResp];
/** Wire codes of the local types (positions in the codec's table), which must never travel. */
const LOCAL_CODES = [0, 1, 2, 3, 17, 18];

const small = fc.nat({ max: 50 });
const messageArb = (from: fc.Arbitrary<string>): fc.Arbitrary<Message> =>
  fc.record({ type: fc.constantFrom(...WIRE_TYPES), from, term: small, logTerm: small, index: small, commit: small, reject: fc.boolean(), rejectHint: small, n: fc.nat({ max: 2 }) }).map((r) => {
    const term = Math.max(r.term, r.logTerm);
    const entries = r.type === MessageType.App ? Array.from({ length: r.n }, (_, i) => ({ term, index: r.index + 1 + i, type: EntryType.Normal, data: new Uint8Array([i]) })) : [];
    return { type: r.type, from: r.from, to: 'a', term, logTerm: r.logTerm, index: r.index, commit: r.commit, reject: r.reject, rejectHint: r.rejectHint, entries };
  });

const frame = (payload: Uint8Array) => encodeFrames([payload]);
/** A valid message with one numeric field replaced (positions as in the codec: 3 term, 4 logTerm, 5 index, 6 commit, 8 rejectHint). */
const withField = (m: Message, at: number, value: unknown) => {
  const fields = packr.unpack(encodeMessage(m)) as unknown[];
  fields[at] = value;
  return frame(packr.pack(fields));
};

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  messageArb(fc.constant('b')).map((m) => ({ kind: 'valid' as const, bytes: frame(encodeMessage(m)) })),
  messageArb(fc.constantFrom('c', 'a', '', 'x'.repeat(40))).map((m) => ({ kind: 'misaddressed' as const, bytes: frame(encodeMessage(m)) })),
  // Impossible terms and indexes: past the bound, unsafe, negative, fractional.
  fc
    .tuple(messageArb(fc.constant('b')), fc.constantFrom(3, 4, 5, 6, 8), fc.oneof(fc.integer({ min: MAX_TERM_OR_INDEX + 1, max: Number.MAX_SAFE_INTEGER }), fc.constantFrom(2 ** 53, 2 ** 64, -1, 1.5, Infinity, NaN)))
    .map(([m, at, value]) => ({ kind: 'malformed' as const, bytes: withField(m, at, value) })),
  // Wrong types in a field, or a local message type.
  fc.tuple(messageArb(fc.constant('b')), fc.nat({ max: 11 }), fc.oneof(fc.string(), fc.constant(null), fc.array(fc.nat(), { maxLength: 3 }), fc.boolean())).map(([m, at, value]) => ({ kind: 'garbage' as const, bytes: withField(m, at, value) })),
  fc.tuple(messageArb(fc.constant('b')), fc.constantFrom(...LOCAL_CODES)).map(([m, code]) => ({ kind: 'malformed' as const, bytes: withField(m, 0, code) })),
  // Truncated inside a frame that announces its full length: the rest is read from what follows.
  messageArb(fc.constant('b')).chain((m) => {
    const payload = encodeMessage(m);
    return fc.nat({ max: payload.length - 1 }).map((cut) => ({ kind: 'garbage' as const, bytes: frame(payload.subarray(0, cut)) }));
  }),
  fc.uint8Array({ maxLength: 64 }).map((b) => ({ kind: 'garbage' as const, bytes: frame(b) })),
  fc.anything().map((v) => ({ kind: 'garbage' as const, bytes: frame(packr.pack(v)) })),
  fc.integer({ min: MAX_FRAME + 1, max: 2 ** 32 - 1 }).map((length) => {
    const header = Buffer.alloc(4);
    header.writeUInt32BE(length);
    return { kind: 'oversized' as const, bytes: header };
  }),
);

async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

function mac(role: 'accept' | 'dial' | 'frames', nd: Uint8Array, na: Uint8Array): Buffer {
  const signed = JSON.stringify([`raft-peer-${role}`, CLUSTER, 'b', 'a', Buffer.from(nd).toString('hex'), Buffer.from(na).toString('hex')]);
  return createHmac('sha256', TOKEN).update(signed).digest();
}

/** Connects as b and completes the handshake; resolves with the socket, whether it has closed, and the seal for its frames. */
async function connectAsB(): Promise<{ socket: net.Socket; closed: () => boolean; seal: Seal }> {
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  let closed = false;
  socket.on('close', () => (closed = true));
  const frames: Buffer[] = [];
  const decoder = new FrameDecoder(4096);
  socket.on('data', (c: Buffer) => {
    decoder.push(c);
    for (let f = decoder.next(); f; f = decoder.next()) frames.push(f);
  });
  const nonce = randomBytes(16);
  socket.write(frame(packr.pack({ v: 3, clusterId: CLUSTER, from: 'b', to: 'a', nonce })));
  await waitFor('the challenge', () => frames.length >= 1);
  const challenge = packr.unpack(frames[0]) as { nonce: Uint8Array };
  socket.write(frame(packr.pack({ mac: mac('dial', nonce, challenge.nonce) })));
  await waitFor('the acceptance', () => frames.length >= 2);
  expect(packr.unpack(frames[1])).toEqual({ ok: true });
  return { socket, closed: () => closed, seal: sealer(mac('frames', nonce, challenge.nonce)) };
}

function checkAdoptable(m: Message): void {
  expect(m.from).toBe('b');
  expect(m.to).toBe('a');
  expect(WIRE_TYPES).toContain(m.type);
  for (const v of [m.term, m.logTerm, m.index, m.commit, m.rejectHint, ...m.entries.flatMap((e) => [e.term, e.index])]) {
    expect(Number.isInteger(v) && v >= 0 && v <= MAX_TERM_OR_INDEX).toBe(true);
  }
}

describe('peer frames after a valid handshake', () => {
  it('are dropped when malformed, never crash the node and are never adopted', async () => {
    let sentinel = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(frameArb, { minLength: 1, maxLength: 6 }), async (frames) => {
        const before = recording.delivered.length;
        const { socket, closed, seal } = await connectAsB();
        // Ends each run: delivered if the connection survived everything before it.
        const mark = new Uint8Array([++sentinel & 0xff, sentinel >> 8]);
        const end: Message = { type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: 0, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, entries: [], context: mark };
        // Sealed as an authenticated peer's are (an oversized frame is refused on its announced length alone).
        const sealed = (f: Frame) => (f.kind === 'oversized' ? f.bytes : frame(seal(f.bytes.subarray(4))));
        socket.write(Buffer.concat([...frames.map(sealed), frame(seal(encodeMessage(end)))]));
        const sentinelArrived = () => recording.delivered.slice(before).some((m) => m.type === MessageType.HeartbeatResp && m.context?.[0] === mark[0] && m.context?.[1] === mark[1]);
        await waitFor('the connection to close or the run to end', () => closed() || sentinelArrived());
        socket.destroy();

        const delivered = recording.delivered.slice(before);
        for (const m of delivered) checkAdoptable(m);
        // Nothing after the first bad frame gets through: its connection is closed there.
        const firstBad = frames.findIndex((f) => f.kind === 'malformed' || f.kind === 'oversized');
        if (firstBad >= 0) {
          await waitFor('the connection to close', closed);
          expect(sentinelArrived()).toBe(false);
          // Garbage may happen to be a valid message (a boolean where one belongs).
          expect(delivered.length).toBeLessThanOrEqual(frames.slice(0, firstBad).filter((f) => f.kind === 'valid' || f.kind === 'garbage').length);
        }
        if (frames.every((f) => f.kind === 'valid' || f.kind === 'misaddressed')) {
          expect(sentinelArrived()).toBe(true);
          expect(delivered.length).toBe(frames.filter((f) => f.kind === 'valid').length + 1);
        }
        // The node is alive and its term is one a real cluster could reach.
        expect(node.failure).toBeNull();
        expect(node.status().term).toBeLessThanOrEqual(MAX_TERM_OR_INDEX);
      }),
      { numRuns: 60 },
    );

    // Still serving: a genuine peer gets its messages through.
    const b = new TcpTransport({ id: 'b', clusterId: CLUSTER, token: TOKEN, listen: { host: '127.0.0.1', port: 0 }, peers: { a: `127.0.0.1:${port}` } });
    try {
      await b.start();
      const before = recording.delivered.length;
      const heartbeatResp: Message = { type: MessageType.HeartbeatResp, from: 'b', to: 'a', term: 0, logTerm: 0, index: 0, commit: 0, reject: false, rejectHint: 0, entries: [] };
      const timer = setInterval(() => b.send([heartbeatResp]), 10);
      await waitFor('a genuine message', () => recording.delivered.length > before).finally(() => clearInterval(timer));
      expect(tcp.stats().malformed).toBeGreaterThan(0);
      expect(tcp.stats().misaddressed).toBeGreaterThan(0);
    } finally {
      await b.close();
    }
  }, 120_000);
});
