// npm run bench:remote
// Remote clusters on the lab's hosts (real sshd in network namespaces, test/remote/lab.ts): time from
// "create" to "leader elected" for 3 nodes on 3 hosts with a first deploy (fresh homes) and a second
// (a new console: everything found in place), bytes uploaded each time, the time of a deploy that
// finds everything in place, the runtime upload to the host without Node, and the console's memory
// with 3 remote clusters open. Prints numbers; asserts nothing. Needs root (builds the lab, like
// `npm test`'s lab runner, holding the same lock); the measuring half runs inside rc-op.
import { spawn, spawnSync } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { buildLab, labUnavailableReason, LAB_FILE_ENV, OP_NAMESPACE, teardownLab } from '../../test/remote/lab.js';

const LOCK = '/tmp/rc-lab.lock';
const LOCK_HELD_ENV = 'RC_LAB_LOCK_HELD';
const LAB_FILE = '/tmp/rc-lab-bench.json';

/** Root namespace: take the lab lock, build the lab, run the measuring half inside rc-op, tear down. */
async function main(): Promise<number> {
  const reason = labUnavailableReason();
  if (reason) {
    console.log(`bench:remote skipped: ${reason}`);
    return 0;
  }
  const self = fileURLToPath(import.meta.url);
  if (!process.env[LOCK_HELD_ENV]) {
    const result = spawnSync('flock', ['-w', '1800', LOCK, process.execPath, ...process.execArgv, self], { stdio: 'inherit', env: { ...process.env, [LOCK_HELD_ENV]: '1' } });
    return result.status ?? 1;
  }
  const measuring = await bundleMeasuringHalf();
  try {
    await buildLab(LAB_FILE);
    return await new Promise<number>((resolve) => {
      const child = spawn('ip', ['netns', 'exec', OP_NAMESPACE, process.execPath, '--expose-gc', measuring], { stdio: 'inherit', env: { ...process.env, [LAB_FILE_ENV]: LAB_FILE } });
      child.on('exit', (code) => resolve(code ?? 1));
      child.on('error', () => resolve(1));
    });
  } finally {
    for (const problem of await teardownLab()) console.error(`lab teardown: ${problem}`);
  }
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** remote-bench-lab.ts with its packages inside, except those with native parts (ssh2 falls back to JavaScript; the others load from node_modules) and esbuild itself. */
async function bundleMeasuringHalf(): Promise<string> {
  const { build } = await import('esbuild');
  const outfile = join(root, 'out', 'bench', 'remote-bench-lab.mjs');
  await mkdir(join(root, 'out', 'bench'), { recursive: true });
  const external: Plugin = {
    name: 'external-native',
    setup(b) {
      b.onResolve({ filter: /\.node$|^cpu-features$|^esbuild$|^@node-rs\/|^msgpackr-extract/ }, ({ path }) => ({ path, external: true }));
    },
  };
  await build({
    stdin: { contents: "import { measure } from './core/bench/remote-bench-lab.ts';\nawait measure();\nprocess.exit(0);\n", resolveDir: root, loader: 'ts' },
    absWorkingDir: root,
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // CommonJS packages inside an ES module: require() for Node's built-ins, __dirname for their own files.
    banner: {
      js: [
        "import { createRequire as __bundleRequire } from 'node:module';",
        "import { fileURLToPath as __bundleFileURLToPath } from 'node:url';",
        'const require = __bundleRequire(import.meta.url);',
        'const __filename = __bundleFileURLToPath(import.meta.url);',
        "const __dirname = __filename.slice(0, __filename.lastIndexOf('/'));",
      ].join(' '),
    },
    plugins: [external],
    logLevel: 'error',
  });
  return outfile;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
