import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Integration tests bring up namespaces, sshd and Nix builds: generous, but bounded.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/support/no-skips-reporter.ts'],
    env: {
      // The terminals and bots the tests start run the TypeScript sources: Node's compile cache keeps each
      // file as compiled, so that hundreds of them do not compile the same files again (a third less CPU
      // each). Keyed by file content and Node version, so a changed file is compiled anew.
      NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(tmpdir(), 'signage-bot-compile-cache'),
    },
  },
});
