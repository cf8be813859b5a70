// Runs the lab tests (test/remote/**/*.lab.test.ts): builds the lab, runs vitest inside rc-op, and
// always tears the lab down (on failure and on SIGINT/SIGTERM too). Not root or no `ip netns`: prints
// one line saying why and exits 0. One lab at a time on a machine: the runner holds /tmp/rc-lab.lock.
//
//   npx tsx test/remote/lab-runner.ts [vitest args, e.g. a file filter]
//   npx tsx test/remote/lab-runner.ts --up     build the lab and leave it up (prints RC_LAB_FILE)
//   npx tsx test/remote/lab-runner.ts --down   tear it down
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildLab, labUnavailableReason, LAB_FILE_ENV, OP_NAMESPACE, teardownLab } from './lab.js';

const LOCK = '/tmp/rc-lab.lock';
const LOCK_HELD_ENV = 'RC_LAB_LOCK_HELD';
const LAB_FILE = '/tmp/rc-lab.json';

async function main(): Promise<number> {
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`remote lab tests skipped: ${reason}`);
    return 0;
  }
  if (!process.env[LOCK_HELD_ENV]) {
    // Re-run this script under flock(1): a second runner waits instead of tearing down a lab in use.
    const self = fileURLToPath(import.meta.url);
    const result = spawnSync('flock', ['-w', '1800', LOCK, process.execPath, ...process.execArgv, self, ...process.argv.slice(2)], {
      stdio: 'inherit',
      env: { ...process.env, [LOCK_HELD_ENV]: '1' },
    });
    return result.status ?? 1;
  }

  const args = process.argv.slice(2);
  if (args[0] === '--down') {
    report(await teardownLab());
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
    child?.kill(signal);
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
        env: { ...process.env, [LAB_FILE_ENV]: LAB_FILE },
      });
      child.on('exit', (status, signal) => resolve(status ?? (signal ? 128 : 1)));
      child.on('error', () => resolve(1));
    });
    return interrupted ? 130 : code;
  } finally {
    report(await teardownLab());
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
