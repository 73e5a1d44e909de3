import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { serveEndpoints } from "./devagent-runtime-endpoints-harness.js";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

const fixture = JSON.parse(
  readFileSync(new URL("../fixtures/nomad/GET_v1_client_allocation_ID_stats.response.json", import.meta.url), "utf8"),
) as Record<string, any>;

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await cleanupAll();
});

describe("GET /v1/client/allocation/:id/stats", () => {
  it("reports real CPU for a busy loop and real memory, in Nomad's AllocResourceUsage shape", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("busy", "while :; do :; done"), rawTask("idle", "exec sleep 300")],
    });
    runner.start();
    await waitFor(() => runner.taskStates().idle?.State === "running" && runner.taskStates().busy?.State === "running", "running");
    const server = await serveEndpoints(runner);
    closers.push(server.close);

    const res = await fetch(`${server.base}/v1/client/allocation/x/stats`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, any>;

    const busy = body.Tasks.busy.ResourceUsage;
    // A busy loop gets well over 20% of a core on an idle machine, but CI's two cores are shared with the rest of
    // the suite: demand clearly non-zero CPU, and more than the sleeping task.
    expect(busy.CpuStats.Percent).toBeGreaterThan(1);
    expect(busy.CpuStats.TotalTicks).toBeGreaterThan(0);
    expect(busy.MemoryStats.RSS).toBeGreaterThan(0);
    expect(body.Tasks.idle.ResourceUsage.CpuStats.Percent).toBeLessThan(busy.CpuStats.Percent);
    expect(Object.keys(body.Tasks.busy.Pids)).toContain(String(runner.taskPids("busy")[0]));
    expect(body.ResourceUsage.MemoryStats.RSS).toBe(busy.MemoryStats.RSS + body.Tasks.idle.ResourceUsage.MemoryStats.RSS);
    expect(body.ResourceUsage.CpuStats.Measured).toEqual(["System Mode", "User Mode", "Percent"]);
    expect(Math.abs(body.Timestamp / 1e6 - Date.now())).toBeLessThan(60_000);

    // every key the real answer has, we have too, with the same JSON types
    const typeTree = (v: any): any =>
      v && typeof v === "object" && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).map((k) => [k, typeTree(v[k])])) : Array.isArray(v) ? "array" : typeof v;
    const ours = typeTree(body);
    const theirs = typeTree(fixture);
    expect(ours.ResourceUsage).toMatchObject(theirs.ResourceUsage);
    const { Pids: _theirPids, ...theirTask } = theirs.Tasks.redis;
    expect(ours.Tasks.busy).toMatchObject(theirTask);
    expect(typeof ours.Tasks.busy.Pids).toBe("object");
  });
});
