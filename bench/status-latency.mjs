// Status latency through the plugin vs the same Nomad HTTP calls made directly. The plugin (standalone, a separate
// process) answers Status for a running one-allocation instance on the dev agent (another process). Two paths inside
// the plugin: the cached one (the default) answers from the process-wide event-fed instance cache with no Nomad call
// once the cache is primed (the first Status starts it; src/provider/instance-cache.ts); the uncached one (a Status
// with `uncached`, or while the cache is not live) reads the job, its allocations and its latest deployment in
// parallel, and each running allocation's ports (the list entry lacks them) only the first time it sees that
// allocation: ports never change for an allocation's lifetime. The plugin path measured here is the cached one.
// Two baselines, made with undici from this process, interleaved with the plugin rounds:
//   - uncached client: the minimal calls a client needs for the same answer without a cache — job, allocations and
//     deployment in parallel, then a read of each running current allocation for its ports (4 calls here). The target
//     ratio (<= 1.5) is against this one.
//   - same calls: exactly the calls the plugin's uncached path makes per Status once it knows the allocation (3
//     calls: job, allocations, deployment). Before the cache this isolated the plugin's own overhead (gRPC hop,
//     handler, mapping) on top of identical Nomad work; the cached path makes none of these calls.
// For scale, a third path: the same Status through a bare grpc-js server that makes the uncached path's 3 Nomad reads
// and nothing else (bench/kit/status-floor-server.cjs): what any Node plugin on grpc-js and undici that reads Nomad
// per Status pays at least here.
// Both processes are fresh, and V8 needs on the order of a thousand calls to optimise the code on these paths (the
// plugin's Status cost per call halves over its first ~1,500 calls; the agent warms up too). The plugin is a long-lived
// process, so the target applies to the steady state after that warm-up; the cold figures (the first calls after
// start-up, same interleaving) are printed too.
// CPU per call comes from /proc (plugin and agent processes) and process.cpuUsage (this process, the client side).
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Agent, request } from "undici";
import { agentEntry, loadKit, pluginEntry } from "./kit/load-kit.mjs";

const rounds = 10;
const coldRounds = 4;
/** Calls per path (interleaved, not measured) between the cold rounds and the steady-state rounds. */
const warmCalls = 1500;
const perRound = 50;

async function direct(dispatcher, base, jobId, readPorts) {
  const get = async (path) => {
    const res = await request(`${base}${path}${path.includes("?") ? "&" : "?"}region=global&namespace=default`, { dispatcher });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
    return res.body.json();
  };
  const [job, allocs] = await Promise.all([get(`/v1/job/${jobId}`), get(`/v1/job/${jobId}/allocations`), get(`/v1/job/${jobId}/deployment`)]);
  if (!readPorts) return;
  const current = allocs.filter((a) => a.DesiredStatus === "run" && a.JobVersion === job.Version);
  const hasPorts = (a) => (a.AllocatedResources?.Shared?.Ports ?? []).length > 0 || (a.AllocatedResources?.Shared?.Networks ?? []).some((n) => (n.ReservedPorts ?? []).length + (n.DynamicPorts ?? []).length > 0);
  await Promise.all(current.filter((a) => a.ClientStatus === "running" && !hasPorts(a)).map((a) => get(`/v1/allocation/${a.ID}`)));
}

