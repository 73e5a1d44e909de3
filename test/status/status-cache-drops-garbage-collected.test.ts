// Nomad publishes no event when its garbage collector removes allocations or deployments. The instance cache lists
// them again every resync period and drops what Nomad no longer has, so a long-lived plugin does not keep every
// allocation it ever saw; what it answers stays what Nomad answers.

import { describe, expect, it } from "vitest";
import { ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { InstanceCache } from "../../src/provider/instance-cache.js";
import { readInstanceStatus } from "../../src/provider/status.js";
import { createLogger } from "../../src/log.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

const request = (release: string) => ({
  instanceId: "inst_gc",
  services: [{ name: "web", image: "nginx:1.25", role: ServiceRole.MAIN, env: { RELEASE: release } }],
});
const nomadAllocIds = async () => ((await api(agent(), "GET", "/v1/job/cp-inst_gc/allocations")).json as { ID: string }[]).map((a) => a.ID).sort();

describe("instance cache and Nomad's garbage collection", () => {
  it("drops garbage-collected allocations at its next resync and keeps answering as Nomad", async () => {
    // Three versions: the first two leave stopped allocations behind.
    for (const release of ["r1", "r2", "r3"]) await provider().client.provision(request(release), call);
    const cache = new InstanceCache(provider().nomad, createLogger({ level: "error" }), { resyncMs: 100 });
    try {
      cache.start();
      await until(async () => cache.live, "the cache to be live");
      const before = await nomadAllocIds();
      expect(before.length).toBeGreaterThan(1);
      await until(async () => [...(cache.instance("cp-inst_gc")?.allocs.keys() ?? [])].sort().join() === before.join(), "the cache to hold every allocation");

      expect((await api(agent(), "PUT", "/v1/system/gc")).status).toBe(200);
      const after = await nomadAllocIds();
      expect(after.length).toBeLessThan(before.length);
      await until(async () => [...(cache.instance("cp-inst_gc")?.allocs.keys() ?? [])].sort().join() === after.join(), "the cache to drop the collected allocations");
      expect(cache.stats.collected).toBeGreaterThanOrEqual(before.length - after.length);
      const uncached = (await readInstanceStatus(provider().nomad, "cp-inst_gc", undefined)).status;
      expect(await cache.status("cp-inst_gc", undefined)).toEqual(uncached);
    } finally {
      cache.close();
    }
  });
});
