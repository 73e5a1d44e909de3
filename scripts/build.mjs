// Bundles the entry points with esbuild into dist/ (one file each, ESM, Node 20). Shipping bundled JavaScript keeps
// plugin start-up short: no TypeScript loader and few module resolutions at run time.
import { build } from "esbuild";
import { chmodSync, existsSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { thirdPartyNotices } from "./third-party-notices.mjs";

const entries = {
  main: "src/main.ts",
  devagent: "src/devagent/main.ts",
};

const entryPoints = Object.fromEntries(Object.entries(entries).filter(([, file]) => existsSync(file)));

const result = await build({
  entryPoints,
  metafile: true,
  outdir: "dist",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  // Code loaded with import() after the plugin's handshake (HTTP client, RPC families) goes to its own chunk, so
  // start-up parses only what serving needs.
  splitting: true,
  chunkNames: "chunks/[name]-[hash]",
  // grpc-js requires it only for channelz/ORCA, which the plugin never enables; bundling it costs parse time.
  external: ["@grpc/proto-loader"],
  sourcemap: "linked",
  legalComments: "none",
  logLevel: "warning",
  // Some CommonJS dependencies (grpc-js) call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

// dist/main.js is the `nomad-provider` command (src/main.ts starts with a #! line, which esbuild keeps): a go-plugin
// host may exec it directly.
chmodSync("dist/main.js", 0o755);

// Chunk names carry content hashes, so every change leaves the previous build's chunks behind: keep only this build's.
const produced = new Set(Object.keys(result.metafile.outputs).map((file) => relative("dist/chunks", file)));
if (existsSync("dist/chunks")) {
  for (const file of readdirSync("dist/chunks")) {
    if (!produced.has(file)) rmSync(join("dist/chunks", file), { force: true });
  }
}

// The bundle carries code of the packages it inlines: ship their licences with it (legalComments are dropped above).
writeFileSync("dist/THIRD-PARTY-NOTICES.txt", thirdPartyNotices(Object.keys(result.metafile.inputs)));
