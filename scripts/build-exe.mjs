// `npm run build:exe`: dist/nomad-provider-<platform>-<arch>, one executable that runs without Node installed (a
// Node single executable application, as Terraform providers ship one binary). Node 20's SEA runs one CommonJS
// script, so src/main.ts is bundled a second time, unsplit, as CommonJS; the blob carries V8's code cache for it
// (useCodeCache) so start-up does not compile the bundle. postject injects the blob into a copy of this node binary.
import { build } from "esbuild";
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { thirdPartyNotices } from "./third-party-notices.mjs";

// Usage: node scripts/build-exe.mjs [--out FILE]   (default dist/nomad-provider-<platform>-<arch>)
const { values } = parseArgs({ options: { out: { type: "string" } } });
const root = fileURLToPath(new URL("../", import.meta.url));
const output = values.out ?? join(root, `dist/nomad-provider-${process.platform}-${process.arch}`);
const started = performance.now();
mkdirSync(dirname(output), { recursive: true });
const work = mkdtempSync(join(dirname(output), ".sea-"));

const script = join(work, "main.cjs");
const result = await build({
  entryPoints: [join(root, "src/main.ts")],
  outfile: script,
  metafile: true,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  // As scripts/build.mjs: grpc-js requires it only for channelz/ORCA, which the plugin never enables.
  external: ["@grpc/proto-loader"],
  legalComments: "none",
  logLevel: "warning",
});

const blob = join(work, "sea-prep.blob");
const config = join(work, "sea-config.json");
writeFileSync(config, JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: true }));
quietly(process.execPath, ["--experimental-sea-config", config]);

rmSync(output, { force: true });
// node's own binary carries ~13 MB of symbols and debug info that an executable never uses: strip the copy where
// binutils is installed, copy it as it is otherwise.
try {
  execFileSync("strip", ["-o", output, process.execPath], { stdio: "pipe" });
} catch {
  copyFileSync(process.execPath, output);
}
chmodSync(output, 0o755);
// postject's ELF writer warns about every note section of node's binary ("Can't find string offset for section name
// '.note.100'"), which is harmless.
const postject = createRequire(import.meta.url).resolve("postject/dist/cli.js");
quietly(process.execPath, [postject, output, "NODE_SEA_BLOB", blob, "--sentinel-fuse", "NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2"]);
writeFileSync(`${output}.THIRD-PARTY-NOTICES.txt`, thirdPartyNotices(Object.keys(result.metafile.inputs)));
rmSync(work, { recursive: true, force: true });

const seconds = ((performance.now() - started) / 1000).toFixed(1);
console.error(`built ${relative(process.cwd(), output)} (node ${process.version}, ${(readFileSync(output).length / 2 ** 20).toFixed(1)} MiB) in ${seconds} s`);

/** Runs a build step; its output is shown only when it fails. */
function quietly(command, args) {
  try {
    execFileSync(command, args, { stdio: "pipe" });
  } catch (err) {
    process.stderr.write(`${err.stdout ?? ""}${err.stderr ?? ""}`);
    throw err;
  }
}
