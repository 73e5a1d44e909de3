// Resources through the plugin against the dev agent: real processes, stats from /proc.
import { describe, expect, it } from "vitest";
import type { ResourcesResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { until } from "../helpers/dev-agent.js";
import { newInstanceId, runInstance, useObserveStack } from "../helpers/observe-stack.js";

const stack = useObserveStack();

async function first(stream: AsyncIterable<ResourcesResponse>): Promise<ResourcesResponse> {
  for await (const r of stream) return r;
  throw new Error("no sample");
}

describe("Resources", () => {
  it("shows non-zero CPU for a busy task, with memory and limits per service", async () => {
    const instance = newInstanceId("busy");
    await runInstance(stack().agent, instance, { script: "while :; do :; done", cpu: 500, memoryMb: 128 });
    const sample = await until(async () => {
      const s = await first(stack().provider.client.resources({ instanceId: instance }));
      return s.cpuPercent > 0 ? s : undefined;
    }, "a sample with CPU usage");
    expect(sample.allocations).toBe(1);
    expect(sample.memoryLimitMb).toBe(128n);
    expect(sample.memoryUsedMb).toBeGreaterThanOrEqual(0n);
    expect(sample.services.map((s) => s.serviceName)).toEqual(["app"]);
    expect(sample.services[0]!.cpuPercent).toBe(sample.cpuPercent);
    expect(sample.message).toBe("");
  });

  it("streams a sample every interval until cancelled, and one sample without interval", async () => {
    const instance = newInstanceId("idle");
    await runInstance(stack().agent, instance, { script: "exec sleep 3600" }, 2);
    const one: ResourcesResponse[] = [];
    for await (const r of stack().provider.client.resources({ instanceId: instance })) one.push(r);
    expect(one).toHaveLength(1);
    expect(one[0]!.allocations).toBe(2);
    const several: ResourcesResponse[] = [];
    for await (const r of stack().provider.client.resources({ instanceId: instance, interval: { seconds: 0n, nanos: 100_000_000 } })) {
      several.push(r);
      if (several.length === 3) break;
    }
    expect(several.map((s) => s.allocations)).toEqual([2, 2, 2]);
  });

  it("skips an allocation whose sample fails, says why in message, and keeps streaming", async () => {
    const instance = newInstanceId("flaky");
    await runInstance(stack().agent, instance, { script: "exec sleep 3600" }, 2);
    stack().agent.faults.set({ failWith500: { pathPrefix: "/v1/client/allocation/", body: "stats backend down", times: 1 } });
    const samples: ResourcesResponse[] = [];
    try {
      for await (const r of stack().provider.client.resources({ instanceId: instance, interval: { seconds: 0n, nanos: 100_000_000 } })) {
        samples.push(r);
        if (samples.length === 2) break;
      }
    } finally {
      stack().agent.faults.clear();
    }
    expect(samples[0]!.allocations).toBe(1);
    expect(samples[0]!.message).toMatch(/stats backend down/);
    expect(samples[1]!.allocations).toBe(2);
    expect(samples[1]!.message).toBe("");
  });

  it("rejects an interval below 100ms or above a day (to the nanosecond) and a missing instance", async () => {
    for (const interval of [
      { seconds: 0n, nanos: 1_000_000 },
      { seconds: 0n, nanos: 20 },
      { seconds: 0n, nanos: -19 },
      { seconds: 0n, nanos: 99_999_977 },
      { seconds: 10_000_000_000n, nanos: 0 },
    ]) {
      await expect(first(stack().provider.client.resources({ instanceId: "nope-x", interval }))).rejects.toMatchObject({
        code: 3,
        details: expect.stringMatching(/^interval: /),
      });
    }
    await expect(first(stack().provider.client.resources({ instanceId: "nope-x" }))).rejects.toMatchObject({ code: 5 });
  });
});
