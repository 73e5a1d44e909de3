// What the instance cache's prime (src/provider/instance-cache.ts, src/nomad/namespace-state.ts) costs Nomad in a
// namespace it shares: N cp- instances provisioned through the plugin (a plugin process, stopped once they run) and M
// other jobs registered straight to the agent and then updated once (a second version: new allocations, a second
// deployment and more evaluations, as a cluster's history holds until GC), on a dev agent with --driver-override
// mock_driver. The cache runs in this process behind a recording proxy (test/helpers/recording-proxy.ts).
// One run prints, against a baseline measured in the same run:
//   - what one real prime asked: its four list requests (URLs, answer bytes, objects) and its job reads;
//   - answer bytes and objects of those four lists vs the same requests without `filter` (what the prime asked
//     before it filtered: every allocation, deployment and evaluation of the namespace): ratio after/before;
//   - time to fetch and parse the four lists (in parallel, with undici), filtered vs unfiltered, rounds interleaved:
//     p50 ratio (the agent evaluates the filter on every object; Nomad does the same on its servers).
// The prime runs again after every event-stream reconnect, so each of these is paid again then.
import { Agent, request } from "undici";
import { agentEntry, loadKit, pluginEntry, pollUntil } from "./kit/load-kit.mjs";
import { bigNode, provisionAll } from "./kit/many-instances.mjs";

const n = Number(process.env.BENCH_PRIME_N ?? 200);
const others = Number(process.env.BENCH_PRIME_OTHERS ?? 800);
const rounds = Number(process.env.BENCH_PRIME_ROUNDS ?? 7);
const listPaths = ["/v1/jobs", "/v1/allocations", "/v1/deployments", "/v1/evaluations"];

/** A job of another team: one task group of one task with an update block (so it has deployments). */
function otherJob(id, version) {
  return {
    Job: {
      ID: id,
      Meta: { version: String(version) },
      TaskGroups: [
        {
          Name: "app",
          Count: 1,
          Update: { MinHealthyTime: 100_000_000, HealthyDeadline: 10_000_000_000, HealthCheck: "task_states" },
          Tasks: [{ Name: "app", Driver: "raw_exec", Config: { command: "/bin/sh", args: ["-c", "exec sleep 3600"] }, Resources: { CPU: 50, MemoryMB: 32 } }],
        },
      ],
    },
  };
}

