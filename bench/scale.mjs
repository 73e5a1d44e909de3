// Issue #13 at scale: N instances (2,000 by default; BENCH_SCALE_N) provisioned through the plugin (standalone process)
// on the dev agent with --driver-override mock_driver (tasks without processes), then Status read from the plugin's
// event-fed instance cache. One run prints, each against a baseline measured in the same run:
//   - provisioning rate through the plugin (instances/s, 16 Provisions in flight), and Nomad requests per Provision
//     waiting for placement on the instance cache (after the first tenth) vs reading Nomad (the first tenth);
//   - cache priming: from the first Status until a Status costs no Nomad request;
//   - Status p50 at N instances vs at 1 instance (a second, fresh agent+plugin pair; target <= 1.2);
//   - Status p50 vs the minimal direct uncached reads of the same instances (job, allocations, deployment in
//     parallel, with undici, interleaved; target <= 0.5 from the issue);
//   - Nomad requests per 1,000 Status in steady state (counted by the dev agent; target 0);
//   - Status p50 vs the same plugin's Info p50 (an RPC answered from memory: the gRPC floor of this process);
//   - plugin RSS with the cache full (target < 300 MB) against the 1-instance plugin's (an upper bound per cached
//     instance: GC slack and the gRPC/undici state of the provisioning included); Nomad requests per minute while
//     idle (over 10 s);
//   - N WatchStatus watchers (one per instance): event streams open at the agent (target 1), time until every watcher
//     had its first status, then K changes made behind the plugin's back (POST /v1/job/:id/scale to 0, as the Nomad
//     CLI would): time from the write's answer to the watcher's message (p50/p99: the freshness of writes by others)
//     and the Nomad requests the plugin made for them (target 0); plugin RSS with the watchers open.
import { setMaxListeners } from "node:events";
import { Agent, request } from "undici";
import { agentEntry, loadKit, pluginEntry, pollUntil } from "./kit/load-kit.mjs";
import { agentRequests, agentStats, bigNode, primed, provisionAll } from "./kit/many-instances.mjs";

const n = Number(process.env.BENCH_SCALE_N ?? 2000);
const warmCalls = 1500;
const measuredCalls = 1000;
const watchChanges = Math.min(200, n);

async function timeCalls(count, pick, fn) {
  const lat = [];
  for (let i = 0; i < count; i++) {
    const id = pick(i);
    const t = performance.now();
    await fn(id);
    lat.push(performance.now() - t);
  }
  return lat.sort((a, b) => a - b);
}

