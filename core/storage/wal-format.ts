// On-disk format of the write-ahead log: segment names, record framing and payloads.
//
// A segment `<seq>-<firstIndex>.wal` (16 hex digits each) is a zero-filled file holding
// frames at 8-byte aligned offsets:  [length u32][crc32c u32][type u8][payload][zero pad]
// (little endian; length counts type+payload, the CRC covers type+payload). Nothing but
// zeros from where a frame would start is the end of the log. The first frame is the segment
// header; every later frame is one group-commit batch, i.e. exactly one write.
//
// Telling a torn tail from corruption. A write starts only after the previous one was
// fdatasynced, and each write is a single frame, so a crash can damage only the last frame
// of the last segment, and no valid frame can follow it: what comes after is preallocated
// zeros or remnants of that same frame. So at the first offset not holding a valid frame:
//  - only zeros follow                                          → clean end of log;
//  - last segment, and no valid frame at any later aligned offset → torn tail: repaired, reported;
//  - otherwise (an older segment, or valid frames follow)      → CorruptionError.
// Limits: bit rot in the very last record looks exactly like a torn write (repaired, and
// reported); entry data embedding whole WAL frames at aligned offsets could make a torn
// tail look like corruption (a loud refusal, never silent loss).
// Headers are synced before a segment is renamed into place, so a bad header is corruption.
import { crc32c } from '@node-rs/crc32';
import { Packr, Unpackr } from 'msgpackr';
import { EntryType, type Entry, type HardState } from '../raft/types.js';
import { hex16 } from './files.js';
import { isIndex } from './log-state.js';
import { CorruptionError } from './types.js';

const FRAME_HEADER_BYTES = 9;
const FRAME_ALIGN = 8;

export enum RecordType {
  /** {seq, firstIndex, hardState}: the hard state survives deletion of older segments. */
  SegmentHeader = 1,
  /** One or more operations (msgpack values back to back) made durable by one fdatasync. */
  Batch = 2,
}

export enum OpKind {
  /** [Save, hardState tuple | null, [index, term, type, data][]] */
  Save = 0,
  /** [Compact, index] */
  Compact = 1,
}

export type WalOp =
  | { kind: OpKind.Save; hardState: HardState | undefined; entries: Entry[] }
  | { kind: OpKind.Compact; index: number };

export interface SegmentHeader {
  seq: number;
  /** The log held no entry at or above this index when the segment started. */
  firstIndex: number;
  hardState: HardState;
}

const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, copyBuffers: true });

// --- names -------------------------------------------------------------------------------

const SEGMENT_NAME = /^([0-9a-f]{16})-([0-9a-f]{16})\.wal$/;

export function segmentName(seq: number, firstIndex: number): string {
  return `${hex16(seq)}-${hex16(firstIndex)}.wal`;
}

export function parseSegmentName(name: string): { seq: number; firstIndex: number } | undefined {
  const m = SEGMENT_NAME.exec(name);
  return m ? { seq: parseInt(m[1], 16), firstIndex: parseInt(m[2], 16) } : undefined;
}

// --- writing -----------------------------------------------------------------------------

function alignUp(n: number): number {
  return Math.ceil(n / FRAME_ALIGN) * FRAME_ALIGN;
}

/** Bytes a frame with this payload occupies, padding included. */
export function frameBytes(payloadBytes: number): number {
  return alignUp(FRAME_HEADER_BYTES + payloadBytes);
}

const PADDING = Buffer.alloc(FRAME_ALIGN);

/** The buffers of one frame, for a single writev (payload parts are not copied). */
export function frameParts(type: RecordType, payload: readonly Buffer[]): Buffer[] {
  const head = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  head[8] = type;
  let crc = crc32c(head.subarray(8));
  let length = 1;
  for (const part of payload) {
    crc = crc32c(part, crc);
    length += part.length;
  }
  head.writeUInt32LE(length, 0);
  head.writeUInt32LE(crc, 4);
  const pad = frameBytes(length - 1) - FRAME_HEADER_BYTES - (length - 1);
  return pad === 0 ? [head, ...payload] : [head, ...payload, PADDING.subarray(0, pad)];
}

/** msgpack of one operation; a batch payload is these back to back. */
export function encodeOp(op: WalOp): Buffer {
  if (op.kind === OpKind.Compact) return packr.pack([OpKind.Compact, op.index]);
  const entries = op.entries.map((e) => [e.index, e.term, e.type, e.data]);
  return packr.pack([OpKind.Save, op.hardState ? hardStateTuple(op.hardState) : null, entries]);
}

export function encodeSegmentHeader(h: SegmentHeader): Buffer {
  return packr.pack([h.seq, h.firstIndex, hardStateTuple(h.hardState)]);
}

function hardStateTuple(hs: HardState): [number, string, number] {
  return [hs.term, hs.vote, hs.commit];
}

// --- reading -----------------------------------------------------------------------------

/** A frame with a valid CRC whose content is not what this version writes. */
class FormatError extends Error {}

export interface Frame {
  /** A RecordType once scanSegment has checked it. */
  type: number;
  payload: Buffer;
  offset: number;
}

export interface SegmentEnd {
  /** Where the next frame goes. */
  offset: number;
  /** Set when the segment ends in a torn write; bytes [offset, dirtyEnd) must be zeroed. */
  torn?: { detail: string; dirtyEnd: number };
}

