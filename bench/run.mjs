// Runs every benchmark in bench/ (each *.mjs other than this file exports `run()` returning {name, ok, ...}),
// one after another so they do not compete for the machine's two cores, and prints a summary.
import { readdirSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));
const only = process.argv.slice(2);
const files = readdirSync(here)
  .filter((f) => f.endsWith(".mjs") && f !== "run.mjs")
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();

const results = [];
for (const file of files) {
  const mod = await import(pathToFileURL(join(here, file)).href);
  if (typeof mod.run !== "function") {
    console.log(`${file}: no run() export, skipped`);
    continue;
  }
  try {
    results.push({ file, ...(await mod.run()) });
  } catch (err) {
    results.push({ file, ok: false, error: err instanceof Error ? err.message : String(err) });
    console.log(`${file}: failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

console.log("\nsummary:");
// A benchmark whose toolchain is missing (bench/go-status.mjs without Go) says so and returns {ok: true, skipped: true}.
for (const r of results) console.log(`  ${r.skipped ? "skip" : r.ok ? "ok  " : "FAIL"} ${r.file}${r.ratio !== undefined ? ` ratio ${r.ratio.toFixed(2)}` : ""}${r.error ? ` (${r.error})` : ""}`);
process.exitCode = results.every((r) => r.ok) ? 0 : 1;
