import { configDefaults, defineConfig } from "vitest/config";
import { interopLeftOut } from "./test/interop/interop-toolchain.js";

// Interop tests whose Debian toolchain is absent are not run outside CI; one line each says so after the summary.
const leftOut = interopLeftOut();

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: [...configDefaults.exclude, ...leftOut.map((l) => l.file)],
    // Subprocess and real-process tests: generous, but a hang still fails instead of blocking CI.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Two cores on CI: run files in parallel, but not more than the machine can carry.
    maxWorkers: 2,
    reporters: ["default", { onTestRunEnd: () => leftOut.forEach((l) => console.log(l.line)) }],
  },
});
