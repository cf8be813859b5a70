// raftctl against a real one-node raftd: output and exit codes as a shell user sees them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { main } from '../../../core/server/raftctl.js';
import { RAFTD_BIN, TestCluster } from './raftd-harness.js';

let cluster: TestCluster;
let endpoint: string;

async function ctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(['--endpoints', endpoint, ...args], (l) => (out += l + '\n'), (l) => (err += l + '\n'));
  return { code, out, err };
}

beforeAll(async () => {
  cluster = await TestCluster.create(1);
  cluster.startAll();
  endpoint = (await cluster.waitForLeader()).spec.client;
});
afterAll(() => cluster.destroy());

describe('raftctl', () => {
  it('puts, gets, swaps and deletes with meaningful exit codes', async () => {
    expect((await ctl('put', 'color', 'blue')).out).toMatch(/^OK index \d+ term \d+/);
    expect((await ctl('get', 'color')).out).toBe('blue\n');
    expect((await ctl('cas', 'color', 'blue', 'green')).out).toMatch(/swapped/);
    const failed = await ctl('cas', 'color', 'blue', 'red');
    expect(failed.code).toBe(3);
    expect((await ctl('cas', 'shape', '--absent', 'round')).code).toBe(0);
    expect((await ctl('del', 'color')).out).toMatch(/deleted/);
    const missing = await ctl('get', 'color');
    expect(missing.code).toBe(3);
    expect(missing.err).toMatch(/not found/);
  });

  it('shows status and members, and says what is wrong with bad usage', async () => {
    const status = await ctl('status');
    expect(status.out).toMatch(/n1\s+leader\s+term \d+/);
    expect((await ctl('members', 'list')).out).toMatch(/n1\s+voter/);
    expect((await ctl('snapshot')).out).toMatch(/snapshot at index \d+/);
    const usage = await ctl('put', 'only-key');
    expect(usage.code).toBe(2);
    expect(usage.err).toMatch(/usage: raftctl put KEY VALUE/);
    expect((await ctl('frobnicate')).code).toBe(2);
    const down = await main(['--endpoints', '127.0.0.1:1', 'get', 'x'], () => {}, () => {});
    expect(down).toBe(1);
  });

  it('raftd --help documents every flag and bad flags exit 2 with a reason', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, [RAFTD_BIN, '--help']);
    for (const flag of ['--id', '--data-dir', '--peer', '--client', '--cluster', '--token', '--heartbeat-ms', '--election-ms', '--join', '--force-new-cluster']) expect(stdout).toContain(flag);
    const bad = await run(process.execPath, [RAFTD_BIN, '--id', 'n1', '--data-dir', '/tmp/x', '--peer', 'nope', '--client', '127.0.0.1:1', '--cluster', 'n1=127.0.0.1:1/127.0.0.1:2']).catch((e) => e);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--peer/);
  });
});
