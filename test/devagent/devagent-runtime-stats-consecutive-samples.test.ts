// CPU like Nomad's executor: the alloc stats endpoint serves the latest of samples taken once a second, each
// process's CPU percent being the CPU time it used since the previous sample. A lightly busy task (some ms of work
// every 100 ms: a few percent of a core) reads above zero in every sample, where 100 ms windows at the kernel's 10 ms
// tick mostly read 0.
import { afterEach, describe, expect, it } from "vitest";
import { serveEndpoints } from "./devagent-runtime-endpoints-harness.js";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await cleanupAll();
});

describe("GET /v1/client/allocation/:id/stats CPU samples", () => {
  it("reads a lightly busy task above zero in each of four consecutive one-second samples", async () => {
    // A fixed amount of shell arithmetic, then a 100 ms nap, over and over.
    const light = 'while :; do i=0; while [ "$i" -lt 10000 ]; do i=$((i+1)); done; sleep 0.1; done';
    const { runner } = makeRunner({ tasks: [rawTask("light", light), rawTask("idle", "exec sleep 300")] });
    runner.start();
    await waitFor(() => runner.taskStates().light?.State === "running" && runner.taskStates().idle?.State === "running", "running");
    const server = await serveEndpoints(runner);
    closers.push(server.close);

    const samples: { at: number; light: number; idle: number; total: number }[] = [];
    while (samples.length < 5) {
      const body = (await (await fetch(`${server.base}/v1/client/allocation/x/stats`)).json()) as Record<string, any>;
      const at = body.Tasks.light.Timestamp / 1e6;
      if (samples.at(-1)?.at === at) {
        // The same sample until the next one is taken: asking more often does not make shorter windows.
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      samples.push({
        at,
        light: body.Tasks.light.ResourceUsage.CpuStats.Percent,
        idle: body.Tasks.idle.ResourceUsage.CpuStats.Percent,
        total: body.ResourceUsage.CpuStats.Percent,
      });
    }
    // The first answer compares with a baseline read just before it; the next four are the collector's own samples.
    const consecutive = samples.slice(1);
    // About a second apart (timers run late under load, and a late one is followed by an early one), not one per ask.
    for (let i = 1; i < consecutive.length; i++) expect(consecutive[i]!.at - consecutive[i - 1]!.at).toBeGreaterThanOrEqual(500);
    for (const s of consecutive) {
      expect(s.light).toBeGreaterThan(0);
      expect(s.light).toBeLessThan(100);
      expect(s.total).toBeCloseTo(s.light + s.idle, 6);
    }
  });
});
