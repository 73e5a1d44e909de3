import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { aggregateUsage, taskLimits, type AllocSample } from "../../src/provider/resources.js";
import type { AllocResourceUsage } from "../../src/nomad/allocation-stats.js";
import type { Allocation } from "../../src/nomad/types.js";

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/nomad/GET_v1_client_allocation_ID_stats.response.json", import.meta.url), "utf8"),
) as AllocResourceUsage;

describe("Resources aggregation", () => {
  it("reads Nomad's stats fixture: CPU as a share of the reservation, RSS in MiB", () => {
    const s: AllocSample = { allocId: "a", limits: { redis: { cpuMhz: 500, memoryMb: 256 } }, usage: fixture };
    const r = aggregateUsage([s], 1000);
    // Percent 0.1416 of one 1000 MHz core = 1.416 MHz used of 500 MHz reserved.
    expect(r.cpuPercent).toBeCloseTo((0.14159538847117795 / 100) * 1000 / 500 * 100, 10);
    expect(r.memoryUsedMb).toBe(1n); // 1486848 bytes
    expect(r.memoryLimitMb).toBe(256n);
    expect(r.allocations).toBe(1);
    expect(r.services).toEqual([{ serviceName: "redis", cpuPercent: r.cpuPercent, memoryUsedMb: 1n, memoryLimitMb: 256n }]);
  });

  it("sums allocations and splits per service; falls back to Usage when RSS is 0 (cgroup v2)", () => {
    const usage = (percent: number, rss: number, usageBytes: number): AllocResourceUsage => ({
      Timestamp: 0,
      Tasks: {
        web: { Timestamp: 0, ResourceUsage: { CpuStats: { Percent: percent } as never, MemoryStats: { RSS: rss, Usage: usageBytes } as never } },
        side: { Timestamp: 0, ResourceUsage: { CpuStats: { Percent: 0 } as never, MemoryStats: { RSS: 10 * 1048576 } as never } },
      },
    });
    const limits = { web: { cpuMhz: 1000, memoryMb: 512 }, side: { cpuMhz: 100, memoryMb: 64 } };
    const r = aggregateUsage(
      [
        { allocId: "a", limits, usage: usage(100, 0, 200 * 1048576) },
        { allocId: "b", limits, usage: usage(50, 100 * 1048576, 0) },
      ],
      1000,
    );
    const web = r.services.find((s) => s.serviceName === "web")!;
    expect(web.cpuPercent).toBeCloseTo(75, 10); // 1500 MHz used of 2000 reserved
    expect(web.memoryUsedMb).toBe(300n);
    expect(web.memoryLimitMb).toBe(1024n);
    expect(r.cpuPercent).toBeCloseTo((1500 / 2200) * 100, 10);
    expect(r.memoryUsedMb).toBe(320n);
    expect(r.memoryLimitMb).toBe(1152n);
    expect(r.allocations).toBe(2);
  });

  it("takes reservations from AllocatedResources, else from the allocation's job", () => {
    const alloc = {
      TaskGroup: "workload",
      Job: { TaskGroups: [{ Name: "workload", Tasks: [{ Name: "web", Resources: { CPU: 300, MemoryMB: 128 } }, { Name: "db", Resources: { CPU: 700, MemoryMB: 1024 } }] }] },
      AllocatedResources: { Tasks: { web: { Cpu: { CpuShares: 250 }, Memory: { MemoryMB: 100 } } } },
    } as unknown as Allocation;
    expect(taskLimits(alloc)).toEqual({ web: { cpuMhz: 250, memoryMb: 100 }, db: { cpuMhz: 700, memoryMb: 1024 } });
  });
});