async function setup(kit, count) {
  const agent = await kit.startAgentProcess(agentEntry, bigNode);
  const plugin = await kit.startPluginProcess(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const ids = Array.from({ length: count }, (_, i) => `scale_${i}`);
  const started = performance.now();
  // The first tenth waits for placement by reading Nomad; then a Status starts the instance cache (as a host's
  // poller would) and the rest wait on its events: Nomad requests per Provision, both ways.
  const uncached = count >= 20 ? ids.slice(0, Math.ceil(count / 10)) : ids;
  let before = await agentRequests(agent.address);
  const t0 = performance.now();
  await provisionAll(kit, client, uncached);
  const uncachedRate = uncached.length / ((performance.now() - t0) / 1000);
  const perProvisionUncached = ((await agentRequests(agent.address)) - before) / uncached.length;
  let perProvisionCached;
  let cachedRate;
  let primeMs;
  if (uncached.length < ids.length) {
    primeMs = await primed({ agent, client, ids: uncached });
    before = await agentRequests(agent.address);
    const t1 = performance.now();
    await provisionAll(kit, client, ids.slice(uncached.length));
    cachedRate = (ids.length - uncached.length) / ((performance.now() - t1) / 1000);
    perProvisionCached = ((await agentRequests(agent.address)) - before) / (ids.length - uncached.length);
  }
  const provisionS = (performance.now() - started) / 1000;
  return { agent, plugin, client, ids, provisionS, perProvisionUncached, perProvisionCached, uncachedRate, cachedRate, primeMs };
}

/** Opens one WatchStatus per instance; resolves once each has its first status. */
async function watchAll(kit, env) {
  const clients = Array.from({ length: 4 }, () => kit.createProviderClient(env.plugin.address));
  const stop = new AbortController();
  setMaxListeners(0, stop.signal); // one abort listener per watcher, by design
  const first = new Set();
  const waiters = new Map();
  const started = performance.now();
  const done = env.ids.map(async (instanceId, i) => {
    try {
      for await (const msg of clients[i % clients.length].watchStatus({ instanceId }, { signal: stop.signal })) {
        first.add(instanceId);
        const w = waiters.get(instanceId);
        if (w?.pred(msg.status)) {
          waiters.delete(instanceId);
          w.resolve(performance.now());
        }
      }
    } catch (err) {
      if (!stop.signal.aborted) throw err;
    }
  });
  await pollUntil(async () => first.size === env.ids.length, 300_000);
  if (first.size !== env.ids.length) throw new Error(`only ${first.size} of ${env.ids.length} watchers had a status`);
  const upMs = performance.now() - started;
  /** Resolves with the time the watcher of `instanceId` receives a status matching `pred`. */
  const next = (instanceId, pred) => new Promise((resolve) => waiters.set(instanceId, { pred, resolve }));
  const close = async () => {
    stop.abort();
    await Promise.allSettled(done);
    for (const c of clients) c.close();
  };
  return { upMs, next, close };
}

async function teardown(env) {
  env.client.close();
  await env.plugin.stop();
  await env.agent.stop();
}

export async function run() {
  const kit = await loadKit("reliability-kit");

  // Baseline: the same plugin with one instance.
  const one = await setup(kit, 1);
  await primed(one);
  await timeCalls(warmCalls, () => one.ids[0], (id) => one.client.status({ instanceId: id }));
  const p50One = kit.percentile(await timeCalls(measuredCalls, () => one.ids[0], (id) => one.client.status({ instanceId: id })), 50);
  const rssOneMb = kit.rssBytes(one.plugin.pid) / 2 ** 20;
  await teardown(one);

  const env = await setup(kit, n);
  const rate = n / env.provisionS;
  await primed(env);
  // This plugin's cache was started after the first tenth and followed the rest from the stream: a second plugin
  // process started now primes from scratch at N instances.
  const fresh = await kit.startPluginProcess(pluginEntry, env.agent.address);
  const freshClient = kit.createProviderClient(fresh.address);
  const primeMs = await primed({ agent: env.agent, client: freshClient, ids: env.ids });
  freshClient.close();
  await fresh.stop();
  const dispatcher = new Agent({ connections: 8 });
  const direct = async (id) => {
    const get = async (path) => {
      const res = await request(`${env.agent.address}${path}`, { dispatcher });
      if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
      return res.body.json();
    };
    await Promise.all([get(`/v1/job/cp-${id}`), get(`/v1/job/cp-${id}/allocations`), get(`/v1/job/cp-${id}/deployment`)]);
  };
  const random = () => env.ids[Math.floor(Math.random() * env.ids.length)];
  for (let i = 0; i < warmCalls / 50; i++) {
    await timeCalls(50, random, (id) => env.client.status({ instanceId: id }));
    await timeCalls(50, random, direct);
  }
  const pluginLat = [];
  const directLat = [];
  const before = await agentRequests(env.agent.address);
  for (let i = 0; i < measuredCalls / 50; i++) pluginLat.push(...(await timeCalls(50, random, (id) => env.client.status({ instanceId: id }))));
  const statusRequests = (await agentRequests(env.agent.address)) - before;
  for (let i = 0; i < measuredCalls / 50; i++) directLat.push(...(await timeCalls(50, random, direct)));
  pluginLat.sort((a, b) => a - b);
  directLat.sort((a, b) => a - b);
  const p50N = kit.percentile(pluginLat, 50);
  const p50Direct = kit.percentile(directLat, 50);
  const infoLat = [];
  for (let i = 0; i < measuredCalls / 50; i++) infoLat.push(...(await timeCalls(50, random, () => env.client.info({}))));
  const p50Info = kit.percentile(infoLat.sort((a, b) => a - b), 50);
  const rssMb = kit.rssBytes(env.plugin.pid) / 2 ** 20;
  const idleBefore = await agentRequests(env.agent.address);
  await new Promise((r) => setTimeout(r, 10_000));
  const idlePerMin = ((await agentRequests(env.agent.address)) - idleBefore) * 6;

  // WatchStatus: one watcher per instance, then changes made by someone else.
  const watch = await watchAll(kit, env);
  const streamsOpen = (await agentStats(env.agent.address)).EventStreams.Open;
  const watchRssMb = kit.rssBytes(env.plugin.pid) / 2 ** 20;
  const changeLat = [];
  const changeBefore = await agentRequests(env.agent.address);
  for (let i = 0; i < watchChanges; i++) {
    const id = env.ids[i];
    const seen = watch.next(id, (s) => s.state === kit.InstanceState.STOPPED);
    const res = await request(`${env.agent.address}/v1/job/cp-${id}/scale`, {
      method: "POST",
      dispatcher,
      body: JSON.stringify({ Count: 0, Target: { Group: "workload" }, Message: "bench: scaled by someone else" }),
    });
    if (res.statusCode !== 200) throw new Error(`scale cp-${id}: ${res.statusCode} ${await res.body.text()}`);
    await res.body.dump();
    const answered = performance.now();
    changeLat.push((await seen) - answered);
  }
  // The writes themselves are counted by the agent too: what is left is what the plugin asked.
  const watchReads = (await agentRequests(env.agent.address)) - changeBefore - watchChanges;
  changeLat.sort((a, b) => a - b);
  await watch.close();
  await dispatcher.close();
  await teardown(env);

  const perThousand = (statusRequests / measuredCalls) * 1000;
  const atScale = p50N / p50One;
  const vsDirect = p50N / p50Direct;
  console.log(`scale: ${n} instances provisioned through the plugin in ${env.provisionS.toFixed(1)} s (${rate.toFixed(0)}/s, mock_driver); a fresh plugin's instance cache primed ${(primeMs / 1000).toFixed(1)} s after its first Status`);
  if (env.perProvisionCached !== undefined) {
    console.log(`scale: Nomad requests per Provision ${env.perProvisionCached.toFixed(1)} waiting on the instance cache vs ${env.perProvisionUncached.toFixed(1)} reading Nomad (first ${Math.ceil(n / 10)}): ratio ${(env.perProvisionCached / env.perProvisionUncached).toFixed(2)}; rate ${env.cachedRate.toFixed(0)}/s vs ${env.uncachedRate.toFixed(0)}/s`);
  }
  console.log(`scale: Status p50 at ${n} instances ${p50N.toFixed(2)} ms vs at 1 ${p50One.toFixed(2)} ms: ratio ${atScale.toFixed(2)} (target <= 1.2) ${atScale <= 1.2 ? "OK" : "OVER TARGET"}`);
  console.log(`scale: Status p50 ${p50N.toFixed(2)} ms vs direct uncached reads (job+allocations+deployment) ${p50Direct.toFixed(2)} ms: ratio ${vsDirect.toFixed(2)} (target <= 0.5) ${vsDirect <= 0.5 ? "OK" : "OVER TARGET"}`);
  console.log(`scale: Nomad requests per 1,000 Status ${perThousand.toFixed(0)} (target 0); plugin RSS ${rssMb.toFixed(0)} MiB (target < 300; ${rssOneMb.toFixed(0)} MiB with 1 instance, so at most ${(((rssMb - rssOneMb) * 2 ** 20) / n / 1024).toFixed(1)} KiB per cached instance, GC slack included); idle Nomad requests/min ${idlePerMin}`);
  console.log(`scale: Status p50 ${p50N.toFixed(2)} ms vs Info p50 ${p50Info.toFixed(2)} ms (an RPC answered from memory: this process's gRPC floor): ratio ${(p50N / p50Info).toFixed(2)}`);
  console.log(`scale: ${n} WatchStatus watchers on ${streamsOpen} upstream event stream(s) (target 1), all with a first status in ${(watch.upMs / 1000).toFixed(1)} s; plugin RSS ${watchRssMb.toFixed(0)} MiB with them open`);
  console.log(`scale: ${watchChanges} changes by someone else (POST /v1/job/:id/scale) reached their watchers p50 ${kit.percentile(changeLat, 50).toFixed(1)} ms / p99 ${kit.percentile(changeLat, 99).toFixed(1)} ms after Nomad answered the write, with ${watchReads} Nomad requests by the plugin (target 0)`);
  return {
    name: "scale",
    ratio: atScale,
    ok: atScale <= 1.2 && perThousand === 0 && rssMb < 300 && streamsOpen === 1 && watchReads === 0,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
