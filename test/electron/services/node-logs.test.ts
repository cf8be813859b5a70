import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNodeLogStream, followLog, logFiles, parseLogLine, readNodeLogs } from '../../../electron/services/node-logs.js';
import type { NodeLogLine } from '../../../electron/shared/api.js';
import { eventually, tempDir } from '../helpers.js';

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
