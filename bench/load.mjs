// Load: for LOAD_SECONDS (default 60) the plugin (standalone, its own process) carries 500 concurrent unary calls
// (Status, each worker calling again as soon as its answer arrives) and 200 concurrent streams held open the whole time
// (100 Logs follow + 100 WatchStatus) against the dev agent (another process). Reports errors, unary p50/p99, stream
// messages, and the plugin's RSS idle before, at the peak, and after the load ended. Passes with no error and an RSS
// that comes back down once idle (within 50 MB of idle, or below half way from the peak; V8 hands memory back after
// some idle seconds, so it waits up to 90 s), i.e. no growth per request.
import { setMaxListeners } from "node:events";
import { agentEntry, loadKit, pluginEntry, pollUntil } from "./kit/load-kit.mjs";

const unaryConcurrency = 500;
const streamPairs = 100;
const seconds = Number(process.env.LOAD_SECONDS ?? 60);
const mb = (b) => (b / 2 ** 20).toFixed(0);

export async function run() {
  const kit = await loadKit("reliability-kit");
  const agent = await kit.startAgentProcess(agentEntry);
  const plugin = await kit.startPluginProcess(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const errors = new Map();
  const fail = (where, err) => {
    const key = `${where}: ${err?.code ?? ""} ${String(err?.details ?? err?.message ?? err).slice(0, 120)}`;
    errors.set(key, (errors.get(key) ?? 0) + 1);
  };
  try {
    const instanceId = `bench_load_${process.pid}`;
    const provisioned = await client.provision(kit.provisionRequest(instanceId), { deadlineMs: 30_000 });
    if (provisioned.state !== kit.InstanceState.RUNNING) throw new Error(`instance not running: state ${provisioned.state}`);
    for (let i = 0; i < 20; i++) await client.status({ instanceId });
    const idleRss = kit.rssBytes(plugin.pid);

    const stopAt = Date.now() + seconds * 1000;
    let peakRss = idleRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, kit.rssBytes(plugin.pid))), 500);

    // Streams: open them all, each must deliver its first message, then stay open until the end.
    const streamAbort = new AbortController();
    // 200 streams share this one signal on purpose.
    setMaxListeners(0, streamAbort.signal);
    let streamMessages = 0;
    let streamsLive = 0;
    const hold = async (open, where) => {
      let first = true;
      try {
        for await (const _ of open()) {
          streamMessages++;
          if (first) {
            first = false;
            streamsLive++;
          }
        }
        if (!streamAbort.signal.aborted) fail(where, new Error("stream ended early"));
      } catch (err) {
        if (!streamAbort.signal.aborted) fail(where, err);
      }
    };
    const streams = [];
    for (let i = 0; i < streamPairs; i++) {
      streams.push(hold(() => client.logs({ instanceId, follow: true, stream: kit.LogStream.STDOUT }, { signal: streamAbort.signal }), "Logs"));
      streams.push(hold(() => client.watchStatus({ instanceId }, { signal: streamAbort.signal }), "WatchStatus"));
    }

    const latencies = [];
    const worker = async () => {
      while (Date.now() < stopAt) {
        const t = performance.now();
        try {
          await client.status({ instanceId }, { deadlineMs: 30_000 });
          latencies.push(performance.now() - t);
        } catch (err) {
          fail("Status", err);
        }
      }
    };
    await Promise.all(Array.from({ length: unaryConcurrency }, worker));
    const liveAtEnd = streamsLive;
    streamAbort.abort();
    await Promise.all(streams);
    clearInterval(sampler);

    // RSS after: the load is over; give the collector a few seconds to hand memory back.
    let afterRss = kit.rssBytes(plugin.pid);
    const settled = (rss) => rss - idleRss <= 50 * 2 ** 20 || rss <= idleRss + (peakRss - idleRss) / 2;
    const trail = [];
    await pollUntil(() => {
      afterRss = kit.rssBytes(plugin.pid);
      trail.push(mb(afterRss));
      return settled(afterRss);
    }, Number(process.env.LOAD_SETTLE_MS ?? 90_000));
    if (process.env.LOAD_RSS_TRAIL) console.log(`rss trail (MB, every 250 ms): ${trail.join(" ")}`);
    await client.deprovision({ instanceId });

    latencies.sort((a, b) => a - b);
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const ok = errorCount === 0 && liveAtEnd === 2 * streamPairs && settled(afterRss);
    console.log(
      `load: ${seconds}s, ${unaryConcurrency} concurrent Status + ${2 * streamPairs} streams (${liveAtEnd} live): ` +
        `${latencies.length} calls (${(latencies.length / seconds).toFixed(0)}/s), p50 ${kit.percentile(latencies, 50).toFixed(1)} ms, ` +
        `p99 ${kit.percentile(latencies, 99).toFixed(1)} ms, ${streamMessages} stream messages, errors ${errorCount}; ` +
        `plugin RSS idle ${mb(idleRss)} MB, peak ${mb(peakRss)} MB, after ${mb(afterRss)} MB ${ok ? "OK" : "FAILED"}`,
    );
    for (const [k, n] of errors) console.log(`  ${n} x ${k}`);
    return {
      name: "load",
      ok,
      calls: latencies.length,
      p50Ms: kit.percentile(latencies, 50),
      p99Ms: kit.percentile(latencies, 99),
      errors: errorCount,
      rssIdleMb: idleRss / 2 ** 20,
      rssPeakMb: peakRss / 2 ** 20,
      rssAfterMb: afterRss / 2 ** 20,
    };
  } finally {
    client.close();
    await plugin.stop();
    await agent.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
