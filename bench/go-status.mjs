// Issue #13's target from the real caller's side: Status p50 <= 0.5 x reading Nomad directly, both from Go. ctrlplane
// is a Go host (grpc-go) and the Go original reads Nomad with net/http, so the comparison that matters is made from a Go
// program (bench/go-status/main.go, built by scripts/build-go.sh from Debian's Go toolchain), not from grpc-js, whose
// client cost dominates bench/scale.mjs's Status figure.
//
// This driver starts the dev agent (mock_driver, one big node) and the plugin (standalone, a separate process),
// provisions N instances through the plugin (200 by default; BENCH_GO_STATUS_N), calls Status until the plugin's
// instance cache answers without Nomad, then runs the Go program, which measures interleaved in one run: Status and
// Info (the gRPC floor) over grpc-go, the three uncached reads in parallel with net/http (the baseline of the target)
// and the Go original's single read, plus Status against a bare grpc-js server answering an empty message
// (bench/kit/empty-status-server.cjs): the least any Node plugin on grpc-js can cost, so how close to the target this
// stack can get at all. Its lines are printed as they are; this driver adds how many Nomad requests the plugin itself
// made while the Go program ran (target 0: every Status answered from the cache).
//
// Without Go (or protoc and its Go generators) the bench says how to install them and is skipped.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { agentEntry, loadKit, pluginEntry } from "./kit/load-kit.mjs";
import { agentRequests, bigNode, primed, provisionAll } from "./kit/many-instances.mjs";

const n = Number(process.env.BENCH_GO_STATUS_N ?? 200);
const repo = fileURLToPath(new URL("../", import.meta.url));
const srcDir = join(repo, "bench/go-status");
const buildScript = join(repo, "scripts/build-go.sh");
const proto = join(repo, "proto/ctrlplane/provider/v1/provider.proto");
// Shared with the interop tests' builds (test/interop/interop-build.ts): Go's build cache of grpc-go is reused.
const cacheDir = join(tmpdir(), "nomad-provider-interop");

/** The Go program's path, built when its sources, the build script or the proto changed; undefined when Go is missing. */
async function buildGoStatus() {
  const hash = createHash("sha256");
  const inputs = [...readdirSync(srcDir).sort().map((f) => join(srcDir, f)), buildScript, proto];
  for (const file of inputs) hash.update(file).update(readFileSync(file));
  const binary = join(cacheDir, `go-status-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(binary)) return binary;
  mkdirSync(cacheDir, { recursive: true });
  const partial = `${binary}.${process.pid}.partial`;
  const started = performance.now();
  const built = await new Promise((resolve) =>
    execFile(buildScript, [srcDir, join(cacheDir, "go-work"), partial], { timeout: 300_000 }, (err, _stdout, stderr) =>
      resolve({ code: err ? (err.code ?? 1) : 0, stderr }),
    ),
  );
  // 3: a tool is missing (the script says which). Anything else is a broken build, which fails the bench.
  if (built.code === 3) {
    const what = built.stderr.trim().replace(/^go-status: /, "");
    console.log(`go-status: skipped, ${what} (as root or with sudo: it installs Go, protoc and the Go generators from Debian in ~30 s)`);
    return undefined;
  }
  if (built.code !== 0) throw new Error(`scripts/build-go.sh bench/go-status failed (${built.code}): ${built.stderr.trim().slice(-2000)}`);
  renameSync(partial, binary);
  console.log(`go-status: built bench/go-status in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  return binary;
}

/** Starts bench/kit/empty-status-server.cjs; resolves with its address and a stop function. */
async function startEmptyStatusServer() {
  const child = spawn(process.execPath, [fileURLToPath(new URL("./kit/empty-status-server.cjs", import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).trim()));
    child.once("exit", (code) => reject(new Error(`empty status server exited ${code}`)));
  });
  return { address: `127.0.0.1:${port}`, stop: () => child.kill() };
}

/** Runs the Go program, printing its figure lines as they come; resolves with its result line. */
function runGoStatus(binary, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    let result;
    child.stdout.on("data", (d) => {
      out += d;
      const lines = out.split("\n");
      out = lines.pop();
      for (const line of lines) {
        if (line.startsWith("result ")) result = JSON.parse(line.slice("result ".length));
        else if (line) console.log(line);
      }
    });
    child.stderr.on("data", (d) => (err += d));
    child.once("error", reject);
    child.once("exit", (code) => {
      if (code === 0 && result) resolve(result);
      else reject(new Error(`bench/go-status exited ${code}: ${err.trim().slice(-2000)}`));
    });
  });
}

export async function run() {
  const binary = await buildGoStatus();
  if (!binary) return { name: "go-status", ok: true, skipped: true };

  const kit = await loadKit("reliability-kit");
  const agent = await kit.startAgentProcess(agentEntry, bigNode);
  const plugin = await kit.startPluginProcess(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const bare = await startEmptyStatusServer();
  try {
    const ids = Array.from({ length: n }, (_, i) => `gostatus_${i}`);
    const started = performance.now();
    await provisionAll(kit, client, ids);
    const provisionS = (performance.now() - started) / 1000;
    const primeMs = await primed({ agent, client, ids });
    console.log(`go-status: ${n} instances provisioned through the plugin in ${provisionS.toFixed(1)} s (mock_driver); instance cache primed ${(primeMs / 1000).toFixed(1)} s after the first Status`);

    const before = await agentRequests(agent.address);
    const result = await runGoStatus(binary, ["-plugin", plugin.address, "-nomad", agent.address, "-ids", ids.join(","), "-bare", bare.address]);
    // The agent counts the Go program's own reads too; what is left is what the plugin asked Nomad meanwhile.
    const pluginRequests = (await agentRequests(agent.address)) - before - result.nomadGets;
    const statusCalls = result.paths.status.n;
    console.log(`go-status: Nomad requests by the plugin while the Go program ran (${statusCalls} measured Status and the warm-up): ${pluginRequests} (target 0)`);
    return { name: "go-status", ratio: result.statusVsDirect, ok: true };
  } finally {
    bare.stop();
    client.close();
    await plugin.stop();
    await agent.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
