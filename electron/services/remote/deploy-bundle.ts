// The file deployed to remote hosts: raftd, its keeper and its starter (deploy-entry.ts) bundled by
// esbuild into ONE self-contained ES module, with every package inside (nothing to install remotely).
// Native addons cannot travel in one file: @node-rs/crc32 is replaced by deploy-crc32c.ts (same
// values), and msgpackr runs without its optional native extension (msgpackr-extract), as it does
// wherever that is missing. Named by its SHA-256, so a host that has it is never sent it again.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Plugin } from 'esbuild';
import { projectRoot } from '../paths.js';

export interface RaftdBundle {
  /** The bundle on this machine. */
  file: string;
  sha256: string;
  bytes: number;
}

/** File name of the bundle, locally and on every host. */
export const BUNDLE_NAME = 'raftd-remote.mjs';

const withoutNativeAddons: Plugin = {
  name: 'without-native-addons',
  setup(build) {
    const crc = join(projectRoot(), 'electron/services/remote/deploy-crc32c.ts');
    build.onResolve({ filter: /^@node-rs\/crc32$/ }, () => ({ path: crc }));
    // msgpackr loads it through require() in a try/catch and falls back to plain JavaScript.
    build.onResolve({ filter: /^msgpackr-extract$/ }, () => ({ path: 'msgpackr-extract', external: true }));
  },
};

let building: Promise<RaftdBundle> | null = null;

/** Builds the bundle once per process (~1 s), into out/remote/. */
export function raftdBundle(): Promise<RaftdBundle> {
  building ??= buildRaftdBundle().catch((error: unknown) => {
    building = null;
    throw error;
  });
  return building;
}

async function buildRaftdBundle(): Promise<RaftdBundle> {
  const root = projectRoot();
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [join(root, 'electron/services/remote/deploy-entry.ts')],
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    minifyWhitespace: true,
    legalComments: 'none',
    // CommonJS packages inside an ES module still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
    plugins: [withoutNativeAddons],
    logLevel: 'error',
  });
  const contents = result.outputFiles[0].contents;
  const sha256 = createHash('sha256').update(contents).digest('hex');
  const outDir = join(root, 'out', 'remote');
  const file = join(outDir, BUNDLE_NAME);
  await mkdir(outDir, { recursive: true });
  const existing = await readFile(file).catch(() => null);
  if (!existing || createHash('sha256').update(existing).digest('hex') !== sha256) {
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, contents);
    await rename(tmp, file);
  }
  return { file, sha256, bytes: contents.length };
}
