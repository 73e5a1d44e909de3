// Bundles a TypeScript kit of bench/kit/ (what the plain .mjs benchmarks need from the sources: the dev agent, the gRPC
// client, ...) with esbuild at run time, once per process. Lives in bench/kit/ so bench/run.mjs does not take it for a
// benchmark. Also holds the small plain-JS pieces several benchmarks share (entry paths, pollUntil).
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

const kits = new Map();

/** Loads bench/kit/<name>.ts, e.g. "observe-kit" (Logs benchmarks) or "reliability-kit" (Status, load). */
export function loadKit(name) {
  if (!kits.has(name)) kits.set(name, bundle(name));
  return kits.get(name);
}

async function bundle(name) {
  // Inside the checkout (.tmp/ is ignored by git) so the bundle's require() finds node_modules and its relative lookups
  // resolve two levels below the root, like the sources'. Not under node_modules/: a worktree whose node_modules is a
  // symlink to another checkout's would write its bundles there, over that checkout's.
  const dir = fileURLToPath(new URL("../../.tmp/bench-kits/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}${name}.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL(`./${name}.ts`, import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return import(pathToFileURL(outfile).href);
}

export const pluginEntry = fileURLToPath(new URL("../../dist/main.js", import.meta.url));
export const agentEntry = fileURLToPath(new URL("../../dist/devagent.js", import.meta.url));

/** Calls `probe` every 250 ms until it returns something truthy or `timeoutMs` passes; resolves with its last answer. */
export async function pollUntil(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
}