/** Starts bench/kit/status-floor-server.cjs against the agent; resolves with its pid and address. */
async function startFloorServer(nomadAddress, jobId) {
  const entry = fileURLToPath(new URL("./kit/status-floor-server.cjs", import.meta.url));
  const child = spawn(process.execPath, [entry, nomadAddress, jobId], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise((resolve, reject) => {
    child.stdout.once("data", (d) => resolve(String(d).trim()));
    child.once("exit", (code) => reject(new Error(`status floor server exited ${code}`)));
  });
  return { pid: child.pid, address: `127.0.0.1:${port}`, stop: () => child.kill() };
}

/** CPU time (ms) a process has used so far, from /proc (clock ticks of 10 ms). */
function cpuMs(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Runs fn n times, adding latencies to path.lat and CPU used by each process to path.cpu. */
async function timed(fn, n, path, pids) {
  const before = pids && { plugin: cpuMs(pids.plugin), agent: cpuMs(pids.agent), self: process.cpuUsage() };
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    path?.lat.push(performance.now() - t);
  }
  if (!before) return;
  const self = process.cpuUsage(before.self);
  path.cpu.plugin += cpuMs(pids.plugin) - before.plugin;
  path.cpu.agent += cpuMs(pids.agent) - before.agent;
  path.cpu.client += (self.user + self.system) / 1000;
  path.n += n;
}

const newPath = () => ({ lat: [], cpu: { plugin: 0, agent: 0, client: 0 }, n: 0 });

export async function run() {
  const kit = await loadKit("reliability-kit");
  const agent = await kit.startAgentProcess(agentEntry);
  const plugin = await kit.startPluginProcess(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  let floor;
  let floorClient;
  try {
    const instanceId = `bench_status_${process.pid}`;
    const provisioned = await client.provision(kit.provisionRequest(instanceId), { deadlineMs: 30_000 });
    if (provisioned.state !== kit.InstanceState.RUNNING) throw new Error(`instance not running: state ${provisioned.state}`);
    const jobId = `cp-${instanceId}`;
    floor = await startFloorServer(agent.address, jobId);
    floorClient = kit.createProviderClient(floor.address);
    const paths = {
      plugin: { ...newPath(), fn: () => client.status({ instanceId }) },
      floor: { ...newPath(), fn: () => floorClient.status({ instanceId }) },
      uncached: { ...newPath(), fn: () => direct(dispatcher, agent.address, jobId, true) },
      same: { ...newPath(), fn: () => direct(dispatcher, agent.address, jobId, false) },
    };
    // Fill connection pools and the plugin's port cache; then cold rounds, a long warm-up, steady-state rounds, every
    // phase interleaving the paths so drift in machine load hits all of them.
    for (const p of Object.values(paths)) await timed(p.fn, 30);
    const pids = { plugin: plugin.pid, agent: agent.pid };
    const floorPids = { plugin: floor.pid, agent: agent.pid };
    const cold = Object.fromEntries(Object.keys(paths).map((k) => [k, newPath()]));
    const pidsOf = (k) => (k === "floor" ? floorPids : pids);
    for (let r = 0; r < coldRounds; r++) for (const [k, p] of Object.entries(paths)) await timed(p.fn, perRound, cold[k], pidsOf(k));
    for (let n = coldRounds * perRound; n < warmCalls; n += perRound) for (const p of Object.values(paths)) await timed(p.fn, perRound);
    for (let r = 0; r < rounds; r++) for (const [k, p] of Object.entries(paths)) await timed(p.fn, perRound, p, pidsOf(k));
    for (const p of [...Object.values(paths), ...Object.values(cold)]) p.lat.sort((a, b) => a - b);
    const p50 = (p) => kit.percentile(p.lat, 50);
    const p99 = (p) => kit.percentile(p.lat, 99);
    const cpu = (p) => `cpu/call plugin ${(p.cpu.plugin / p.n).toFixed(2)}, client ${(p.cpu.client / p.n).toFixed(2)}, agent ${(p.cpu.agent / p.n).toFixed(2)} ms`;
    const ratio = p50(paths.plugin) / p50(paths.uncached);
    const sameCallsRatio = p50(paths.plugin) / p50(paths.same);
    const coldRatio = p50(cold.plugin) / p50(cold.uncached);
    const floorRatio = p50(paths.floor) / p50(paths.uncached);
    await client.deprovision({ instanceId });
    console.log(
      `status-latency (steady state, after ${warmCalls} calls per path): Status via plugin p50 ${p50(paths.plugin).toFixed(2)} ms ` +
        `(p99 ${p99(paths.plugin).toFixed(2)}; ${cpu(paths.plugin)}; no Nomad call: answered from the primed instance cache)\n` +
        `  uncached client via undici (job+allocations+deployment, then the allocation: 4 calls) p50 ${p50(paths.uncached).toFixed(2)} ms ` +
        `(p99 ${p99(paths.uncached).toFixed(2)}; client ${(paths.uncached.cpu.client / paths.uncached.n).toFixed(2)}, agent ` +
        `${(paths.uncached.cpu.agent / paths.uncached.n).toFixed(2)} ms cpu/call): ratio ${ratio.toFixed(2)} (target <= 1.5) ${ratio <= 1.5 ? "OK" : "OVER TARGET"}\n` +
        `  the plugin's uncached path's 3 calls (job, allocations, deployment) via undici p50 ${p50(paths.same).toFixed(2)} ms ` +
        `(p99 ${p99(paths.same).toFixed(2)}): ratio ${sameCallsRatio.toFixed(2)} (no target)\n` +
        `  floor: bare grpc-js server making those 3 calls, no logic, p50 ${p50(paths.floor).toFixed(2)} ms (p99 ${p99(paths.floor).toFixed(2)}; ` +
        `server cpu/call ${(paths.floor.cpu.plugin / paths.floor.n).toFixed(2)} ms): ratio ${floorRatio.toFixed(2)} vs the uncached client, ` +
        `plugin/floor ${(p50(paths.plugin) / p50(paths.floor)).toFixed(2)}\n` +
        `  cold (first ${coldRounds * perRound} calls per path after start-up): plugin p50 ${p50(cold.plugin).toFixed(2)} ms (${cpu(cold.plugin)}), ` +
        `uncached client p50 ${p50(cold.uncached).toFixed(2)} ms: ratio ${coldRatio.toFixed(2)}`,
    );
    return {
      name: "status-latency",
      p50PluginMs: p50(paths.plugin),
      p50DirectMs: p50(paths.uncached),
      p50SameCallsMs: p50(paths.same),
      ratio,
      sameCallsRatio,
      coldRatio,
      floorRatio,
      ok: ratio <= 1.5,
    };
  } finally {
    floorClient?.close();
    floor?.stop();
    client.close();
    await dispatcher.close();
    await plugin.stop();
    await agent.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = await run();
  process.exitCode = result.ok ? 0 : 1;
}
