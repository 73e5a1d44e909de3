// When Nomad refuses the event stream (a token without the capability: Nomad 1.6-1.9 answer 500 "Permission denied"),
// the instance cache cannot be fed: every Status then reads Nomad, as before the cache, with the same answer, and
// HealthCheck shows the cache's state.

import { describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { healthCheckFamily } from "../../src/provider/health-check.js";
import { instanceCache } from "../../src/provider/instance-cache.js";
import { createLogger } from "../../src/log.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, healthCheckFamily] }));
const call = { deadlineMs: 20_000 };

const jobReads = async () => ((await api(agent(), "GET", "/v1/devagent/stats")).json.Requests["GET /v1/job/cp-inst_refused"] as number | undefined) ?? 0;

describe("Status while the event stream is refused", () => {
  it("reads Nomad on every call and answers as the uncached path does", async () => {
    agent().faults.set({ failWith500: { pathPrefix: "/v1/event/stream", body: "rpc error: Permission denied" } });
    const res = await provider().client.provision(
      { instanceId: "inst_refused", services: [{ name: "web", image: "nginx:1.25", role: ServiceRole.MAIN }] },
      call,
    );
    expect(res.state).toBe(InstanceState.RUNNING);
    const cache = instanceCache(provider().nomad, createLogger({ level: "error" }));
    await provider().client.status({ instanceId: "inst_refused" }, call); // starts the cache, which is then refused
    await until(async () => cache.state === "refused", "the cache to be refused");

    const before = await jobReads();
    const cached = await provider().client.status({ instanceId: "inst_refused" }, call);
    const uncached = await provider().client.status({ instanceId: "inst_refused", uncached: true }, call);
    expect(cached.status?.state).toBe(InstanceState.RUNNING);
    expect(cached.status).toEqual(uncached.status);
    expect(await jobReads()).toBe(before + 2);

    // HealthCheck shows it, without calling Nomad unhealthy for it.
    const health = await provider().client.healthCheck({}, call);
    expect(health.healthy).toBe(true);
    expect(health.components.find((c) => c.name === "instance_cache")).toMatchObject({
      healthy: true,
      message: expect.stringMatching(/^refused: .*Permission denied.*; Status reads Nomad directly until it is back$/),
    });
    agent().faults.clear();
  });
});
