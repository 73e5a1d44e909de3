// Logs throughput through the plugin (a separate process, standalone gRPC) vs a direct undici read of the same
// fs/logs endpoint with plain=true, measured in the same run against the dev agent. One LogsResponse per line is the
// contract, so the cost per line (gRPC message) dominates for short lines: the ratio is reported for short lines
// (like `seq`) and for 1 KiB lines. Target: ratio >= 0.7 (bytes per second, plugin / direct).
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

async function viaPlugin(client, instanceId, LogStream) {
  const t = performance.now();
  let bytes = 0;
  let lines = 0;
  for await (const r of client.logs({ instanceId, stream: LogStream.STDOUT })) {
    bytes += Buffer.byteLength(r.line) + 1;
    lines++;
  }
  return { ms: performance.now() - t, bytes, lines };
}

async function measure(kit, agent, client, name, script, expectLines) {
  const instanceId = `bench-${name}-${process.pid}`;
  const [allocId] = await kit.runInstance(agent, instanceId, script);
  // Wait until the task wrote everything.
  for (;;) {
    const d = await direct(agent, allocId);
    if (d.bytes > 0) {
      const p = await viaPlugin(client, instanceId, kit.LogStream);
      if (p.lines >= expectLines) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const ratios = [];
  let last;
  for (let i = 0; i < 3; i++) {
    const d = await direct(agent, allocId);
    const p = await viaPlugin(client, instanceId, kit.LogStream);
    if (p.bytes !== d.bytes) throw new Error(`${name}: plugin delivered ${p.bytes} bytes, direct read ${d.bytes}`);
    ratios.push(d.ms / p.ms);
    last = { d, p };
  }
  const ratio = median(ratios);
  console.log(
    `logs-throughput ${name}: ${last.p.lines} lines, ${(last.d.bytes / 1048576).toFixed(1)} MiB; direct ${last.d.ms.toFixed(0)} ms, ` +
      `plugin ${last.p.ms.toFixed(0)} ms (${Math.round(last.p.lines / (last.p.ms / 1000))} lines/s); ratio ${ratio.toFixed(3)}`,
  );
  return ratio;
}

export async function run() {
  const kit = await loadObserveKit();
  const agent = await kit.startDevAgent({ port: 0 });
  const plugin = await kit.startPlugin(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  try {
    const short = await measure(kit, agent, client, "short-lines", "seq 1 100000; exec sleep 3600", 100_000);
    const long = await measure(kit, agent, client, "1KiB-lines", "i=0; l=$(printf '%01023d' 0); while [ $i -lt 20000 ]; do echo $l; i=$((i+1)); done; exec sleep 3600", 20_000);
    return { name: "logs-throughput", ok: long >= 0.7, ratio: long, shortLineRatio: short };
  } finally {
    client.close();
    await plugin.stop();
    await agent.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
