// `npm start`: the Electron console (built and run by electron-vite). Where the Electron runtime is
// absent (its download skipped or impossible), say so in one line and run web mode instead.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { projectRoot } from './services/paths.js';

function electronRuntime(): string | null {
  try {
    // The electron package exports its binary's path, and throws when the binary was never downloaded.
    const binary = createRequire(import.meta.url)('electron') as unknown;
    return typeof binary === 'string' && existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const root = projectRoot();
const electronVite = join(root, 'node_modules/.bin/electron-vite');

if (electronRuntime()) {
  const child = spawn(electronVite, ['preview'], { cwd: root, stdio: 'inherit' });
  child.on('exit', (code) => process.exit(code ?? 0));
} else {
  console.log('Electron runtime not found on this machine (its download was skipped or failed): starting web mode instead.');
  const build = spawnSync(electronVite, ['build', '--logLevel', 'warn'], { cwd: root, stdio: 'inherit' });
  if (build.status !== 0) process.exit(build.status ?? 1);
  await import('./web/cli.js');
}
