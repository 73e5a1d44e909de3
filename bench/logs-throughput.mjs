// Logs throughput through the plugin (a separate process, standalone gRPC) vs a direct undici read of the same
// fs/logs endpoint with plain=true, measured in the same run against the dev agent, in both modes of the contract:
// single-line (one LogsResponse per line, the default) and batched (LogsRequest.max_batch_bytes, many lines per
// LogsResponse). Per-message cost dominates single-line mode for short lines, so both modes are reported for short
// lines (like `seq`) and for 1 KiB lines. Target: ratio >= 0.7 (bytes per second, plugin / direct). For scale, the
// same run also times bare grpc-js streaming the same number of messages of the same size between two processes (the
// transport's floor): "vs grpc floor" near 1 means the plugin adds little over the transport itself.
// BENCH_LOGS_BATCH_BYTES sets the batch size asked for (default 1 MiB, the plugin's cap).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { request } from "undici";
import { loadObserveKit, pluginEntry } from "./observe-bundle.mjs";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function direct(agent, allocId) {
  const t = performance.now();
  const res = await request(`${agent.address}/v1/client/fs/logs/${allocId}?task=app&type=stdout&plain=true&follow=false&origin=start&offset=0`);
  let bytes = 0;
  for await (const chunk of res.body) bytes += chunk.length;
  return { ms: performance.now() - t, bytes };
}

async function viaPlugin(client, instanceId, LogStream, maxBatchBytes = 0) {
  const t = performance.now();
  let bytes = 0;
  let messages = 0;
  let cursorBytes = 0;
  for await (const r of client.logs({ instanceId, stream: LogStream.STDOUT, maxBatchBytes })) {
    bytes += maxBatchBytes > 0 ? r.lines.length : Buffer.byteLength(r.line) + 1;
    cursorBytes += r.cursor.length;
    messages++;
  }
  return { ms: performance.now() - t, bytes, messages, messageBytes: Math.round((bytes + cursorBytes) / messages) + 60 };
}

/** Lines a batched read delivers (counted outside the timed runs: a client's own per-line work is not the plugin's). */
async function batchedLines(client, instanceId, LogStream, maxBatchBytes) {
  let lines = 0;
  for await (const r of client.logs({ instanceId, stream: LogStream.STDOUT, maxBatchBytes })) {
    for (let i = r.lines.indexOf(10); i >= 0; i = r.lines.indexOf(10, i + 1)) lines++;
  }
  return lines;
}

const floorServer = `
const grpc = require(process.env.GRPC_JS);
const n = Number(process.env.N), msg = Buffer.alloc(Number(process.env.SIZE), 97);
const server = new grpc.Server();
const id = (b) => b;
server.addService({ s: { path: "/b.S/s", requestStream: false, responseStream: true, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id } }, {
  s: async (call) => { for (let i = 0; i < n; i++) if (!call.write(msg)) await new Promise((r) => call.once("drain", r)); call.end(); },
});
server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, port) => console.log(port));
`;

/** ms for bare grpc-js to stream n messages of `size` bytes from another process. */
async function grpcFloor(n, size) {
  const require = createRequire(import.meta.url);
  const grpcPath = require.resolve("@grpc/grpc-js");
  const grpc = require(grpcPath);
  const child = spawn(process.execPath, ["-e", floorServer], { env: { ...process.env, GRPC_JS: grpcPath, N: String(n), SIZE: String(size) }, stdio: ["ignore", "pipe", "inherit"] });
  try {
    const port = await new Promise((r) => child.stdout.once("data", (d) => r(String(d).trim())));
    const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    const times = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      await new Promise((resolve, reject) => {
        const call = client.makeServerStreamRequest("/b.S/s", (b) => b, (b) => b, Buffer.alloc(0));
        call.on("data", () => {});
        call.on("end", resolve);
        call.on("error", reject);
      });
      times.push(performance.now() - t);
    }
    client.close();
    return median(times);
  } finally {
    child.kill();
  }
}

const batchBytes = Number(process.env.BENCH_LOGS_BATCH_BYTES ?? 1024 * 1024);

async function measure(kit, agent, client, name, script, expectLines) {
  const instanceId = `bench-${name}-${process.pid}`;
  const [allocId] = await kit.runInstance(agent, instanceId, script);
  // Wait until the task wrote everything.
  while ((await batchedLines(client, instanceId, kit.LogStream, batchBytes)) < expectLines) await new Promise((r) => setTimeout(r, 100));
  const runs = { single: [], batched: [] };
  let last = {};
  for (let i = 0; i < 3; i++) {
    for (const [mode, size] of [["single", 0], ["batched", batchBytes]]) {
      const d = await direct(agent, allocId);
      const p = await viaPlugin(client, instanceId, kit.LogStream, size);
      if (p.bytes !== d.bytes) throw new Error(`${name} ${mode}: plugin delivered ${p.bytes} bytes, direct read ${d.bytes}`);
      runs[mode].push(d.ms / p.ms);
      last[mode] = { d, p };
    }
  }
  const lines = await batchedLines(client, instanceId, kit.LogStream, batchBytes);
  if (lines !== expectLines) throw new Error(`${name}: batched read delivered ${lines} lines, expected ${expectLines}`);
  const out = {};
  for (const mode of ["single", "batched"]) {
    const { d, p } = last[mode];
    const ratio = median(runs[mode]);
    const floor = await grpcFloor(p.messages, p.messageBytes);
    console.log(
      `logs-throughput ${name} ${mode}${mode === "batched" ? ` (max_batch_bytes ${batchBytes})` : ""}: ${expectLines} lines, ` +
        `${(d.bytes / 1048576).toFixed(1)} MiB in ${p.messages} messages; direct ${d.ms.toFixed(0)} ms, plugin ${p.ms.toFixed(0)} ms ` +
        `(${Math.round(expectLines / (p.ms / 1000))} lines/s); ratio ${ratio.toFixed(3)} (runs ${runs[mode].map((r) => r.toFixed(3)).join(" ")}); ` +
        `bare grpc-js, same messages (~${p.messageBytes} B): ${floor.toFixed(0)} ms, plugin vs grpc floor ${(floor / p.ms).toFixed(2)}`,
    );
    out[mode] = ratio;
  }
  return out;
}

export async function run() {
  const kit = await loadObserveKit();
  const agent = await kit.startDevAgent({ port: 0 });
  const plugin = await kit.startPlugin(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  try {
    const short = await measure(kit, agent, client, "short-lines", "seq 1 100000; exec sleep 3600", 100_000);
    const long = await measure(kit, agent, client, "1KiB-lines", "i=0; l=$(printf '%01023d' 0); while [ $i -lt 20000 ]; do echo $l; i=$((i+1)); done; exec sleep 3600", 20_000);
    return {
      name: "logs-throughput",
      ok: long.batched >= 0.7 && short.batched >= 0.7,
      ratio: long.batched,
      shortLineRatio: short.batched,
      singleLineRatio: long.single,
      singleShortLineRatio: short.single,
    };
  } finally {
    client.close();
    await plugin.stop();
    await agent.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
