import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // Integration tests bring up namespaces, sshd and Nix builds: generous, but bounded.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    reporters: ['default', './test/support/no-skips-reporter.ts'],
  },
});
