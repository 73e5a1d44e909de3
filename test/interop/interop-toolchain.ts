// Which interop tests need which Debian toolchain (.ci/install-interop-deps installs both), and what of it is missing.
// vitest.config.ts reads this: on a person's machine without a toolchain the tests that need it are left out of the
// run, each with one line saying what is missing and how to get it; under CI (CI set) nothing is left out, so a
// missing toolchain fails those tests (requireToolchain). Checks are file lookups only: they run at every start.

import { accessSync, constants, existsSync } from "node:fs";
import { delimiter, join } from "node:path";

export type Toolchain = "go-host" | "python-client";

const goPath = "/usr/share/gocode/src";
const pythonPackages = "/usr/lib/python3/dist-packages";

/** Commands looked up on PATH; absolute paths must exist. */
const needs: Record<Toolchain, string[]> = {
  // scripts/build-go.sh test/interop/go-host: Go in GOPATH mode with Debian's go-plugin, grpc-go and protobuf sources.
  "go-host": [
    "go", "protoc", "protoc-gen-go", "protoc-gen-go-grpc",
    `${goPath}/github.com/hashicorp/go-plugin`, `${goPath}/google.golang.org/grpc`,
    `${goPath}/google.golang.org/protobuf`, `${goPath}/github.com/golang/protobuf`,
  ],
  // test/interop/python/generate.sh and client.py (run with /usr/bin/python3).
  "python-client": ["protoc", "grpc_python_plugin", "/usr/bin/python3", `${pythonPackages}/grpc`, `${pythonPackages}/google/protobuf`],
};

/** Every test file that needs a toolchain, by its path from the repository root. */
export const interopTests: Record<string, Toolchain> = {
  "test/interop/interop-go-plugin-host.test.ts": "go-host",
  "test/interop/interop-go-plugin-host-multiplexed.test.ts": "go-host",
  "test/interop/interop-installed-command-go-host.test.ts": "go-host",
  "test/interop/interop-executable-go-host.test.ts": "go-host",
  "test/interop/interop-python-client.test.ts": "python-client",
};

export const enableHint = "sudo .ci/install-interop-deps";

function onPath(command: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

export function missingFor(toolchain: Toolchain, env: NodeJS.ProcessEnv = process.env): string[] {
  return needs[toolchain].filter((need) => (need.startsWith("/") ? !existsSync(need) : !onPath(need, env.PATH ?? "")));
}

/** Fails with what is missing and the one fix; CI always installs the toolchain, so there a gap is a broken setup. */
export function requireToolchain(toolchain: Toolchain): void {
  const missing = missingFor(toolchain);
  if (missing.length > 0) throw new Error(`interop toolchain "${toolchain}" missing: ${missing.join(", ")}. Run ${enableHint} first.`);
}

export function underCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI?.toLowerCase();
  return ci !== undefined && ci !== "" && ci !== "false" && ci !== "0";
}

/** Outside CI: the test files to leave out, each with the line that says so. Under CI: none. */
export function interopLeftOut(env: NodeJS.ProcessEnv = process.env): Array<{ file: string; line: string }> {
  if (underCi(env)) return [];
  const missing = new Map<Toolchain, string[]>();
  const leftOut: Array<{ file: string; line: string }> = [];
  for (const [file, toolchain] of Object.entries(interopTests)) {
    if (!missing.has(toolchain)) missing.set(toolchain, missingFor(toolchain, env));
    const gaps = missing.get(toolchain)!;
    if (gaps.length === 0) continue;
    leftOut.push({ file, line: `not run: ${file} (needs ${gaps.join(", ")}; to run it: ${enableHint})` });
  }
  return leftOut;
}
