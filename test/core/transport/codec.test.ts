import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { MalformedMessageError, decodeMessage, encodeMessage } from '../../../core/transport/codec.js';
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

const ids = fc.array(fc.string({ maxLength: 6 }), { maxLength: 4 });
const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const entryArb: fc.Arbitrary<Entry> = fc.record({
  term: count,
  index: count,
  type: fc.constantFrom(EntryType.Normal, EntryType.ConfChange),
  data: fc.uint8Array({ maxLength: 64 }),
});
const messageArb: fc.Arbitrary<Message> = fc.record(
  {
    type: fc.constantFrom(...Object.values(MessageType)),
    from: fc.string({ maxLength: 8 }),
    to: fc.string({ maxLength: 8 }),
    term: count,
    logTerm: count,
    index: count,
    entries: fc.array(entryArb, { maxLength: 5 }),
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
);

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
    const original = message({
      entries: [
        { term: 3, index: 42, type: EntryType.Normal, data: new Uint8Array([0, 255, 1, 128]) },
        { term: 3, index: 43, type: EntryType.ConfChange, data: new Uint8Array(0) },
      ],
      snapshot: {
        metadata: {
          index: 2 ** 40,
          term: 7,
          confState: { voters: ['a', 'b'], votersOutgoing: ['c'], learners: ['d'], learnersNext: [], autoLeave: true },
        },
        data: new Uint8Array(70_000).map((_, i) => i % 251),
      },
      context: new Uint8Array([9, 8, 7]),
    });
    const decoded = decodeMessage(encodeMessage(original));
    expect(decoded).toStrictEqual(original);
    expect(decoded.entries[0].data.constructor).toBe(Uint8Array);
    expect(decoded.snapshot!.data.constructor).toBe(Uint8Array);
    expect(typeof decoded.snapshot!.metadata.index).toBe('number');
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
    ['a string term', 3, '3', /term must be a non-negative integer/],
    ['a negative index', 5, -1, /index must be a non-negative integer/],
    ['a fractional commit', 6, 1.5, /commit must be a non-negative integer/],
    ['an unsafe integer', 3, 2 ** 53 + 2, /term must be a non-negative integer/],
    ['a non-boolean reject', 7, 1, /reject must be a boolean/],
    ['entries not in groups of four', 9, [1, 1, 0], /entries must be an array/],
    ['entry data that is not bytes', 9, [1, 1, 0, 'text'], /entry 0 data must be bytes/],
    ['an unknown entry type', 9, [1, 1, 5, new Uint8Array()], /unknown entry type 5/],
    ['a snapshot of the wrong shape', 10, [1, 2], /snapshot must be an array/],
    ['a context that is not bytes', 11, 'ctx', /context must be bytes/],
  ])('rejects a message with %s', (_name, field, value, error) => {
    const fields = new Packr({ useRecords: false, int64AsType: 'number' }).unpack(encodeMessage(message({}))) as unknown[];
    fields[field] = value;
    const bytes = new Packr({ useRecords: false }).pack(fields);
    expect(() => decodeMessage(bytes)).toThrow(error);
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
