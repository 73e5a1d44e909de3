// Builds the interop programs (the Go go-plugin host, the Python stubs) from Debian's toolchain into
// $TMPDIR/nomad-provider-interop, keyed by a hash of their inputs so a later run reuses them. A missing tool fails
// loudly (interop-toolchain.ts): outside CI vitest.config.ts leaves such tests out before they get here.

import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { requireToolchain } from "./interop-toolchain.js";

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const interopDir = join(repoRoot, "test/interop");
const proto = join(repoRoot, "proto/ctrlplane/provider/v1/provider.proto");
/** Builds any Go program of the repo (the go-host here, bench/go-status too) from Debian's toolchain. */
const buildGo = join(repoRoot, "scripts/build-go.sh");
// Outside the work tree, so a fresh clone on the same machine (CI after a session) reuses builds and Go's cache.
const cacheDir = join(tmpdir(), "nomad-provider-interop");

function inputsHash(files: string[]): string {
  const hash = createHash("sha256");
  for (const file of files) hash.update(file).update(readFileSync(file));
  return hash.digest("hex").slice(0, 16);
}

function filesIn(dir: string): string[] {
  return readdirSync(dir)
    .sort()
    .map((name) => join(dir, name));
}

export interface Built {
  path: string;
  /** Wall-clock milliseconds the build took; 0 when a cached build was reused. */
  buildMs: number;
}

/** The Go host binary (scripts/build-go.sh test/interop/go-host), rebuilt only when its sources, the build script or the
 * proto change. */
export async function buildGoHost(): Promise<Built> {
  requireToolchain("go-host");
  const srcDir = join(interopDir, "go-host");
  const binary = join(cacheDir, `go-host-${inputsHash([...filesIn(srcDir), buildGo, proto])}`);
  if (existsSync(binary)) return { path: binary, buildMs: 0 };

  const start = performance.now();
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  await run(buildGo, [srcDir, join(cacheDir, "go-work"), partial], { timeout: 300_000 });
  renameSync(partial, binary);
  return { path: binary, buildMs: Math.round(performance.now() - start) };
}

/** A directory with the Python stubs (test/interop/python/generate.sh) on sys.path's terms. */
export async function buildPythonStubs(): Promise<Built> {
  requireToolchain("python-client");
  const script = join(interopDir, "python/generate.sh");
  const dir = join(cacheDir, `python-stubs-${inputsHash([script, proto])}`);
  if (existsSync(dir)) return { path: dir, buildMs: 0 };

  const start = performance.now();
  const partial = `${dir}.${process.pid}.partial`;
  mkdirSync(cacheDir, { recursive: true });
  rmSync(partial, { recursive: true, force: true });
  await run(script, [partial], { timeout: 60_000 });
  try {
    renameSync(partial, dir);
  } catch {
    // Another test run generated the same stubs first: theirs are identical.
    rmSync(partial, { recursive: true, force: true });
  }
  return { path: dir, buildMs: Math.round(performance.now() - start) };
}

/** dist/main.js, which `npm test` builds first (pretest); a direct `npx vitest run` needs `npm run build` before. */
export function pluginEntry(): string {
  const entry = join(repoRoot, "dist/main.js");
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first (npm test does it in pretest)`);
  return entry;
}
