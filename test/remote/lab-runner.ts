// Runs the lab tests (test/remote/**/*.lab.test.ts): builds the lab, runs vitest inside rc-op, and
// always tears the lab down (on failure and on SIGINT/SIGTERM too). Not root or no `ip netns`: prints
// one line saying why and exits 0. One lab at a time on a machine: the runner holds flock(/tmp/rc-lab.lock).
//
//   npx tsx test/remote/lab-runner.ts [vitest args, e.g. a file filter]
//   npx tsx test/remote/lab-runner.ts --up     build the lab and leave it up (prints RC_LAB_FILE)
//   npx tsx test/remote/lab-runner.ts --down   tear it down
import { spawn, spawnSync } from 'node:child_process';
import { openSync, rmSync } from 'node:fs';
import { buildLab, labUnavailableReason, LAB_FILE_ENV, OP_NAMESPACE, teardownLab } from './lab.js';

const LOCK = '/tmp/rc-lab.lock';
const LAB_FILE = '/tmp/rc-lab.json';

async function main(): Promise<number> {
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`remote lab tests skipped: ${reason}`);
    return 0;
  }
  // flock(1) on a descriptor this process keeps open: the lock is ours until we exit, and a second
  // runner waits instead of tearing down a lab in use. Signals still reach this process directly.
  const lockFd = openSync(LOCK, 'a', 0o600);
  const locked = spawnSync('flock', ['-w', '1800', '3'], { stdio: ['ignore', 'inherit', 'inherit', lockFd] });
  if (locked.status !== 0) {
    console.error(`remote lab: could not take ${LOCK} within 30 minutes (another lab run holds it)`);
    return 1;
  }

  const args = process.argv.slice(2);
  if (args[0] === '--down') {
    report(await teardownLab());
    rmSync(LAB_FILE, { force: true });
    return 0;
  }
  if (args[0] === '--up') {
    await buildLab(LAB_FILE);
    console.log(`lab is up: ${LAB_FILE_ENV}=${LAB_FILE} ip netns exec ${OP_NAMESPACE} npx vitest run --config test/remote/vitest.config.ts`);
    return 0;
  }

  let child: ReturnType<typeof spawn> | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    // vitest runs in its own process group (detached): end the whole group, workers included.
    if (child?.pid) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    }
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    const started = Date.now();
    await buildLab(LAB_FILE);
    console.log(`remote lab built in ${Date.now() - started} ms: 4 hosts with sshd in network namespaces`);
    if (interrupted) return 130;
    const code = await new Promise<number>((resolve) => {
      child = spawn('ip', ['netns', 'exec', OP_NAMESPACE, 'npx', 'vitest', 'run', '--config', 'test/remote/vitest.config.ts', '--passWithNoTests', ...args], {
        stdio: 'inherit',
        detached: true,
        env: { ...process.env, [LAB_FILE_ENV]: LAB_FILE },
      });
      child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
      child.on('error', () => resolve(1));
    });
    return interrupted ? 130 : code;
  } finally {
    report(await teardownLab());
    rmSync(LAB_FILE, { force: true });
  }
}

function report(problems: string[]): void {
  for (const problem of problems) console.error(`lab teardown: ${problem}`);
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    console.error(error);
    report(await teardownLab().catch(() => ['teardown failed']));
    process.exit(1);
  },
);
