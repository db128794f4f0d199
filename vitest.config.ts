import { defineConfig } from "vitest/config";

// @agentnet/client and @agentnet/gen (npm workspaces) resolve to their TypeScript sources, as with tsconfig.json's
// customConditions: tests need no build of the packages, and see one copy of the generated code. The rest is
// vite's defaultServerConditions, which a configured list replaces.
const conditions = ["@agentnet/source", "module", "node", "development|production"];

export default defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["test/**/*.test.ts"],
    // Throwaway PostgreSQL and nats-server for the whole run, or DATABASE_URL / NATS_URL when given.
    globalSetup: ["test/harness/global-setup.ts"],
    // Real servers, real sockets: separate processes keep one file's native handles away from another's.
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
    // expect.poll waits for a condition; vitest's 1 s default fails on a loaded machine, so polls get 20 s unless
    // they say otherwise (a passing poll returns as soon as its condition holds, so this costs nothing).
    expect: { poll: { timeout: 20_000, interval: 50 } },
  },
});
