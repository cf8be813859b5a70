import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MAX_TERM_OR_INDEX, MalformedMessageError, decodeMessage, encodeMessage } from '../../../core/transport/codec.js';
import { EntryType, MessageType } from '../../../core/raft/types.js';
import type { Entry, Message } from '../../../core/raft/types.js';

function message(overrides: Partial<Message>): Message {
  return {
    type: MessageType.App,
    from: 'n1',
    to: 'n2',
    term: 3,
    logTerm: 2,
    index: 41,
    entries: [],
    commit: 40,
    reject: false,
    rejectHint: 0,
    ...overrides,
  };
}

const ids = fc.array(fc.string({ minLength: 1, maxLength: 6 }), { maxLength: 4 });
const count = fc.nat({ max: MAX_TERM_OR_INDEX });
/** What nodes send each other; Hup, Propose and the other local types never travel. */
const WIRE_TYPES = [
  MessageType.App,
  MessageType.AppResp,
  MessageType.Vote,
  MessageType.VoteResp,
  MessageType.PreVote,
  MessageType.PreVoteResp,
  MessageType.Snap,
  MessageType.Heartbeat,
  MessageType.HeartbeatResp,
  MessageType.TransferLeader,
  MessageType.TimeoutNow,
  MessageType.ReadIndex,
  MessageType.ReadIndexResp,
];
const LOCAL_TYPES = Object.values(MessageType).filter((t) => !WIRE_TYPES.includes(t));

/** Any message a real node could send: an App's entries continue its log, a Snap's snapshot is not newer than it. */
const messageArb: fc.Arbitrary<Message> = fc
  .record(
    {
      type: fc.constantFrom(...WIRE_TYPES),
      from: fc.string({ maxLength: 8 }),
      to: fc.string({ maxLength: 8 }),
      term: count,
      logTerm: count,
      index: fc.nat({ max: MAX_TERM_OR_INDEX - 5 }),
      entries: fc.array(fc.record({ type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange), data: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 5 }),
      commit: count,
      reject: fc.boolean(),
      rejectHint: count,
      snapshot: fc.record({
        metadata: fc.record({
          index: count,
          term: count,
          confState: fc.record({ voters: ids, votersOutgoing: ids, learners: ids, learnersNext: ids, autoLeave: fc.boolean() }),
        }),
        data: fc.uint8Array({ maxLength: 128 }),
      }),
      context: fc.uint8Array({ maxLength: 16 }),
    },
    { requiredKeys: ['type', 'from', 'to', 'term', 'logTerm', 'index', 'entries', 'commit', 'reject', 'rejectHint'] },
  )
  .map((m) => {
    const term = Math.max(m.term, m.logTerm);
    const entries: Entry[] =
      m.type === MessageType.App ? m.entries.map((e, i) => ({ term: Math.min(term, m.logTerm + i), index: m.index + 1 + i, ...e })) : [];
    const out: Message = { ...m, term, entries };
    if (m.type !== MessageType.Snap) delete out.snapshot;
    else if (out.snapshot) out.snapshot = { ...out.snapshot, metadata: { ...out.snapshot.metadata, term: Math.min(term, out.snapshot.metadata.term) } };
    return out;
  });

/** Either a valid Message or a MalformedMessageError: nothing else may escape decoding. */
function decodeOrMalformed(bytes: Uint8Array): Message | MalformedMessageError {
  try {
    return decodeMessage(bytes);
  } catch (err) {
    if (err instanceof MalformedMessageError) return err;
    throw err;
  }
}

