// Replays a WAL directory into a LogState. Read-only: repairing a torn tail is the writer's job.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Entry, HardState } from '../raft/types.js';
import { LogState } from './log-state.js';
import { CorruptionError } from './types.js';
import { decodeBatch, decodeSegmentHeader, OpKind, parseSegmentName, RecordType, scanSegment } from './wal-format.js';

export interface TornTail {
  file: string;
  offset: number;
  detail: string;
}

export interface SegmentFile {
  seq: number;
  firstIndex: number;
  path: string;
}

export interface WalReplay {
  state: LogState;
  /** Oldest first. */
  segments: SegmentFile[];
  /** Where the next frame goes in the newest segment, and that file's size. */
  end: number;
  size: number;
  /** A torn tail at `end`: bytes [end, dirtyEnd) of the newest segment are not log. */
  torn?: TornTail & { dirtyEnd: number };
}

async function listSegments(dir: string): Promise<SegmentFile[]> {
  const segments: SegmentFile[] = [];
  for (const name of await readdir(dir)) {
    const parsed = parseSegmentName(name);
    if (parsed) segments.push({ ...parsed, path: join(dir, name) });
  }
  return segments.sort((a, b) => a.seq - b.seq);
}

export async function replayWal(dir: string): Promise<WalReplay> {
  const segments = await listSegments(dir);
  const state = new LogState();
  let compactedTo = 0;
  let end = 0;
  let size = 0;
  let torn: WalReplay['torn'];
  for (const [i, segment] of segments.entries()) {
    if (i > 0 && segment.seq !== segments[i - 1].seq + 1) {
      throw new CorruptionError(segment.path, 0, `segment ${segments[i - 1].seq + 1} is missing`);
    }
    const buf = await readFile(segment.path);
    const isLast = i === segments.length - 1;
    const scanned = scanSegment(buf, segment.path, isLast, (frame) => {
      if (frame.type === RecordType.SegmentHeader) {
        const header = decodeSegmentHeader(frame.payload);
        if (header.seq !== segment.seq || header.firstIndex !== segment.firstIndex) {
          throw new CorruptionError(segment.path, frame.offset, `header is for segment ${header.seq} from index ${header.firstIndex}`);
        }
        state.hardState = header.hardState;
        return;
      }
      for (const op of decodeBatch(frame.payload)) {
        if (op.kind === OpKind.Compact) {
          state.compact(op.index);
          compactedTo = Math.max(compactedTo, op.index);
        } else {
          if (op.hardState) state.hardState = op.hardState;
          state.append(op.entries);
        }
      }
    });
    if (isLast) {
      end = scanned.offset;
      size = buf.length;
      if (scanned.torn) torn = { file: segment.path, offset: scanned.offset, ...scanned.torn };
    }
  }
  // Older segments are deleted only after a compaction covering them was made durable.
  const oldest = segments[0];
  if (oldest && oldest.firstIndex - 1 > compactedTo) {
    throw new CorruptionError(oldest.path, 0, `entries below index ${oldest.firstIndex} are missing and no compaction covers them`);
  }
  return { state, segments, end, size, torn };
}

/** What a WAL directory holds, without modifying it (for inspection tools and tests). */
export async function readWal(dir: string): Promise<{ hardState: HardState; entries: Entry[]; tornTail?: TornTail }> {
  const { state, torn } = await replayWal(dir);
  const contents = state.take();
  if (!torn) return contents;
  const { file, offset, detail } = torn;
  return { ...contents, tornTail: { file, offset, detail } };
}
