// Node log files: raftd's pino JSON lines, written by the node runner through a size-rotating
// stream (raftd.log, raftd.log.1 … raftd.log.N, newest first), read back for search and followed live.
import { existsSync } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createStream, type RotatingFileStream } from 'rotating-file-stream';
import type { NodeLogLine } from '../shared/api.js';

export interface LogRotation {
  /** Rotate once the current file reaches this size. */
  maxBytes: number;
  /** Rotated files kept besides the current one. */
  keep: number;
}

export const defaultLogRotation: LogRotation = { maxBytes: 10 * 1024 * 1024, keep: 5 };

export function createNodeLogStream(file: string, rotation: LogRotation): RotatingFileStream {
  // Owner-only: a node's log holds the values it was asked to store.
  return createStream(basename(file), { path: dirname(file) + '/', size: `${rotation.maxBytes}B`, rotate: rotation.keep, mode: 0o600 });
}

/** The log's files that exist, oldest first. */
export function logFiles(file: string, keep: number): string[] {
  const rotated = Array.from({ length: keep }, (_, i) => `${file}.${keep - i}`);
  return [...rotated, file].filter((f) => existsSync(f));
}

const levelNames: ReadonlyArray<NodeLogLine['level']> = ['debug', 'info', 'warn', 'error'];

/** pino's numeric levels (10 trace … 60 fatal) or names, folded into the four the console shows. */
function levelOf(level: unknown): NodeLogLine['level'] {
  if (typeof level === 'number') return level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
  if (level === 'fatal') return 'error';
  if (level === 'trace') return 'debug';
  return levelNames.find((name) => name === level) ?? 'info';
}

export function parseLogLine(raw: string, clusterId: string, nodeId: string): NodeLogLine {
  let record: { level?: unknown; time?: unknown; msg?: unknown } = {};
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (parsed && typeof parsed === 'object') record = parsed as typeof record;
  } catch {
    // Not pino output (a stray print): keep the text as an info line.
  }
  const level = levelOf(record.level);
  const time = typeof record.time === 'number' ? record.time : typeof record.time === 'string' ? Date.parse(record.time) || 0 : 0;
  const msg = typeof record.msg === 'string' ? record.msg : raw;
  return { clusterId, nodeId, time, level, msg, raw };
}

export interface LogSource {
  clusterId: string;
  nodeId: string;
  file: string;
}

export interface LogQuery {
  search?: string;
  levels?: NodeLogLine['level'][];
  limit: number;
}

/** How much of a log file readNodeLogs reads at a time, from the end. */
export const logReadChunkBytes = 64 * 1024;

/**
 * The newest `limit` matching lines across the sources, oldest first. Each source's files are read
 * backwards in chunks, only until `limit` of its lines match: a node's log can be `keep` + 1 files
 * of maxBytes (60 MiB by default) while the newest lines are usually in its last few KiB.
 */
export async function readNodeLogs(sources: LogSource[], query: LogQuery, keep: number, chunkBytes = logReadChunkBytes): Promise<NodeLogLine[]> {
  const needle = query.search?.toLowerCase();
  const matches = (line: NodeLogLine) =>
    (!query.levels || query.levels.includes(line.level)) && (!needle || line.raw.toLowerCase().includes(needle));
  const found: NodeLogLine[] = [];
  for (const source of sources) {
    const files = logFiles(source.file, keep).reverse();
    let taken = 0;
    for (const file of files) {
      if (taken >= query.limit) break;
      for await (const batch of linesFromEnd(file, chunkBytes)) {
        for (let i = 0; i < batch.length && taken < query.limit; i++) {
          const line = parseLogLine(batch[i], source.clusterId, source.nodeId);
          if (!matches(line)) continue;
          found.push(line);
          taken++;
        }
        if (taken >= query.limit) break;
      }
    }
  }
  // Stable sort keeps each file's order for lines with equal times.
  return found.reverse().sort((a, b) => a.time - b.time).slice(-query.limit);
}

/** The newest `limit` lines of several nodes' lists (each oldest first), oldest first; lines of equal time keep their list's order. */
export function newestAcross(lists: NodeLogLine[][], limit: number): NodeLogLine[] {
  return lists.flat().sort((a, b) => a.time - b.time).slice(-limit);
}

/**
 * The file's non-empty lines, newest first, read backwards `chunkBytes` at a time and given a chunk's
 * worth at a time. Only whole lines are decoded (text cut at '\n' bytes), so a multi-byte character
 * split by a chunk boundary stays intact.
 */
async function* linesFromEnd(file: string, chunkBytes: number): AsyncGenerator<string[]> {
  const handle = await open(file, 'r');
  try {
    let position = (await handle.stat()).size;
    // The bytes after the last chunk's first '\n', up to the lines already given, in file order:
    // kept as pieces so that a line many chunks long is copied once.
    let pending: Buffer[] = [];
    while (position > 0) {
      const length = Math.min(chunkBytes, position);
      position -= length;
      const chunk = await readAt(handle, position, length);
      const newline = chunk.indexOf(0x0a);
      if (newline < 0) {
        pending.unshift(chunk);
        continue;
      }
      // From just after this '\n' to the end of pending: whole lines, decoded at once.
      const lines = Buffer.concat([chunk.subarray(newline + 1), ...pending]).toString('utf8').split('\n');
      pending = [chunk.subarray(0, newline)];
      yield lines.filter((line) => line).reverse();
    }
    const first = Buffer.concat(pending).toString('utf8');
    if (first) yield [first];
  } finally {
    await handle.close();
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) return buffer.subarray(0, filled); // the file shrank under us: never done by the writer
    filled += bytesRead;
  }
  return buffer;
}

/**
 * Follows a log file from its current end, across rotations: when the current file is a new one,
 * the rest of the file we were reading (now .1, or further if it rotated again) and any files
 * rotated after it are read first. Polls, since the writer is another process.
 */
export function followLog(source: LogSource, keep: number, onLine: (line: NodeLogLine) => void, intervalMs = 250): () => void {
  let inode = -1;
  let offset = -1;
  let partial = '';
  let stopped = false;
  let busy = false;

  const readRest = async (file: string) => {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      if (size <= offset) return;
      const buffer = Buffer.alloc(size - offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const lines = (partial + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      for (const raw of lines) if (raw && !stopped) onLine(parseLogLine(raw, source.clusterId, source.nodeId));
    } finally {
      await handle.close();
    }
  };

  const poll = async () => {
    const info = await stat(source.file).catch(() => null);
    if (offset < 0) {
      // First look: start at the end (history is what readNodeLogs is for); a file still to be
      // created will be read from its start.
      inode = info?.ino ?? -1;
      offset = info?.size ?? 0;
      return;
    }
    if (!info) return;
    if (info.ino !== inode) {
      const rotated = [];
      for (let i = 1; i <= keep; i++) rotated.push({ file: `${source.file}.${i}`, ino: (await stat(`${source.file}.${i}`).catch(() => null))?.ino });
      const at = rotated.findIndex((r) => r.ino === inode);
      // Finish where we were, then every file rotated since, oldest first; what fell off the end is gone.
      for (let i = at < 0 ? -1 : at; i >= 0; i--) {
        if (i !== at) {
          offset = 0;
          partial = '';
        }
        await readRest(rotated[i].file).catch(() => undefined);
      }
      inode = info.ino;
      offset = 0;
      partial = '';
    }
    await readRest(source.file);
  };

  const tick = () => {
    if (busy || stopped) return;
    busy = true;
    void poll()
      .catch(() => undefined)
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