async function pool(items, width, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

async function getJson(dispatcher, url) {
  const res = await request(url, { dispatcher });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET ${url}: ${res.statusCode} ${text}`);
  return JSON.parse(text);
}

async function populate(rk, dispatcher) {
  const agent = await rk.startAgentProcess(agentEntry, bigNode);
  const plugin = await rk.startPluginProcess(pluginEntry, agent.address);
  const client = rk.createProviderClient(plugin.address);
  const started = performance.now();
  try {
    await provisionAll(rk, client, Array.from({ length: n }, (_, i) => `prime_${i}`));
  } finally {
    client.close();
    await plugin.stop();
  }
  const ids = Array.from({ length: others }, (_, i) => `team-${i}`);
  for (const version of [1, 2]) {
    await pool(ids, 16, async (id) => {
      const res = await request(`${agent.address}/v1/jobs`, { method: "POST", body: JSON.stringify(otherJob(id, version)), dispatcher });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`register ${id}: ${res.statusCode} ${text}`);
    });
  }
  // Every job's current version running and no deployment in progress, so the lists hold still while measured.
  const want = n + others;
  const settled = await pollUntil(async () => {
    const allocs = await getJson(dispatcher, `${agent.address}/v1/allocations?task_states=false`);
    if (allocs.filter((a) => a.ClientStatus === "running" && a.DesiredStatus === "run").length !== want) return false;
    return (await getJson(dispatcher, `${agent.address}/v1/deployments`)).every((d) => d.Status !== "running");
  }, 300_000);
  if (!settled) throw new Error(`not all ${want} allocations running with their deployments done`);
  return { agent, setupS: (performance.now() - started) / 1000 };
}

/** One real prime through the proxy: the list requests it made (by path) and the bytes of its job reads. */
async function recordPrime(ck, log, address) {
  const proxy = await ck.recordingProxy(address);
  const nomad = new ck.NomadHttp({ address: proxy.address });
  const cache = new ck.InstanceCache(nomad, log);
  try {
    cache.start();
    if (!(await pollUntil(async () => cache.live, 120_000))) throw new Error(`instance cache not live: ${cache.state} ${cache.problem}`);
    if (cache.size !== n) throw new Error(`instance cache holds ${cache.size} instances, not ${n}`);
    const lists = new Map();
    let jobReads = 0;
    let jobReadBytes = 0;
    for (const x of proxy.exchanges) {
      const path = new URL(x.url, "http://x").pathname;
      if (listPaths.includes(path)) lists.set(path, x);
      else if (path.startsWith("/v1/job/")) (jobReads += 1), (jobReadBytes += x.bytes);
    }
    for (const p of listPaths) if (!lists.get(p)?.body) throw new Error(`the prime made no complete GET ${p}`);
    return { lists: listPaths.map((p) => lists.get(p)), jobReads, jobReadBytes, primeMs: cache.stats.lastPrimeMs };
  } finally {
    cache.close();
    nomad.close();
    await proxy.close();
  }
}

/** The four lists fetched in parallel and parsed: milliseconds, answer bytes, objects. */
async function fetchLists(dispatcher, address, urls) {
  const t = performance.now();
  const answers = await Promise.all(
    urls.map(async (u) => {
      const res = await request(address + u, { dispatcher });
      const text = await res.body.text();
      if (res.statusCode !== 200) throw new Error(`GET ${u}: ${res.statusCode} ${text}`);
      return { bytes: Buffer.byteLength(text), objects: JSON.parse(text).length };
    }),
  );
  return { ms: performance.now() - t, answers };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const withoutFilter = (url) => {
  const u = new URL(url, "http://x");
  u.searchParams.delete("filter");
  return u.pathname + u.search;
};

export async function run() {
  const rk = await loadKit("reliability-kit");
  const ck = await loadKit("cache-kit");
  const log = ck.createLogger({ level: "warn" });
  const dispatcher = new Agent({ connections: 8 });
  const { agent, setupS } = await populate(rk, dispatcher);
  try {
    const prime = await recordPrime(ck, log, agent.address);
    const after = prime.lists.map((x) => x.url);
    const before = after.map(withoutFilter);
    const timings = { before: [], after: [] };
    let sizes;
    // A first pair warms connections and JIT; then rounds interleave, starting with either in turn.
    await fetchLists(dispatcher, agent.address, before);
    await fetchLists(dispatcher, agent.address, after);
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? ["after", "before"] : ["before", "after"];
      const got = {};
      for (const which of order) {
        got[which] = await fetchLists(dispatcher, agent.address, which === "before" ? before : after);
        timings[which].push(got[which].ms);
      }
      sizes = got;
    }
    const sum = (answers, key) => answers.reduce((a, x) => a + x[key], 0);
    const bytesBefore = sum(sizes.before.answers, "bytes");
    const bytesAfter = sum(sizes.after.answers, "bytes");
    const ratio = bytesAfter / bytesBefore;
    const kib = (b) => `${(b / 1024).toFixed(1)} KiB`;
    console.log(`cache-prime-filter: ${n} cp- instances provisioned through the plugin, ${others} other jobs registered and updated once (mock_driver), in ${setupS.toFixed(1)} s`);
    console.log(`cache-prime-filter: the prime asked: ${after.join("  ")}; plus ${prime.jobReads} job reads (${kib(prime.jobReadBytes)}, unchanged); prime ${prime.primeMs.toFixed(0)} ms`);
    listPaths.forEach((p, i) => {
      const b = sizes.before.answers[i];
      const a = sizes.after.answers[i];
      console.log(`cache-prime-filter:   ${p}: ${a.objects} objects, ${kib(a.bytes)} filtered vs ${b.objects} objects, ${kib(b.bytes)} unfiltered: ratio ${(a.bytes / b.bytes).toFixed(3)}`);
    });
    const recorded = prime.lists.reduce((a, x) => a + x.bytes, 0);
    console.log(
      `cache-prime-filter: the four lists: ${kib(bytesAfter)} (${sum(sizes.after.answers, "objects")} objects) vs ${kib(bytesBefore)} (${sum(sizes.before.answers, "objects")} objects) before: ratio ${ratio.toFixed(3)}` +
        ` (the prime's own answers through the proxy: ${kib(recorded)})`,
    );
    const p50b = median(timings.before);
    const p50a = median(timings.after);
    console.log(
      `cache-prime-filter: fetch+parse of the four lists, p50 of ${rounds} interleaved rounds: ${p50a.toFixed(1)} ms filtered vs ${p50b.toFixed(1)} ms unfiltered: ratio ${(p50a / p50b).toFixed(2)}` +
        ` (rounds ${timings.after.map((t) => t.toFixed(0)).join("/")} vs ${timings.before.map((t) => t.toFixed(0)).join("/")} ms)`,
    );
    return { name: "cache-prime-filter", ratio, ok: ratio < 1 };
  } finally {
    await dispatcher.close();
    await agent.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
