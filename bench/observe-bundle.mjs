// Bundles bench/observe-kit.ts for the Logs benchmarks (bench scripts are plain .mjs; the kit needs the TypeScript
// sources of the dev agent and the gRPC client). Not a benchmark itself: it has no run().
import { build } from "esbuild";
import { mkdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";

let kit;
export async function loadObserveKit() {
  if (kit) return kit;
  // Inside the repository so the bundle's require() and relative lookups resolve like the sources'.
  const dir = fileURLToPath(new URL("../node_modules/.cache/nomad-provider-bench/", import.meta.url));
  mkdirSync(dir, { recursive: true });
  const outfile = `${dir}observe-kit.mjs`;
  await build({
    entryPoints: [fileURLToPath(new URL("./observe-kit.ts", import.meta.url))],
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