/**
 * Walks the frames of one segment (see the rule at the top of this file). `onFrame` may
 * throw via the decode functions below; those errors become CorruptionErrors at that frame.
 */
export function scanSegment(buf: Buffer, file: string, isLast: boolean, onFrame: (frame: Frame) => void): SegmentEnd {
  let offset = 0;
  for (;;) {
    const found = frameAt(buf, offset);
    if (typeof found !== 'string') {
      if (found.type !== RecordType.SegmentHeader && found.type !== RecordType.Batch) {
        throw new CorruptionError(file, offset, `unknown record type ${found.type}`);
      }
      if ((offset === 0) !== (found.type === RecordType.SegmentHeader)) {
        throw new CorruptionError(file, offset, offset === 0 ? 'segment does not start with a header' : 'unexpected segment header');
      }
      try {
        onFrame(found);
      } catch (error) {
        if (error instanceof FormatError) throw new CorruptionError(file, offset, error.message);
        throw error;
      }
      offset += frameBytes(found.payload.length);
      continue;
    }
    const dirtyEnd = endOfNonZero(buf, offset);
    if (dirtyEnd <= offset && offset > 0) return { offset };
    if (!isLast || offset === 0) throw new CorruptionError(file, offset, found);
    for (let later = offset + FRAME_ALIGN; later < dirtyEnd; later += FRAME_ALIGN) {
      if (typeof frameAt(buf, later) !== 'string') {
        throw new CorruptionError(file, offset, `${found}, yet a valid record follows at offset ${later}`);
      }
    }
    return { offset, torn: { detail: found, dirtyEnd } };
  }
}

/** The valid frame at `offset`, or why there is none. */
function frameAt(buf: Buffer, offset: number): Frame | string {
  if (offset + FRAME_HEADER_BYTES > buf.length) return 'record header cut short by end of file';
  const length = buf.readUInt32LE(offset);
  if (length === 0) return 'zero record length';
  const body = offset + FRAME_HEADER_BYTES - 1;
  if (length > buf.length - body) return `record length ${length} runs past end of file`;
  const covered = buf.subarray(body, body + length);
  if (crc32c(covered) !== buf.readUInt32LE(offset + 4)) return 'checksum mismatch';
  return { type: covered[0], payload: covered.subarray(1), offset };
}

const ZERO_CHUNK = Buffer.alloc(4096);

/** One past the last non-zero byte at or after `from` (≤ from when all zero). */
function endOfNonZero(buf: Buffer, from: number): number {
  let end = buf.length;
  while (end > from) {
    const start = Math.max(from, end - ZERO_CHUNK.length);
    if (!buf.subarray(start, end).equals(ZERO_CHUNK.subarray(0, end - start))) {
      while (buf[end - 1] === 0) end--;
      return end;
    }
    end = start;
  }
  return from;
}

export function decodeSegmentHeader(payload: Buffer): SegmentHeader {
  const v = unpack(payload);
  if (!Array.isArray(v) || v.length !== 3 || !isIndex(v[0]) || !isIndex(v[1])) throw new FormatError('malformed segment header');
  return { seq: v[0], firstIndex: v[1], hardState: decodeHardState(v[2]) };
}

export function decodeBatch(payload: Buffer): WalOp[] {
  let values: unknown[];
  try {
    values = unpackr.unpackMultiple(payload) as unknown[];
  } catch (error) {
    throw new FormatError(`undecodable batch: ${(error as Error).message}`);
  }
  return values.map(decodeOp);
}

function decodeOp(v: unknown): WalOp {
  if (!Array.isArray(v)) throw new FormatError('malformed operation');
  if (v[0] === OpKind.Compact && v.length === 2 && isIndex(v[1])) return { kind: OpKind.Compact, index: v[1] };
  if (v[0] !== OpKind.Save || v.length !== 3 || !Array.isArray(v[2])) throw new FormatError('malformed operation');
  const hardState = v[1] === null ? undefined : decodeHardState(v[1]);
  const entries = (v[2] as unknown[]).map(decodeEntry);
  for (let i = 1; i < entries.length; i++) {
    if (entries[i].index !== entries[i - 1].index + 1) throw new FormatError('entries with non-consecutive indexes');
  }
  return { kind: OpKind.Save, hardState, entries };
}

function decodeEntry(v: unknown): Entry {
  if (
    Array.isArray(v) &&
    v.length === 4 &&
    isIndex(v[0]) &&
    isIndex(v[1]) &&
    (v[2] === EntryType.Normal || v[2] === EntryType.ConfChange) &&
    v[3] instanceof Uint8Array
  ) {
    // A plain Uint8Array, like every other store hands out (not msgpackr's Buffer subclass).
    const data = new Uint8Array(v[3].buffer, v[3].byteOffset, v[3].byteLength);
    return { index: v[0], term: v[1], type: v[2], data };
  }
  throw new FormatError('malformed entry');
}

function decodeHardState(v: unknown): HardState {
  if (Array.isArray(v) && v.length === 3 && isIndex(v[0]) && typeof v[1] === 'string' && isIndex(v[2])) {
    return { term: v[0], vote: v[1], commit: v[2] };
  }
  throw new FormatError('malformed hard state');
}

function unpack(payload: Buffer): unknown {
  try {
    return unpackr.unpack(payload);
  } catch (error) {
    throw new FormatError(`undecodable record: ${(error as Error).message}`);
  }
}
