// The lab tests: real sshd on network-namespace hosts. Run through test/remote/lab-runner.ts, which
// builds the lab and runs this config inside the rc-op namespace.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/remote/**/*.lab.test.ts'],
    setupFiles: ['test/remote/lab-setup.ts'],
    // Files share the lab's hosts (and some cut links or change host keys): one file at a time.
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
