// Issue #13, the instance cache (src/provider/instance-cache.ts) measured from inside: the cache runs in this process
// (bench/kit/cache-kit.ts) against dev agents (separate processes, --driver-override mock_driver) whose instances were
// provisioned through the plugin (a plugin process, stopped once they run), so the jobs have the plugin's shape.
// One run prints, each against a baseline measured in the same run:
//   - freshness of writes made by others: this process writes straight to the agent's HTTP API, as another client
//     would (POST /v1/jobs re-registering the job with a changed Meta, which also starts a stopped job;
//     POST /v1/job/:id/scale; DELETE /v1/job/:id without purge; the three in turn), one write at a time on a job with
//     no deployment in progress, and times until the cache's onChange names the job with the write visible in its
//     cached job. Measured from the write's request start (the agent's own time to answer included) and from its
//     answer (the cache's lag; the event can be applied before the answer arrives: counted, taken as 0). The cache
//     holds N instances on one agent (each write on another job) vs 1 instance on another agent (every write on that
//     job); both caches live side by side, rounds interleaved. Ratios N vs 1 of p50 and p99. No target in the issue;
//     a write never seen within 10 s fails the bench.
//   - heap bytes per cached instance: V8 heap used after GC with one more cache primed at N vs at 1 instance (same
//     agent; the cache's prefix option keeps 1), i.e. (heap(+N) - heap(+1) - (heap(+1) - heap(+0))) / (N - 1), the
//     fixed cost of a cache left out; median of 5 rounds. Compared with the heap of the full Nomad objects an uncached Status reads (job, allocations list,
//     latest deployment) held for the same N, and in JSON bytes: the cache's compact projection per instance vs
//     those full objects (and the full allocation, which is what the event stream carries).
// Not measured here: the same freshness through the plugin's Status (gRPC polling adds its own interval on top of
// what is measured here; the plugin answers Status from this same cache).
import v8 from "node:v8";
import { runInNewContext } from "node:vm";
import { Agent, request } from "undici";
import { agentEntry, loadKit, pluginEntry, pollUntil } from "./kit/load-kit.mjs";
import { bigNode, provisionAll } from "./kit/many-instances.mjs";

const n = Number(process.env.BENCH_SCALE_N ?? 2000);
const writesPerPath = Number(process.env.BENCH_FRESHNESS_WRITES ?? 240);
const perRound = 20;
const seenTimeoutMs = 10_000;
const heapRounds = 5;

/** A gc() without --expose-gc on the command line (bench/run.mjs runs every bench in one plain node process). */
function gcFunction() {
  if (typeof globalThis.gc === "function") return globalThis.gc;
  v8.setFlagsFromString("--expose-gc");
  return runInNewContext("gc");
}
const gc = gcFunction();

