// The one program deployed to a remote host (bundled whole by deploy-bundle.ts, run by the host's Node):
//   raftd-remote.mjs raftd ARGS…      raftd itself
//   raftd-remote.mjs runner           the node's keeper (node-runner.ts), spec over its IPC channel
//   raftd-remote.mjs start SPEC.json  starts a node: checks its ports, starts the keeper detached,
//                                      waits until raftd listens (or ended), prints one StartReport line
//   raftd-remote.mjs ports N HOST…     N free TCP ports listenable on every HOST, one per line
// Modules are imported per mode, so raftd loads only what raftd needs.
import type { RunnerSpec } from '../runner-protocol.js';

/** What `start` is given: the keeper's spec plus what to check before and after. */
export interface RemoteStartSpec extends RunnerSpec {
  /** host:port raftd listens on for peers, and for its HTTP API (loopback). */
  peer: string;
  client: string;
  /** Where `start` also leaves its report, for a console whose link dropped while it waited. */
  reportFile: string;
  /** stderr of the keeper, for when it dies before reporting. */
  errorFile: string;
  /** How long raftd may take to listen on its client port. */
  readyTimeoutMs: number;
}

export type StartReport =
  | { ok: true; pid: number; started: string | null; listening: boolean }
  | { ok: false; error: string; reason: 'port-in-use' | 'in-use' | 'disk-full' | 'exited' | 'failed'; logTail?: string[] };

const mode = process.argv[2];
if (mode === 'raftd') {
  const { main } = await import('../../../core/server/raftd.js');
  await main(process.argv.slice(3));
} else if (mode === 'runner') {
  await import('../node-runner.js');
} else if (mode === 'start') {
  const { startNode } = await import('./deploy-entry-start.js');
  const report = await startNode(process.argv[3] ?? '');
  process.stdout.write(JSON.stringify(report) + '\n', () => process.exit(report.ok ? 0 : 1));
} else if (mode === 'ports') {
  const { freePorts } = await import('./deploy-entry-start.js');
  const ports = await freePorts(Number(process.argv[3]), process.argv.slice(4));
  process.stdout.write(ports.join('\n') + '\n');
} else if (mode === 'version') {
  process.stdout.write(`${process.version} ${process.platform} ${process.arch}\n`);
} else {
  process.stderr.write('usage: raftd-remote.mjs raftd ARGS… | runner | start SPEC.json | ports N HOST… | version\n');
  process.exit(2);
}
