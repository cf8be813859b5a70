// Wire format of a raft Message: one msgpack array with fields by position (no key strings,
// so it is small and fast to encode). Decoding checks every field: bytes from the network are
// untrusted, and a bad frame must surface as an error, not as a half-built Message. Only the
// message types nodes send each other travel: local ones (Hup, Propose, ...) are refused.
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

/** Generated inside a node, never sent: a peer sending one (say a Propose) would bypass the API. */
const LOCAL_TYPES: ReadonlySet<MessageType> = new Set([
  MessageType.Hup,
  MessageType.Beat,
  MessageType.Propose,
  MessageType.CheckQuorum,
  MessageType.Unreachable,
  MessageType.SnapStatus,
]);

/**
 * The largest term or index a node accepts from the wire (2^48, about 2.8e14: 89 years of
 * 100,000 entries a second). Far below Number.MAX_SAFE_INTEGER (2^53), so a node that adopted
 * any accepted term still has 2^53 - 2^48 elections before its terms stop being exact numbers;
 * beyond it a value cannot be real and is refused as malformed, never adopted.
 */
export const MAX_TERM_OR_INDEX = 2 ** 48;

/** Longest node id on the wire (raftd's ids are at most 64 characters). */
export const MAX_NODE_ID_LENGTH = 256;

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

/** Encodes a message for another node; throws for a local message type, which must never travel. */
export function encodeMessage(m: Message): Uint8Array {
  if (LOCAL_TYPES.has(m.type)) throw new MalformedMessageError(`${m.type} is a local message and never travels`);
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
    from: nodeId(f[1], 'from'),
    to: nodeId(f[2], 'to'),
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
  checkEntriesFit(message);
  if (message.snapshot && (message.type !== MessageType.Snap || message.snapshot.metadata.term > message.term)) {
    throw new MalformedMessageError('a snapshot travels only in a Snap message, with a term no newer than the message');
  }
  detachBytes(message);
  return message;
}

function messageType(code: unknown): MessageType {
  const type = typeof code === 'number' && Number.isInteger(code) ? WIRE_TYPES[code] : undefined;
  if (type === undefined) throw new MalformedMessageError(`unknown message type code ${String(code)}`);
  if (LOCAL_TYPES.has(type)) throw new MalformedMessageError(`${type} is a local message type and never comes from the wire`);
  return type;
}

/**
 * Entries are a run of the log: consecutive indexes, terms never decreasing and none newer than
 * the message. An App's run starts right after (index, logTerm). Anything else cannot come from
 * a real leader, and stored it would break the log (and the WAL's reading of it) for good.
 */
function checkEntriesFit(m: Message): void {
  const entries = m.entries;
  if (entries.length === 0) return;
  if (m.type !== MessageType.App) throw new MalformedMessageError(`${m.type} carries no entries`);
  if (entries[0].index !== m.index + 1) {
    throw new MalformedMessageError(`entry 0 index ${entries[0].index} does not follow the message index ${m.index}`);
  }
  if (entries[0].term < m.logTerm) throw new MalformedMessageError(`entry 0 term ${entries[0].term} is older than logTerm ${m.logTerm}`);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.term > m.term) throw new MalformedMessageError(`entry ${i} term ${e.term} is newer than the message term ${m.term}`);
    if (i > 0 && (e.index !== entries[i - 1].index + 1 || e.term < entries[i - 1].term)) {
      throw new MalformedMessageError(`entry ${i} (index ${e.index}, term ${e.term}) does not follow entry ${i - 1}`);
    }
  }
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
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_TERM_OR_INDEX) {
    throw new MalformedMessageError(`${field} must be an integer in 0..2^48, got ${String(v)}`);
  }
  return v;
}

function nodeId(v: unknown, field: string): string {
  if (typeof v !== 'string' || v.length > MAX_NODE_ID_LENGTH) {
    throw new MalformedMessageError(`${field} must be a node id (a string of at most ${MAX_NODE_ID_LENGTH} characters)`);
  }
  return v;
}

function boolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new MalformedMessageError(`${field} must be a boolean`);
  return v;
}

function ids(v: unknown, field: string): string[] {
  if (!Array.isArray(v) || !v.every((id) => typeof id === 'string' && id.length > 0 && id.length <= MAX_NODE_ID_LENGTH)) {
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