/** Heap used after full collections (a turn of the event loop first, so finished requests let go of their buffers). */
async function heapUsed() {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  return v8.getHeapStatistics().used_heap_size;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** An agent process with `count` instances provisioned through a plugin process (stopped afterwards). */
async function populatedAgent(rk, count) {
  const agent = await rk.startAgentProcess(agentEntry, bigNode);
  const plugin = await rk.startPluginProcess(pluginEntry, agent.address);
  const client = rk.createProviderClient(plugin.address);
  const width = String(Math.max(count - 1, 0)).length;
  const ids = Array.from({ length: count }, (_, i) => `fresh_${String(i).padStart(width, "0")}`);
  const started = performance.now();
  try {
    await provisionAll(rk, client, ids);
  } finally {
    client.close();
    await plugin.stop();
  }
  return { agent, jobIds: ids.map((id) => `cp-${id}`), provisionS: (performance.now() - started) / 1000 };
}

async function liveCache(ck, nomad, log, prefix, size) {
  const cache = new ck.InstanceCache(nomad, log, { prefix });
  cache.start();
  const ok = await pollUntil(() => cache.live && cache.size === size, 120_000);
  if (!ok) throw new Error(`instance cache (prefix ${prefix}) not live with ${size} instances: ${cache.state}, ${cache.size}`);
  return cache;
}

/** JSON bytes of what the cache holds for a job (its Maps as arrays). */
function compactBytes(inst) {
  const plain = {
    job: inst.job,
    versions: inst.versions,
    allocs: [...inst.allocs.values()],
    deployments: [...inst.deployments.values()],
    blockedEvals: [...inst.blockedEvals.values()],
  };
  return Buffer.byteLength(JSON.stringify(plain));
}

async function pool(items, width, work) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

/**
 * One measurement: heap used with a cache of 1 instance, with a second such cache, and with a third cache of N (all
 * live), then all closed. The first cache only settles the heap: at N = 2,000 the heap after the first priming of a
 * round is 100-150 KiB below the heap before it, whatever that cache holds (consecutive readings agree within 0.1 KiB),
 * so the heap with no cache is no baseline; after it, the readings add up.
 * The caches never leave this function, so once it has returned nothing but the WeakRefs it hands back holds them
 * (a suspended async function keeps every value its registers held).
 */
async function heapRound(ck, nomad, log, env) {
  const settle = await liveCache(ck, nomad, log, env.jobIds[0], 1);
  const h1 = await heapUsed();
  const one = await liveCache(ck, nomad, log, env.jobIds[0], 1);
  const h2 = await heapUsed();
  const all = await liveCache(ck, nomad, log, "cp-", n);
  const hN = await heapUsed();
  let compact = 0;
  for (const id of env.jobIds) compact += compactBytes(all.instance(id));
  for (const c of [settle, one, all]) c.close();
  return { fixed: h2 - h1, perInstance: (hN - h2 - (h2 - h1)) / (n - 1), compact, refs: [settle, one, all].map((c) => new WeakRef(c)) };
}

/** Waits until V8 has collected closed caches: one lets go of its instances once its stream's socket is gone. */
async function collected(refs) {
  for (let i = 0; refs.some((r) => r.deref()); i++) {
    if (i > 500) throw new Error("a closed instance cache was never collected");
    await new Promise((r) => setTimeout(r, 10));
    gc();
  }
}

async function memory(ck, log, env) {
  const nomad = new ck.NomadHttp({ address: env.agent.address });
  // A first round only warms up: the transport's connections and the priming code's JIT output exist before the
  // rounds that count.
  await collected((await heapRound(ck, nomad, log, env)).refs);
  const perInstance = [];
  const fixed = [];
  let compact = 0;
  for (let r = 0; r < heapRounds; r++) {
    const m = await heapRound(ck, nomad, log, env);
    await collected(m.refs);
    fixed.push(m.fixed);
    perInstance.push(m.perInstance);
    compact = m.compact;
  }

  // The full objects an uncached Status reads, held as parsed JSON for the same N; the full allocation for its size.
  const dispatcher = new Agent({ connections: 8 });
  const get = async (path) => {
    const res = await request(`${env.agent.address}${path}`, { dispatcher });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode} ${text}`);
    return text;
  };
  const held = [];
  let fullBytes = 0;
  let allocBytes = 0;
  const hold = async (id) => {
    const texts = await Promise.all([get(`/v1/job/${id}`), get(`/v1/job/${id}/allocations`), get(`/v1/job/${id}/deployment`)]);
    fullBytes += texts.reduce((a, t) => a + Buffer.byteLength(t), 0);
    const [job, allocs, deployment] = texts.map((t) => JSON.parse(t));
    held.push({ job, allocs, deployment });
    for (const a of allocs) {
      const full = await get(`/v1/allocation/${a.ID}`);
      allocBytes += Buffer.byteLength(full);
    }
  };
  // As for the cache, the fixed part (connections, compiled code) is left out: heap with 1 instance held vs with N.
  await pool([...Array(8)].map(() => env.jobIds[0]), 8, (id) => get(`/v1/job/${id}/allocations`));
  await hold(env.jobIds[0]);
  const hFull1 = await heapUsed();
  await pool(env.jobIds.slice(1), 8, hold);
  const hFullN = await heapUsed();
  const fullHeap = (hFullN - hFull1) / (held.length - 1);
  await dispatcher.close();
  return {
    heap: median(perInstance),
    heapRange: [Math.min(...perInstance), Math.max(...perInstance)],
    fixed: median(fixed),
    compactJson: compact / n,
    fullJson: fullBytes / n,
    allocJson: allocBytes / n,
    fullHeap,
  };
}

/** One path of the freshness measurement: a live cache and the agent it follows. */
function freshnessPath(name, cache, address, jobIds) {
  const path = { name, cache, address, jobIds, i: 0, fromStart: [], afterAnswer: [], answer: [], early: 0, missed: 0, kinds: {} };
  cache.onChange((touched) => {
    const p = path.pending;
    if (!p || p.seenAt !== undefined || !touched.has(p.jobId)) return;
    if (!p.applied(cache.instance(p.jobId)?.job)) return;
    p.seenAt = performance.now();
    p.resolve();
  });
  return path;
}

const kinds = ["register", "scale", "stop"];

async function quiet(call, jobId) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const d = JSON.parse(await call("GET", `/v1/job/${jobId}/deployment`));
    if (d?.Status !== "running" && d?.Status !== "paused") return;
    if (Date.now() > deadline) throw new Error(`${jobId}: deployment ${d.ID} still ${d.Status} after 60 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function oneWrite(path, dispatcher) {
  const i = path.i++;
  const jobId = path.jobIds[i % path.jobIds.length];
  const call = async (method, p, body) => {
    const res = await request(`${path.address}${p}`, { method, dispatcher, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`${method} ${p}: ${res.statusCode} ${text}`);
    return text;
  };
  // Not timed: wait until the job has no deployment in progress (Nomad refuses a scale during one, and the writes of
  // both paths then land on a quiet job), then read it as the other client sees it.
  await quiet(call, jobId);
  const job = JSON.parse(await call("GET", `/v1/job/${jobId}`));
  const kind = job.Stop ? "register" : kinds[i % kinds.length];
  let send;
  let applied;
  if (kind === "register") {
    const seq = `${path.name}-${i}`;
    job.Meta = { ...job.Meta, "bench.freshness": seq };
    job.Stop = false;
    // Deployments of the plugin's jobs wait 2 s of health per allocation; this client does not, so that the
    // 1-instance path (every write on the same job) need not wait seconds before each scale.
    for (const g of job.TaskGroups) if (g.Update) g.Update.MinHealthyTime = 0;
    send = () => call("POST", "/v1/jobs", { Job: job });
    applied = (j) => j?.Meta?.["bench.freshness"] === seq && j.Stop === false;
  } else if (kind === "scale") {
    const group = job.TaskGroups[0];
    const count = group.Count === 1 ? 2 : 1;
    send = () => call("POST", `/v1/job/${jobId}/scale`, { Count: count, Target: { Group: group.Name } });
    applied = (j) => j?.TaskGroups?.[0]?.Count === count;
  } else {
    send = () => call("DELETE", `/v1/job/${jobId}`);
    applied = (j) => j?.Stop === true;
  }
  let timer;
  const seen = new Promise((resolve) => {
    path.pending = { jobId, applied, resolve };
  });
  const t0 = performance.now();
  await send();
  const t1 = performance.now();
  const ok = await Promise.race([seen.then(() => true), new Promise((r) => (timer = setTimeout(() => r(false), seenTimeoutMs)))]);
  clearTimeout(timer);
  const seenAt = path.pending.seenAt;
  path.pending = undefined;
  path.answer.push(t1 - t0);
  if (!ok) {
    path.missed++;
    return;
  }
  path.kinds[kind] ??= [];
  path.kinds[kind].push(seenAt - t0);
  path.fromStart.push(seenAt - t0);
  if (seenAt < t1) path.early++;
  path.afterAnswer.push(Math.max(0, seenAt - t1));
}

async function freshness(ck, log, many, one) {
  const nomadMany = new ck.NomadHttp({ address: many.agent.address });
  const nomadOne = new ck.NomadHttp({ address: one.agent.address });
  const cacheMany = await liveCache(ck, nomadMany, log, "cp-", n);
  const cacheOne = await liveCache(ck, nomadOne, log, "cp-", 1);
  const dispatcher = new Agent({ connections: 4 });
  const paths = [freshnessPath("many", cacheMany, many.agent.address, many.jobIds), freshnessPath("one", cacheOne, one.agent.address, one.jobIds)];
  try {
    // A short warm-up per path (not measured), then interleaved rounds so drift in machine load hits both.
    for (const p of paths) for (let k = 0; k < perRound; k++) await oneWrite(p, dispatcher);
    for (const p of paths) Object.assign(p, { fromStart: [], afterAnswer: [], answer: [], early: 0, missed: 0, kinds: {} });
    for (let done = 0; done < writesPerPath; done += perRound) for (const p of paths) for (let k = 0; k < perRound; k++) await oneWrite(p, dispatcher);
  } finally {
    cacheMany.close();
    cacheOne.close();
    await dispatcher.close();
  }
  for (const p of paths) for (const xs of [p.fromStart, p.afterAnswer, p.answer, ...Object.values(p.kinds)]) xs.sort((a, b) => a - b);
  return { many: paths[0], one: paths[1] };
}

export async function run() {
  const rk = await loadKit("reliability-kit");
  const ck = await loadKit("cache-kit");
  const log = ck.createLogger({ level: "warn" });
  const one = await populatedAgent(rk, 1);
  let many;
  try {
    many = await populatedAgent(rk, n);
    const mem = await memory(ck, log, many);
    const fresh = await freshness(ck, log, many, one);
    const pct = (xs, q) => rk.percentile(xs, q);
    const ms = (x) => x.toFixed(2);
    const describe = (p) =>
      `p50 ${ms(pct(p.fromStart, 50))} ms, p99 ${ms(pct(p.fromStart, 99))} ms from the request's start; ` +
      `after the answer p50 ${ms(pct(p.afterAnswer, 50))}, p99 ${ms(pct(p.afterAnswer, 99))} ms (${p.early} of ${p.fromStart.length} applied before the answer arrived); ` +
      `write answered p50 ${ms(pct(p.answer, 50))} ms; by kind p50 ${Object.entries(p.kinds).map(([k, xs]) => `${k} ${ms(pct(xs, 50))} (${xs.length})`).join(", ")}` +
      `${p.missed ? `; ${p.missed} NEVER SEEN within ${seenTimeoutMs / 1000} s` : ""}`;
    const ratio = (xs, ys, q) => (pct(ys, q) > 0 ? (pct(xs, q) / pct(ys, q)).toFixed(2) : "n/a");
    const ratio50 = pct(fresh.many.fromStart, 50) / pct(fresh.one.fromStart, 50);
    const kib = (b) => (b / 1024).toFixed(2);
    console.log(`cache-freshness: ${n} instances provisioned through the plugin in ${many.provisionS.toFixed(1)} s (mock_driver); ${fresh.many.fromStart.length} writes by another client per path, interleaved in rounds of ${perRound}`);
    console.log(`cache-freshness: write to visible in the cache at ${n} instances: ${describe(fresh.many)}`);
    console.log(`cache-freshness: at 1 instance (another agent): ${describe(fresh.one)}`);
    console.log(
      `cache-freshness: ratio ${n} vs 1 from the request's start: p50 ${ratio50.toFixed(2)}, p99 ${ratio(fresh.many.fromStart, fresh.one.fromStart, 99)}; ` +
        `after the answer (the cache's own lag): p50 ${ratio(fresh.many.afterAnswer, fresh.one.afterAnswer, 50)}, p99 ${ratio(fresh.many.afterAnswer, fresh.one.afterAnswer, 99)} (no target)`,
    );
    console.log(
      `cache-freshness: heap per cached instance ${mem.heap.toFixed(0)} B (${kib(mem.heap)} KiB; rounds ${mem.heapRange.map((b) => b.toFixed(0)).join("..")} B; a cache with 1 instance ${kib(mem.fixed)} KiB) ` +
        `vs the full objects an uncached Status reads, held parsed: ${mem.fullHeap.toFixed(0)} B: ratio ${(mem.heap / mem.fullHeap).toFixed(2)}; ` +
        `${n} instances: ${((mem.heap * n) / 2 ** 20).toFixed(1)} MiB cached vs ${((mem.fullHeap * n) / 2 ** 20).toFixed(1)} MiB full`,
    );
    console.log(
      `cache-freshness: JSON bytes per instance: compact projection ${mem.compactJson.toFixed(0)} vs full job+allocations+deployment ${mem.fullJson.toFixed(0)}: ratio ${(mem.compactJson / mem.fullJson).toFixed(2)} ` +
        `(the full allocations, as the event stream carries them: ${mem.allocJson.toFixed(0)} more)`,
    );
    const ok = fresh.many.missed === 0 && fresh.one.missed === 0;
    return { name: "cache-freshness", ratio: ratio50, ok };
  } finally {
    await many?.agent.stop();
    await one.agent.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
