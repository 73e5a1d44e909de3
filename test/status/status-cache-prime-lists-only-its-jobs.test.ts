// The instance cache's prime asks Nomad only for the objects of its own jobs: the allocation, deployment and
// evaluation lists carry a `filter` (JobID matches the prefix; evaluations also Status == "blocked"), so in a
// namespace shared with other jobs their allocations, deployments and evaluations never cross the network, as an
// operator watching the traffic between the plugin and Nomad sees. The cache holds exactly what it held before.

import { afterEach, describe, expect, it } from "vitest";
import { InstanceCache } from "../../src/provider/instance-cache.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { createLogger } from "../../src/log.js";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { recordingProxy, type Exchange, type RecordingProxy } from "../helpers/recording-proxy.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const log = createLogger({ level: "warn" });

let open: { proxy: RecordingProxy; cache: InstanceCache; nomad: NomadHttp } | undefined;
afterEach(async () => {
  open?.cache.close();
  open?.nomad.close();
  await open?.proxy.close();
  open = undefined;
});

async function register(id: string, count: number, datacenters?: string[]): Promise<void> {
  const job = shJob(id, "exec sleep 600", { count });
  if (datacenters) Object.assign(job.Job, { Datacenters: datacenters });
  expect((await api(agent(), "POST", "/v1/jobs", job)).status).toBe(200);
}

/** A cache primed through a recording proxy; resolves once it serves. */
async function primedCache(prefix?: string): Promise<{ cache: InstanceCache; proxy: RecordingProxy }> {
  const proxy = await recordingProxy(agent().address);
  const nomad = new NomadHttp({ address: proxy.address, ...(agent().managementToken ? { token: agent().managementToken } : {}) });
  const cache = new InstanceCache(nomad, log, prefix === undefined ? {} : { prefix });
  open = { proxy, cache, nomad };
  cache.start();
  await until(async () => cache.live, "the instance cache to serve");
  return { cache, proxy };
}

/** The prime's answer of a list endpoint, as it crossed the proxy. */
function listed(exchanges: Exchange[], path: string): { url: URL; objects: { ID: string; JobID: string; Status?: string }[]; bytes: number } {
  const x = exchanges.find((e) => e.method === "GET" && new URL(e.url, "http://x").pathname === path);
  if (!x?.body) throw new Error(`no answered GET ${path} crossed the proxy`);
  return { url: new URL(x.url, "http://x"), objects: JSON.parse(x.body), bytes: x.bytes };
}

describe("the instance cache's prime", () => {
  it("transfers only the allocations, deployments and blocked evaluations of cp- jobs", async () => {
    await register("cp-one", 2);
    await register("cp-two", 1);
    await register("cp-stuck", 1, ["nowhere"]);
    await register("other-a", 3);
    await register("other-b", 2);
    await register("other-stuck", 1, ["nowhere"]);
    await until(async () => {
      const allocs = (await api(agent(), "GET", "/v1/allocations")).json as { ClientStatus: string }[];
      const blocked = (await api(agent(), "GET", "/v1/evaluations?status=blocked")).json as unknown[];
      return allocs.filter((a) => a.ClientStatus === "running").length === 8 && blocked.length === 2;
    }, "8 running allocations and 2 blocked evaluations");

    const { cache, proxy } = await primedCache();

    const allocs = listed(proxy.exchanges, "/v1/allocations");
    const deployments = listed(proxy.exchanges, "/v1/deployments");
    const evals = listed(proxy.exchanges, "/v1/evaluations");
    expect(allocs.url.searchParams.get("filter")).toBe('JobID matches "^cp-"');
    expect(allocs.url.searchParams.get("resources")).toBe("true");
    expect(deployments.url.searchParams.get("filter")).toBe('JobID matches "^cp-"');
    expect(evals.url.searchParams.get("filter")).toBe('Status == "blocked" and JobID matches "^cp-"');

    // Only the cp- jobs' objects crossed the network: what the unfiltered lists hold of them, in fewer bytes.
    const everything = await Promise.all(["/v1/allocations?resources=true", "/v1/deployments", "/v1/evaluations"].map((p) => api(agent(), "GET", p)));
    const [allAllocs, allDeployments, allEvals] = everything.map((a) => a.json as { ID: string; JobID: string; Status: string }[]);
    const ofCp = (objects: { ID: string; JobID: string }[]) => objects.filter((o) => o.JobID.startsWith("cp-")).map((o) => o.ID).sort();
    expect(allAllocs!.some((a) => a.JobID === "other-a") && allDeployments!.some((d) => d.JobID === "other-b")).toBe(true);
    expect(allocs.objects.map((a) => a.JobID).sort()).toEqual(["cp-one", "cp-one", "cp-two"]);
    expect(allocs.objects.map((a) => a.ID).sort()).toEqual(ofCp(allAllocs!));
    expect(deployments.objects.map((d) => d.ID).sort()).toEqual(ofCp(allDeployments!));
    expect(evals.objects.map((e) => [e.JobID, e.Status])).toEqual([["cp-stuck", "blocked"]]);
    expect(allEvals!.filter((e) => e.Status === "blocked").map((e) => e.JobID).sort()).toEqual(["cp-stuck", "other-stuck"]);
    everything.forEach((unfiltered, i) => expect([allocs, deployments, evals][i]!.bytes).toBeLessThan(Buffer.byteLength(unfiltered.text)));

    // The cache holds what it held when it listed everything.
    expect(cache.instance("cp-one")?.allocs.size).toBe(2);
    expect(cache.instance("cp-two")?.deployments.size).toBe(1);
    expect(cache.instance("cp-two")?.job?.ID).toBe("cp-two");
    expect([...(cache.instance("cp-stuck")?.blockedEvals.values() ?? [])].map((e) => e.Status)).toEqual(["blocked"]);
    expect(cache.instance("other-a")).toBeUndefined();
    expect(cache.size).toBe(3);
  });

  it("escapes a prefix's regular-expression characters: a prefix 'cp.x-' does not take job 'cpyx-1'", async () => {
    await register("cp.x-1", 1);
    await register("cpyx-1", 1);
    await until(async () => {
      const allocs = (await api(agent(), "GET", "/v1/allocations")).json as { JobID: string; ClientStatus: string }[];
      return allocs.filter((a) => a.JobID.endsWith("x-1") && a.ClientStatus === "running").length === 2;
    }, "both jobs running");

    const { cache, proxy } = await primedCache("cp.x-");

    const allocs = listed(proxy.exchanges, "/v1/allocations");
    expect(allocs.url.searchParams.get("filter")).toBe('JobID matches "^cp\\\\.x-"');
    expect(allocs.objects.map((a) => a.JobID)).toEqual(["cp.x-1"]);
    expect(cache.size).toBe(1);
    expect(cache.instance("cp.x-1")?.allocs.size).toBe(1);
  });
});
