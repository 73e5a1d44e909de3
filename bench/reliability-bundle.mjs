// Bundles bench/reliability-kit.ts for bench/status-latency.mjs and bench/load.mjs (bench scripts are plain .mjs).
// Not a benchmark itself: it has no run().
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

let kit;
export async function loadReliabilityKit() {
  if (kit) return kit;
  const dir = fileURLToPath(new URL("../node_modules/.cache/nomad-provider-bench/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}reliability-kit.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL("./reliability-kit.ts", import.meta.url))],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "warning",
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  kit = await import(pathToFileURL(outfile).href);
  return kit;
}

export const pluginEntry = fileURLToPath(new URL("../dist/main.js", import.meta.url));
export const agentEntry = fileURLToPath(new URL("../dist/devagent.js", import.meta.url));
