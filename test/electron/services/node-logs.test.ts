import { existsSync } from 'node:fs';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNodeLogStream, followLog, logFiles, parseLogLine, readNodeLogs, type LogQuery, type LogSource } from '../../../electron/services/node-logs.js';
import type { NodeLogLine } from '../../../electron/shared/api.js';
import { eventually, tempDir } from '../helpers.js';

// Counts the bytes read from files, whichever way they are read (whole, or through a handle), to
// show what a log read costs.
const bytesRead = vi.hoisted(() => ({ total: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs/promises')>();
  const counting = {
    ...fs,
    readFile: (async (...args: Parameters<typeof fs.readFile>) => {
      const data = await fs.readFile(...args);
      bytesRead.total += Buffer.byteLength(data);
      return data;
    }) as typeof fs.readFile,
    open: async (...args: Parameters<typeof fs.open>) => {
      const handle = await fs.open(...args);
      const read = handle.read.bind(handle) as (...a: unknown[]) => Promise<{ bytesRead: number }>;
      handle.read = (async (...a: unknown[]) => {
        const result = await read(...a);
        bytesRead.total += result.bytesRead;
        return result;
      }) as typeof handle.read;
      return handle;
    },
  };
  return { ...counting, default: counting };
});

const rotation = { maxBytes: 600, keep: 3 };

function pinoLine(i: number, level = 30): string {
  return JSON.stringify({ level, time: 1_700_000_000_000 + i, node: 'n1', msg: `message ${i}` }) + '\n';
}

async function writeLines(file: string, lines: string[]): Promise<void> {
  const stream = createNodeLogStream(file, rotation);
  for (const line of lines) await new Promise<void>((resolve, reject) => stream.write(line, (e) => (e ? reject(e) : resolve())));
  await new Promise<void>((resolve) => stream.end(resolve));
}

describe('node logs', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let file: string;

  beforeEach(async () => {
    dir = await tempDir();
    file = join(dir.path, 'logs', 'raftd.log');
    await mkdir(join(dir.path, 'logs'));
  });
  afterEach(() => dir.remove());

  it('rotates by size, keeps the configured number of files and never splits a line', async () => {
    const lines = Array.from({ length: 40 }, (_, i) => pinoLine(i));
    await writeLines(file, lines);
    expect(logFiles(file, rotation.keep)).toEqual([`${file}.3`, `${file}.2`, `${file}.1`, file]);
    expect(existsSync(`${file}.4`)).toBe(false);
    let kept = '';
    for (const f of logFiles(file, rotation.keep)) {
      const text = await readFile(f, 'utf8');
      if (text) expect(text.endsWith('\n')).toBe(true);
      kept += text;
    }
    // The newest lines survive in order; the oldest fell off with the files beyond `keep`.
    expect(lines.join('').endsWith(kept)).toBe(true);
    expect(kept.length).toBeGreaterThan(rotation.maxBytes * 2);
  });

  it('keeps every file of a node log, rotated ones too, readable by its owner only (0600): they hold stored values', async () => {
    await writeLines(file, Array.from({ length: 40 }, (_, i) => pinoLine(i)));
    const files = logFiles(file, rotation.keep);
    expect(files.length).toBeGreaterThan(1);
    for (const f of files) expect((await stat(f)).mode & 0o777).toBe(0o600);
  });

  it('keeps appending after a restart of the writer (logs survive console restarts)', async () => {
    await writeLines(file, [pinoLine(1)]);
    await writeLines(file, [pinoLine(2)]);
    const lines = await readNodeLogs([{ clusterId: 'c', nodeId: 'n1', file }], { limit: 10 }, rotation.keep);
    expect(lines.map((l) => l.msg)).toEqual(['message 1', 'message 2']);
  });

  it('reads the newest lines across rotated files, filtered by level and search', async () => {
    await writeLines(file, Array.from({ length: 30 }, (_, i) => pinoLine(i, i % 3 === 0 ? 50 : 30)));
    const newest = await readNodeLogs([{ clusterId: 'c', nodeId: 'n1', file }], { limit: 5 }, rotation.keep);
    expect(newest.map((l) => l.msg)).toEqual(['message 25', 'message 26', 'message 27', 'message 28', 'message 29']);

    const errors = await readNodeLogs([{ clusterId: 'c', nodeId: 'n1', file }], { limit: 3, levels: ['error'] }, rotation.keep);
    expect(errors.map((l) => l.msg)).toEqual(['message 21', 'message 24', 'message 27']);
    expect(errors.every((l) => l.level === 'error')).toBe(true);

    const found = await readNodeLogs([{ clusterId: 'c', nodeId: 'n1', file }], { limit: 10, search: 'MESSAGE 2' }, rotation.keep);
    expect(found.map((l) => l.msg)).toContain('message 29');
    expect(found.every((l) => l.msg.startsWith('message 2'))).toBe(true);
  });

  it('maps pino levels and keeps non-JSON lines readable', () => {
    expect(parseLogLine(pinoLine(1, 20), 'c', 'n1').level).toBe('debug');
    expect(parseLogLine(pinoLine(1, 40), 'c', 'n1').level).toBe('warn');
    expect(parseLogLine(pinoLine(1, 60), 'c', 'n1').level).toBe('error');
    expect(parseLogLine('plain text', 'c', 'n1')).toMatchObject({ level: 'info', msg: 'plain text', raw: 'plain text', time: 0 });
  });

  it('follows a file live across rotations without losing or repeating a line', async () => {
    await writeLines(file, [pinoLine(0)]);
    const seen: NodeLogLine[] = [];
    const stop = followLog({ clusterId: 'c', nodeId: 'n1', file }, rotation.keep, (line) => seen.push(line), 20);
    try {
      // The follower starts at the end: history is read, not followed.
      await eventually(() => existsSync(file), 'the log file');
      await new Promise((resolve) => setTimeout(resolve, 60));
      const stream = createNodeLogStream(file, rotation);
      for (let i = 1; i <= 12; i++) {
        await new Promise<void>((resolve) => stream.write(pinoLine(i), () => resolve()));
        // Let the follower catch up now and then, as a live node would.
        if (i % 4 === 0) await eventually(() => seen.length >= i, `line ${i}`);
      }
      await new Promise<void>((resolve) => stream.end(resolve));
      await eventually(() => seen.length >= 12, 'all lines');
      expect(seen.map((l) => l.msg)).toEqual(Array.from({ length: 12 }, (_, i) => `message ${i + 1}`));
      expect(existsSync(`${file}.1`)).toBe(true);
    } finally {
      stop();
    }
  });

  it('follows a log that does not exist yet from its first line', async () => {
    const seen: NodeLogLine[] = [];
    const stop = followLog({ clusterId: 'c', nodeId: 'n1', file }, rotation.keep, (line) => seen.push(line), 20);
    try {
      await new Promise((resolve) => setTimeout(resolve, 60));
      await writeLines(file, [pinoLine(1), pinoLine(2)]);
      await eventually(() => seen.length >= 2, 'both lines');
      expect(seen.map((l) => l.msg)).toEqual(['message 1', 'message 2']);
    } finally {
      stop();
    }
  });
});

