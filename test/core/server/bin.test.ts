// The raftd bin runs a bundle of the sources, rebuilt only when a source is newer than it.
import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { readFile, stat, utimes } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { RAFTD_BIN } from './raftd-harness.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../../', import.meta.url));
const manifest = async () => JSON.parse(await readFile(`${root}out/raftd/inputs.json`, 'utf8')) as { builtAt: number; inputs: string[] };

describe('raftd bin', () => {
  it('bundles the sources once and rebuilds when one of them changes', async () => {
    await run(process.execPath, [RAFTD_BIN, '--help']);
    const first = await manifest();
    expect(first.inputs).toEqual(expect.arrayContaining(['core/server/raftd.ts', 'core/node/raft-node.ts', 'core/raft/raft.ts']));

    await run(process.execPath, [RAFTD_BIN, '--help']);
    expect((await manifest()).builtAt).toBe(first.builtAt);

    // Same content, newer time: as after an edit or a checkout.
    const source = `${root}core/kv/kv-store.ts`;
    const { atime } = await stat(source);
    await utimes(source, atime, new Date());
    const { stdout } = await run(process.execPath, [RAFTD_BIN, '--help']);
    expect(stdout).toContain('raftd: a Raft node');
    expect((await manifest()).builtAt).toBeGreaterThan(first.builtAt);
  });
});
