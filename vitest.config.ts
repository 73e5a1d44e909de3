import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Subprocess and real-process tests: generous, but a hang still fails instead of blocking CI.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: run files in parallel, but not more than the machine can carry.
    maxWorkers: 2,
    reporters: ["default"],
  },
});