/** What readNodeLogs returned when it read every file whole: the reference for the chunked reader. */
async function readWhole(sources: LogSource[], query: LogQuery, keep: number): Promise<NodeLogLine[]> {
  const needle = query.search?.toLowerCase();
  const matches = (line: NodeLogLine) => (!query.levels || query.levels.includes(line.level)) && (!needle || line.raw.toLowerCase().includes(needle));
  const found: NodeLogLine[] = [];
  for (const source of sources) {
    let taken = 0;
    for (const file of logFiles(source.file, keep).reverse()) {
      const lines = (await readFile(file, 'utf8')).split('\n');
      for (let i = lines.length - 1; i >= 0 && taken < query.limit; i--) {
        if (!lines[i]) continue;
        const line = parseLogLine(lines[i], source.clusterId, source.nodeId);
        if (matches(line)) {
          found.push(line);
          taken++;
        }
      }
      if (taken >= query.limit) break;
    }
  }
  return found.reverse().sort((a, b) => a.time - b.time).slice(-query.limit);
}

/** A deterministic pseudo-random sequence (mulberry32), so a failing case can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('reading node logs from the end in chunks', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  const keep = 3;

  beforeEach(async () => {
    dir = await tempDir();
  });
  afterEach(() => dir.remove());

  /** A log and its rotated files, with lines of every kind: 1-4 byte characters, long lines, equal times, stray text, blank lines. */
  async function writeRotatedLog(name: string, seed: number, linesPerFile: number): Promise<LogSource> {
    const next = random(seed);
    const words = ['apply', 'commit', 'élection', '日本語', 'snapshot', '🙂', 'Ω', 'leader', 'é'];
    const file = join(dir.path, `${name}.log`);
    let time = 1_700_000_000_000;
    for (const path of [`${file}.${keep}`, `${file}.2`, `${file}.1`, file]) {
      let text = '';
      for (let i = 0; i < linesPerFile; i++) {
        if (next() < 0.05) text += '\n';
        // Ties across files and sources, to check the order of equal times.
        if (next() < 0.7) time += 1;
        const length = next() < 0.05 ? 150 + Math.floor(next() * 100) : 1 + Math.floor(next() * 12);
        const msg = Array.from({ length }, () => words[Math.floor(next() * words.length)]).join(' ');
        const level = [20, 30, 30, 40, 50, 60][Math.floor(next() * 6)];
        text += next() < 0.05 ? `stray print ${msg}\n` : JSON.stringify({ level, time, node: name, msg }) + '\n';
      }
      // The current file may end in a line still being written.
      if (path === file) text += JSON.stringify({ level: 30, time, msg: 'half wri' }).slice(0, 30);
      await writeFile(path, text);
    }
    return { clusterId: 'c', nodeId: name, file };
  }

  it('returns exactly what reading the files whole returns, for any chunk size', async () => {
    const sources = [await writeRotatedLog('n1', 1, 40), await writeRotatedLog('n2', 2, 40)];
    // Tiny chunks mean a read every few bytes: they get a shorter log.
    const short = [await writeRotatedLog('s1', 3, 8), await writeRotatedLog('s2', 4, 8)];
    const queries: LogQuery[] = [
      { limit: 1 },
      { limit: 7 },
      { limit: 10_000 },
      { limit: 25, levels: ['error'] },
      { limit: 40, levels: ['warn', 'debug'] },
      { limit: 30, search: '日本語 🙂' },
      { limit: 1000, search: 'ÉLECTION' },
      { limit: 5, search: 'stray' },
      { limit: 50, search: 'no line has this' },
    ];
    // 3 bytes cuts most multi-byte characters somewhere; 1000 is shorter than the long lines.
    for (const [chunkBytes, log] of [[3, short], [7, short], [64, sources], [1000, sources], [64 * 1024, sources]] as const) {
      for (const query of queries) {
        for (const of of [log, log.slice(0, 1)]) {
          const expected = await readWhole(of, query, keep);
          expect(await readNodeLogs(of, query, keep, chunkBytes), `${JSON.stringify(query)} in chunks of ${chunkBytes}`).toEqual(expected);
        }
      }
    }
    // The cases above do occur in the data.
    const all = await readWhole(sources, { limit: 10_000 }, keep);
    expect(all.some((l) => Buffer.byteLength(l.raw) > 1000)).toBe(true);
    expect(all.some((l) => l.msg.includes('🙂'))).toBe(true);
    expect(new Set(all.map((l) => l.time)).size).toBeLessThan(all.length);
  });

  it('keeps a line longer than the chunk, and a character cut by a chunk boundary, intact', async () => {
    const file = join(dir.path, 'raftd.log');
    const long = JSON.stringify({ level: 30, time: 1, msg: 'x'.repeat(2000) }) + '\n';
    const tail = JSON.stringify({ level: 30, time: 2, msg: '🙂é' }) + '\n';
    await writeFile(file, long + tail);
    const source = { clusterId: 'c', nodeId: 'n1', file };
    // Chunk sizes that put a boundary inside each byte of the 4-byte emoji and the 2-byte é.
    const emojiAt = Buffer.byteLength(long + tail) - Buffer.byteLength(tail) + Buffer.byteLength(tail.slice(0, tail.indexOf('🙂')));
    for (let cut = 1; cut <= 5; cut++) {
      const chunkBytes = Buffer.byteLength(long + tail) - emojiAt - cut;
      const lines = await readNodeLogs([source], { limit: 2 }, keep, chunkBytes);
      expect(lines.map((l) => l.msg)).toEqual(['x'.repeat(2000), '🙂é']);
    }
  });

  it('reads only as far back as the newest matching lines need, not the whole of a large log', async () => {
    const file = join(dir.path, 'raftd.log');
    let time = 1_700_000_000_000;
    const lines = (n: number) => Array.from({ length: n }, (_, i) => pinoLine(time++ - 1_700_000_000_000, i % 100 === 99 ? 50 : 30)).join('');
    for (const path of [`${file}.2`, `${file}.1`, file]) await writeFile(path, lines(20_000));
    let logBytes = 0;
    for (const path of logFiles(file, keep)) logBytes += (await stat(path)).size;
    expect(logBytes).toBeGreaterThan(3_000_000);
    const source = { clusterId: 'c', nodeId: 'n1', file };

    bytesRead.total = 0;
    const newest = await readNodeLogs([source], { limit: 10 }, keep, 4096);
    expect(bytesRead.total).toBe(4096);
    // One error line in a hundred: 5 of them are about 500 lines (~40 KiB) back.
    bytesRead.total = 0;
    const errors = await readNodeLogs([source], { limit: 5, levels: ['error'] }, keep, 4096);
    expect(bytesRead.total).toBeLessThan(64 * 1024);

    expect(newest).toEqual(await readWhole([source], { limit: 10 }, keep));
    expect(errors).toEqual(await readWhole([source], { limit: 5, levels: ['error'] }, keep));
    expect(errors).toHaveLength(5);
  });
});
