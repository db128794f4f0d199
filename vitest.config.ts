import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Throwaway PostgreSQL and nats-server for the whole run, or DATABASE_URL / NATS_URL when given.
    globalSetup: ['test/harness/global-setup.ts'],
    // Real servers, real sockets: separate processes keep one file's native handles away from another's.
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
