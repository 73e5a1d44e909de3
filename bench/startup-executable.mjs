// Start-up of the single executable (`npm run build:exe`, a Node SEA) measured as bench/startup.mjs measures the
// plugin: spawn -> handshake line (AutoMTLS), against `node -e 0` in the same run, medians of 7 interleaved runs.
// Target as for the plugin: ratio <= 2.0. Also shown: `node dist/main.js` in the same runs, and the first health check
// answered over mTLS (informational). Builds the executable first when it is missing or older than src/.
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hostCertificate, median, timeCommand } from "./startup.mjs";

const root = fileURLToPath(new URL("../", import.meta.url));
const exe = `${root}dist/nomad-provider-${process.platform}-${process.arch}`;
const plugin = `${root}dist/main.js`;
const runs = 7;

export async function run() {
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(plugin).mtimeMs) {
    execFileSync("npm", ["run", "build:exe", "--silent"], { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  }
  const host = hostCertificate();
  const env = { PATH: process.env.PATH, CTRLPLANE_PLUGIN: "nomad-provider", PLUGIN_PROTOCOL_VERSIONS: "1", PLUGIN_CLIENT_CERT: host.cert };
  const node = (args, untilLine, h) => timeCommand(process.execPath, args, env, untilLine, h);
  const executable = (untilLine, h) => timeCommand(exe, [], env, untilLine, h);
  const baseline = [];
  const exeHandshake = [];
  const nodeHandshake = [];
  const exeFirstCall = [];
  await node(["-e", "0"], false);
  await executable(true, host);
  await node([plugin], true);
  for (let i = 0; i < runs; i++) {
    baseline.push(await node(["-e", "0"], false));
    exeHandshake.push(await executable(true));
    nodeHandshake.push(await node([plugin], true));
    exeFirstCall.push(await executable(true, host));
  }
  const b = median(baseline);
  const e = median(exeHandshake);
  const n = median(nodeHandshake);
  const f = median(exeFirstCall);
  const ratio = e / b;
  console.log(`startup-executable: node -e 0 median ${b.toFixed(1)} ms; executable spawn->handshake line (AutoMTLS) median ${e.toFixed(1)} ms; ratio ${ratio.toFixed(2)} (target <= 2.0) ${ratio <= 2 ? "OK" : "OVER TARGET"}`);
  console.log(`startup-executable: node dist/main.js median ${n.toFixed(1)} ms (ratio ${(n / b).toFixed(2)}); executable first health check over mTLS median ${f.toFixed(1)} ms (ratio ${(f / b).toFixed(2)}, informational)`);
  return { name: "startup-executable", baselineMs: b, executableMs: e, nodeMs: n, firstCallMs: f, ratio, ok: ratio <= 2 };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
