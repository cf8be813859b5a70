import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('..', import.meta.url)),
  // Renderer component tests import .vue files.
  plugins: [vue()],
  test: {
    include: ['test/**/*.test.ts'],
    // Lab tests need the network-namespace lab: `npm test` runs them after these, via test/remote/lab-runner.ts.
    exclude: [...configDefaults.exclude, 'test/remote/**/*.lab.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
