// Status latency through the plugin vs the same Nomad HTTP calls made directly: the plugin (standalone, a separate
// process) answers Status for a running one-allocation instance on the dev agent (another process); the baseline
// makes Status's own request sequence (job, then allocations and latest deployment in parallel, then each current
// allocation whose list entry lacks its ports) with undici from this process. Target: p50 ratio <= 1.5.
import { Agent, request } from "undici";
import { agentEntry, loadReliabilityKit, pluginEntry } from "./reliability-bundle.mjs";

const rounds = 10;
const perRound = 50;

async function direct(dispatcher, base, jobId) {
  const get = async (path) => {
    const res = await request(`${base}${path}${path.includes("?") ? "&" : "?"}region=global&namespace=default`, { dispatcher });
    if (res.statusCode !== 200) throw new Error(`GET ${path}: ${res.statusCode}`);
    return res.body.json();
  };
  const job = await get(`/v1/job/${jobId}`);
  const [allocs] = await Promise.all([get(`/v1/job/${jobId}/allocations`), get(`/v1/job/${jobId}/deployment`)]);
  const current = allocs.filter((a) => a.DesiredStatus === "run" && a.JobVersion === job.Version);
  const hasPorts = (a) => (a.AllocatedResources?.Shared?.Ports ?? []).length > 0 || (a.AllocatedResources?.Shared?.Networks ?? []).some((n) => (n.ReservedPorts ?? []).length + (n.DynamicPorts ?? []).length > 0);
  await Promise.all(current.filter((a) => a.ClientStatus === "running" && !hasPorts(a)).map((a) => get(`/v1/allocation/${a.ID}`)));
}

async function timed(fn, n, into) {
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn();
    into.push(performance.now() - t);
  }
}

export async function run() {
  const kit = await loadReliabilityKit();
  const agent = await kit.startAgentProcess(agentEntry);
  const plugin = await kit.startPluginProcess(pluginEntry, agent.address);
  const client = kit.createProviderClient(plugin.address);
  const dispatcher = new Agent({ connections: 64, pipelining: 1, keepAliveTimeout: 30_000 });
  try {
    const instanceId = `bench_status_${process.pid}`;
    const provisioned = await client.provision(kit.provisionRequest(instanceId), { deadlineMs: 30_000 });
    if (provisioned.state !== kit.InstanceState.RUNNING) throw new Error(`instance not running: state ${provisioned.state}`);
    const viaPlugin = () => client.status({ instanceId });
    const viaHttp = () => direct(dispatcher, agent.address, `cp-${instanceId}`);
    // Warm both paths (JIT, connection pools), then interleave rounds so drift in machine load hits both.
    await timed(viaPlugin, 30, []);
    await timed(viaHttp, 30, []);
    const plugin_ = [];
    const http = [];
    for (let r = 0; r < rounds; r++) {
      await timed(viaPlugin, perRound, plugin_);
      await timed(viaHttp, perRound, http);
    }
    plugin_.sort((a, b) => a - b);
    http.sort((a, b) => a - b);
    const p50Plugin = kit.percentile(plugin_, 50);
    const p50Http = kit.percentile(http, 50);
    const ratio = p50Plugin / p50Http;
    await client.deprovision({ instanceId });
    console.log(
      `status-latency: Status via plugin p50 ${p50Plugin.toFixed(2)} ms (p99 ${kit.percentile(plugin_, 99).toFixed(2)}); ` +
        `same Nomad calls via undici p50 ${p50Http.toFixed(2)} ms (p99 ${kit.percentile(http, 99).toFixed(2)}); ` +
        `ratio ${ratio.toFixed(2)} (target <= 1.5) ${ratio <= 1.5 ? "OK" : "OVER TARGET"}`,
    );
    return { name: "status-latency", p50PluginMs: p50Plugin, p50DirectMs: p50Http, ratio, ok: ratio <= 1.5 };
  } finally {
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
