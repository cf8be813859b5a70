// Runs a core/server entry point from a bundle (out/<name>/<name>.mjs), rebuilt with esbuild when
// it is missing or older than one of its sources (~50 ms), so `npx raftd` works right after
// install. A plain import of bundled JavaScript avoids tsx, whose loader runs in a second V8
// isolate: about 30 MB more per raftd. Concurrent starts each build to a private temporary file
// and rename it into place, so nobody imports half a bundle.
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** URL of an up-to-date bundle of core/server/<name>.ts. */
export async function bundled(name) {
  const outDir = join(root, 'out', name);
  const outFile = join(outDir, `${name}.mjs`);
  const manifestFile = join(outDir, 'inputs.json');
  if (!(await isStale(outFile, manifestFile))) return pathToFileURL(outFile).href;

  const { build } = await import('esbuild');
  const builtAt = Date.now();
  const result = await build({
    entryPoints: [join(root, 'core/server', `${name}.ts`)],
    absWorkingDir: root,
    outfile: outFile,
    bundle: true,
    // Packages stay ordinary imports (resolved at run time; pino's worker files keep working),
    // except zod: bundled, only the parts of zod/mini in use are loaded (see core/validation.ts).
    plugins: [externalPackagesButZod],
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    logLevel: 'error',
  });
  await mkdir(outDir, { recursive: true });
  const tmp = `.${process.pid}.tmp`;
  await writeFile(outFile + tmp, result.outputFiles[0].contents);
  await writeFile(manifestFile + tmp, JSON.stringify({ builtAt, inputs: Object.keys(result.metafile.inputs) }));
  // The bundle first: a manifest never vouches for an older bundle.
  await rename(outFile + tmp, outFile);
  await rename(manifestFile + tmp, manifestFile);
  return pathToFileURL(outFile).href;
}

const externalPackagesButZod = {
  name: 'external-packages-but-zod',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, ({ path }) => (path === 'zod' || path.startsWith('zod/') ? undefined : { path, external: true }));
  },
};

async function isStale(outFile, manifestFile) {
  try {
    const { builtAt, inputs } = JSON.parse(await readFile(manifestFile, 'utf8'));
    await stat(outFile);
    const times = await Promise.all(inputs.map(async (input) => (await stat(resolve(root, input))).mtimeMs));
    return times.some((mtime) => mtime >= builtAt);
  } catch {
    return true; // no bundle yet, or a source was removed
  }
}
