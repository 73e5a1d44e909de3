// Provision, Stop and Start wait for their instance to converge before answering. With the process's instance cache
// live they wait on its events instead of polling Nomad: none of them lists the job's allocations or reads its
// deployment (the reads an uncached wait repeats on every change), and each answers as before.

import { describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { instanceCache } from "../../src/provider/instance-cache.js";
import { createLogger } from "../../src/log.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

/** The job's allocation-list and deployment reads (blocking or not) served by the agent so far. */
const waitReads = async (jobId: string) => {
  const requests = (await api(agent(), "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;
  return (requests[`GET /v1/job/${jobId}/allocations`] ?? 0) + (requests[`GET /v1/job/${jobId}/deployment`] ?? 0);
};

const request = (instanceId: string) => ({
  instanceId,
  services: [{ name: "web", image: "nginx:1.25", role: ServiceRole.MAIN }],
});

describe("writes with the instance cache live", () => {
  it("wait for their instance on the cache's events, without reading its allocations or deployment", async () => {
    // Uncached first: the wait reads Nomad.
    expect((await provider().client.provision(request("inst_wait_uncached"), call)).state).toBe(InstanceState.RUNNING);
    expect(await waitReads("cp-inst_wait_uncached")).toBeGreaterThan(0);

    // Something (a Status, as a host's poller makes) starts the cache.
    const cache = instanceCache(provider().nomad, createLogger({ level: "error" }));
    await provider().client.status({ instanceId: "inst_wait_uncached" }, call);
    await until(async () => cache.live, "the cache to be live");

    const id = "inst_wait_cached";
    const provisioned = await provider().client.provision(request(id), call);
    expect(provisioned.state).toBe(InstanceState.RUNNING);
    expect(provisioned.endpoints).toEqual((await provider().client.status({ instanceId: id, uncached: true }, call)).status?.endpoints);
    expect(await provider().client.stop({ instanceId: id }, call)).toMatchObject({ state: InstanceState.STOPPED });
    expect(await provider().client.start({ instanceId: id }, call)).toMatchObject({ state: InstanceState.RUNNING });
    // Only the uncached Status above read them (once each).
    expect(await waitReads(`cp-${id}`)).toBe(2);
  });
});