describe('message codec', () => {
  it('round-trips entries with binary data, snapshots and contexts as bytes and numbers', () => {
    const append = message({
      entries: [
        { term: 3, index: 42, type: EntryType.Normal, data: new Uint8Array([0, 255, 1, 128]) },
        { term: 3, index: 43, type: EntryType.ConfChange, data: new Uint8Array(0) },
      ],
      context: new Uint8Array([9, 8, 7]),
    });
    const snap = message({
      type: MessageType.Snap,
      snapshot: {
        metadata: {
          index: 2 ** 40,
          term: 3,
          confState: { voters: ['a', 'b'], votersOutgoing: ['c'], learners: ['d'], learnersNext: [], autoLeave: true },
        },
        data: new Uint8Array(70_000).map((_, i) => i % 251),
      },
    });
    const decodedAppend = decodeMessage(encodeMessage(append));
    expect(decodedAppend).toStrictEqual(append);
    expect(decodedAppend.entries[0].data.constructor).toBe(Uint8Array);
    const decodedSnap = decodeMessage(encodeMessage(snap));
    expect(decodedSnap).toStrictEqual(snap);
    expect(decodedSnap.snapshot!.data.constructor).toBe(Uint8Array);
    expect(typeof decodedSnap.snapshot!.metadata.index).toBe('number');
  });

  it('round-trips arbitrary messages', () => {
    fc.assert(
      fc.property(messageArb, (m) => {
        expect(decodeMessage(encodeMessage(m))).toEqual(m);
      }),
    );
  });

  it('keeps earlier encodings intact while encoding more', () => {
    const first = encodeMessage(message({ entries: [{ term: 1, index: 1, type: EntryType.Normal, data: new Uint8Array([1]) }] }));
    const copy = Uint8Array.from(first);
    for (let i = 0; i < 10_000; i++) encodeMessage(message({ index: i }));
    expect(Uint8Array.from(first)).toEqual(copy);
  });

  it('decoded bytes do not alias the input frame', () => {
    const frame = encodeMessage(message({ context: new Uint8Array([1, 2, 3]) }));
    const decoded = decodeMessage(frame);
    frame.fill(0);
    expect(Array.from(decoded.context!)).toEqual([1, 2, 3]);
  });

  it.each([
    ['empty input', new Uint8Array(0)],
    ['truncated frame', encodeMessage(message({})).subarray(0, 10)],
    ['trailing bytes', Uint8Array.from([...encodeMessage(message({})), 0x01])],
    ['not an array', new Packr({ useRecords: false }).pack({ type: 'App' })],
    ['wrong field count', new Packr({ useRecords: false }).pack([4, 'a', 'b'])],
  ])('rejects %s', (_name, bytes) => {
    expect(() => decodeMessage(bytes)).toThrow(MalformedMessageError);
  });

  it.each([
    ['an unknown type code', 0, 99, /type code 99/],
    ['a string term', 3, '3', /term must be an integer in 0..2\^48/],
    ['a negative index', 5, -1, /index must be an integer in 0..2\^48/],
    ['a fractional commit', 6, 1.5, /commit must be an integer in 0..2\^48/],
    ['an unsafe integer', 3, 2 ** 53 + 2, /term must be an integer in 0..2\^48/],
    ['the largest safe integer as term', 3, Number.MAX_SAFE_INTEGER, /term must be an integer in 0..2\^48/],
    ['a term just past the bound', 3, MAX_TERM_OR_INDEX + 1, /term must be an integer in 0..2\^48/],
    ['a commit just past the bound', 6, MAX_TERM_OR_INDEX + 1, /commit must be an integer in 0..2\^48/],
    ['a local type (Propose)', 0, 2, /Propose is a local message type/],
    ['a local type (Hup)', 0, 0, /Hup is a local message type/],
    ['an over-long sender id', 1, 'x'.repeat(257), /from must be a node id/],
    ['entries that do not follow the index', 9, [3, 99, 0, new Uint8Array()], /entry 0 index 99 does not follow the message index 41/],
    ['an entry newer than the message', 9, [4, 42, 0, new Uint8Array()], /entry 0 term 4 is newer than the message term 3/],
    ['entries with a gap', 9, [3, 42, 0, new Uint8Array(), 3, 44, 0, new Uint8Array()], /entry 1 \(index 44, term 3\) does not follow entry 0/],
    ['entries going back in term', 9, [3, 42, 0, new Uint8Array(), 2, 43, 0, new Uint8Array()], /entry 1 \(index 43, term 2\) does not follow entry 0/],
    ['a non-boolean reject', 7, 1, /reject must be a boolean/],
    ['entries not in groups of four', 9, [1, 1, 0], /entries must be an array/],
    ['entry data that is not bytes', 9, [3, 42, 0, 'text'], /entry 0 data must be bytes/],
    ['an unknown entry type', 9, [3, 42, 5, new Uint8Array()], /unknown entry type 5/],
    ['a snapshot of the wrong shape', 10, [1, 2], /snapshot must be an array/],
    ['a context that is not bytes', 11, 'ctx', /context must be bytes/],
  ])('rejects a message with %s', (_name, field, value, error) => {
    const fields = new Packr({ useRecords: false, int64AsType: 'number' }).unpack(encodeMessage(message({}))) as unknown[];
    fields[field] = value;
    const bytes = new Packr({ useRecords: false }).pack(fields);
    expect(() => decodeMessage(bytes)).toThrow(error);
  });

  it('refuses to encode a local message type', () => {
    for (const type of LOCAL_TYPES) expect(() => encodeMessage(message({ type }))).toThrow(MalformedMessageError);
  });

  it('refuses entries outside an App and a snapshot outside a Snap', () => {
    const entry = { term: 3, index: 42, type: EntryType.Normal, data: new Uint8Array([1]) };
    expect(() => decodeMessage(encodeMessage(message({ type: MessageType.Heartbeat, entries: [entry] })))).toThrow(/Heartbeat carries no entries/);
    const snapshot = { metadata: { index: 5, term: 2, confState: { voters: ['a'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false } }, data: new Uint8Array() };
    expect(() => decodeMessage(encodeMessage(message({ snapshot })))).toThrow(/snapshot travels only in a Snap message/);
    expect(() => decodeMessage(encodeMessage(message({ type: MessageType.Snap, term: 1, snapshot })))).toThrow(/snapshot travels only in a Snap message/);
    expect(decodeMessage(encodeMessage(message({ type: MessageType.Snap, snapshot }))).snapshot).toEqual(snapshot);
  });

  it('never fails on corrupted input with anything but MalformedMessageError', () => {
    fc.assert(
      fc.property(messageArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }), (m, flips) => {
        const bytes = Uint8Array.from(encodeMessage(m));
        for (const [at, value] of flips) bytes[at % bytes.length] = value;
        decodeOrMalformed(bytes);
      }),
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => void decodeOrMalformed(bytes)));
  });
});
