// 1,000 concurrent Logs follow streams through the plugin (a separate process) on an instance with 2 allocations:
// the plugin's RSS (target < 300 MB) and the upstream connections it holds (target: proportional to allocations —
// one shared follow per allocation and stream, plus one allocation watch — not to the 1,000 streams). Ratios are
// against the same plugin idle in the same run.
import { loadKit, pluginEntry, pollUntil } from "./kit/load-kit.mjs";

const streams = 1000;
const allocations = 2;

export async function run() {
  const kit = await loadKit("observe-kit");
  const agent = await kit.startDevAgent({ port: 0 });
  const agentPort = Number(new URL(agent.address).port);
  const plugin = await kit.startPlugin(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const controllers = [];
  const done = [];
  try {
    const instanceId = `bench-many-${process.pid}`;
    await kit.runInstance(agent, instanceId, "while :; do echo tick; sleep 0.1; done", allocations);
    // Warm up, then the idle baseline.
    for await (const _ of client.logs({ instanceId, tail: 1, stream: kit.LogStream.STDOUT })) void _;
    const idleRss = kit.rssBytes(plugin.pid);

    const live = [];
    const started = performance.now();
    for (let i = 0; i < streams; i++) {
      const c = new AbortController();
      controllers.push(c);
      let markLive;
      live.push(new Promise((r) => (markLive = r)));
      done.push(
        (async () => {
          let n = 0;
          try {
            for await (const _ of client.logs({ instanceId, follow: true, tail: 1, stream: kit.LogStream.STDOUT }, { signal: c.signal })) {
              if (++n === 3) markLive(true);
            }
          } catch (err) {
            if (!c.signal.aborted) throw err;
          }
          markLive(false);
        })(),
      );
    }
    // Each stream saw its tail line and two new ones: all 1,000 are following live output (and keep following).
    const results = await Promise.all(live);
    if (!results.every(Boolean)) throw new Error("a stream ended early");
    const liveMs = performance.now() - started;
    const rss = kit.rssBytes(plugin.pid);
    const connectionsAtPeak = kit.connectionsTo(plugin.pid, agentPort);
    // Requests finished by the burst (tail reads) leave idle keep-alive sockets in the pool for 30 s; what stays is held.
    const held = await pollUntil(async () => {
      const n = kit.connectionsTo(plugin.pid, agentPort);
      return n <= allocations + 1 ? n : undefined;
    }, 45_000) ?? kit.connectionsTo(plugin.pid, agentPort);
    const rssMb = rss / 1048576;
    console.log(
      `log-streams-1000: ${streams} follow streams on ${allocations} allocations live after ${liveMs.toFixed(0)} ms; plugin RSS ${rssMb.toFixed(0)} MB ` +
        `(idle ${(idleRss / 1048576).toFixed(0)} MB, ratio ${(rss / idleRss).toFixed(2)}); upstream connections at peak ${connectionsAtPeak}, held ${held} ` +
        `(${(held / allocations).toFixed(1)} per allocation)`,
    );
    return { name: "log-streams-1000", ok: rssMb < 300 && held <= allocations + 1, ratio: rss / idleRss, rssMb, connectionsAtPeak, held };
  } finally {
    for (const c of controllers) c.abort();
    await Promise.allSettled(done);
    client.close();
    await plugin.stop();
    await agent.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(await run());
