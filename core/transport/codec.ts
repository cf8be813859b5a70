// Wire format of a raft Message: one msgpack array with fields by position (no key strings,
// so it is small and fast to encode). Decoding checks every field: bytes from the network are
// untrusted, and a bad frame must surface as an error, not as a half-built Message.
import { Packr, Unpackr } from 'msgpackr';
import { EntryType, MessageType } from '../raft/types.js';
import type { ConfState, Entry, Message, Snapshot } from '../raft/types.js';

/** Wire code of each message type is its position here: append only, never reorder. */
const WIRE_TYPES: readonly MessageType[] = [
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Propose,
  MessageType.CheckQuorum,
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
  MessageType.Unreachable,
  MessageType.SnapStatus,
];
const TYPE_CODES = new Map(WIRE_TYPES.map((type, code) => [type, code]));

const MESSAGE_FIELDS = 12;
const ENTRY_FIELDS = 4;
const SNAPSHOT_FIELDS = 8;

const packr = new Packr({ useRecords: false });
// int64AsType 'number': terms and indexes are plain numbers; unsafe ones fail validation below.
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export class MalformedMessageError extends Error {
  constructor(detail: string) {
    super(`malformed message: ${detail}`);
    this.name = 'MalformedMessageError';
  }
}

export function encodeMessage(m: Message): Uint8Array {
  const entries: unknown[] = new Array(m.entries.length * ENTRY_FIELDS);
  for (let i = 0, j = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    entries[j++] = e.term;
    entries[j++] = e.index;
    entries[j++] = e.type;
    entries[j++] = e.data;
  }
  return packr.pack([
    TYPE_CODES.get(m.type),
    m.from,
    m.to,
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    m.reject,
    m.rejectHint,
    entries,
    m.snapshot ? encodeSnapshot(m.snapshot) : null,
    m.context ?? null,
  ]);
}

function encodeSnapshot(s: Snapshot): unknown[] {
  const c = s.metadata.confState;
  return [s.metadata.index, s.metadata.term, c.voters, c.votersOutgoing, c.learners, c.learnersNext, c.autoLeave, s.data];
}

export function decodeMessage(bytes: Uint8Array): Message {
  let raw: unknown;
  try {
    raw = unpackr.unpack(bytes);
  } catch (err) {
    throw new MalformedMessageError(`not msgpack (${(err as Error).message})`);
  }
  const f = tuple(raw, MESSAGE_FIELDS, 'message');
  const message: Message = {
    type: messageType(f[0]),
    from: string(f[1], 'from'),
    to: string(f[2], 'to'),
    term: count(f[3], 'term'),
    logTerm: count(f[4], 'logTerm'),
    index: count(f[5], 'index'),
    commit: count(f[6], 'commit'),
    reject: boolean(f[7], 'reject'),
    rejectHint: count(f[8], 'rejectHint'),
    entries: decodeEntries(f[9]),
  };
  if (f[10] !== null) message.snapshot = decodeSnapshot(f[10]);
  if (f[11] !== null) message.context = bytesField(f[11], 'context');
  detachBytes(message);
  return message;
}

function messageType(code: unknown): MessageType {
  const type = typeof code === 'number' && Number.isInteger(code) ? WIRE_TYPES[code] : undefined;
  if (type === undefined) throw new MalformedMessageError(`unknown message type code ${String(code)}`);
  return type;
}

function decodeEntries(raw: unknown): Entry[] {
  if (!Array.isArray(raw) || raw.length % ENTRY_FIELDS !== 0) {
    throw new MalformedMessageError(`entries must be an array of ${ENTRY_FIELDS}-field groups`);
  }
  const entries: Entry[] = new Array(raw.length / ENTRY_FIELDS);
  for (let i = 0, j = 0; j < raw.length; i++, j += ENTRY_FIELDS) {
    const type = raw[j + 2];
    if (type !== EntryType.Normal && type !== EntryType.ConfChange) {
      throw new MalformedMessageError(`entry ${i}: unknown entry type ${String(type)}`);
    }
    entries[i] = {
      term: count(raw[j], `entry ${i} term`),
      index: count(raw[j + 1], `entry ${i} index`),
      type,
      data: bytesField(raw[j + 3], `entry ${i} data`),
    };
  }
  return entries;
}

function decodeSnapshot(raw: unknown): Snapshot {
  const f = tuple(raw, SNAPSHOT_FIELDS, 'snapshot');
  const confState: ConfState = {
    voters: ids(f[2], 'snapshot voters'),
    votersOutgoing: ids(f[3], 'snapshot votersOutgoing'),
    learners: ids(f[4], 'snapshot learners'),
    learnersNext: ids(f[5], 'snapshot learnersNext'),
    autoLeave: boolean(f[6], 'snapshot autoLeave'),
  };
  return {
    metadata: { index: count(f[0], 'snapshot index'), term: count(f[1], 'snapshot term'), confState },
    data: bytesField(f[7], 'snapshot data'),
  };
}

function tuple(raw: unknown, length: number, what: string): unknown[] {
  if (!Array.isArray(raw) || raw.length !== length) {
    throw new MalformedMessageError(`${what} must be an array of ${length} fields`);
  }
  return raw;
}

function count(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new MalformedMessageError(`${field} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function string(v: unknown, field: string): string {
  if (typeof v !== 'string') throw new MalformedMessageError(`${field} must be a string`);
  return v;
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new MalformedMessageError(`${field} must be a boolean`);
  return v;
}

function ids(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !v.every((id) => typeof id === 'string')) {
    throw new MalformedMessageError(`${field} must be an array of node ids`);
  }
  return v;
}

function bytesField(v: unknown, field: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw new MalformedMessageError(`${field} must be bytes`);
  return v;
}

/**
 * msgpackr returns binary fields as Buffer views into the input frame. Copying them into one
 * fresh buffer per message gives plain Uint8Arrays (slice() copies, unlike Buffer's) and lets
 * the frame, often a whole socket chunk, be collected while the entries live on in the log.
 * One allocation per message rather than per field: allocation dominates decoding otherwise.
 */
const EMPTY = new Uint8Array(0);

function detachBytes(m: Message): void {
  let total = m.context?.length ?? 0;
  for (let i = 0; i < m.entries.length; i++) total += m.entries[i].data.length;
  if (m.snapshot) total += m.snapshot.data.length;
  const owned = total === 0 ? EMPTY : new Uint8Array(total);
  let offset = 0;
  for (let i = 0; i < m.entries.length; i++) {
    const e = m.entries[i];
    e.data = copyInto(owned, offset, e.data);
    offset += e.data.length;
  }
  if (m.snapshot) {
    m.snapshot.data = copyInto(owned, offset, m.snapshot.data);
    offset += m.snapshot.data.length;
  }
  if (m.context) m.context = copyInto(owned, offset, m.context);
}

function copyInto(owned: Uint8Array, offset: number, bytes: Uint8Array): Uint8Array {
  owned.set(bytes, offset);
  return owned.subarray(offset, offset + bytes.length);
}
