// Cancelling 1,000 concurrent follow streams leaves no upstream request open and no timer behind.
import type { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { LogStream } from "../gen/ctrlplane/provider/v1/provider_pb.js";
import { until } from "./helpers/dev-agent.js";
import { newInstanceId, runInstance, useObserveStack } from "./helpers/observe-stack.js";

const stack = useObserveStack();

function count(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

function upstreamRequests(): number {
  const agent = stack().provider.nomad.dispatcher as Agent;
  const stats = Object.values(agent.stats) as Array<{ running?: number; queued?: number }>;
  return stats.reduce((n, s) => n + (s.running ?? 0) + (s.queued ?? 0), 0);
}

describe("cancelling many Logs follow streams", () => {
  it("releases every upstream request and timer of 1,000 cancelled streams", async () => {
    const instance = newInstanceId("many");
    await runInstance(stack().agent, instance, { script: "echo hello; exec sleep 3600" });
    const client = stack().provider.client;
    // Warm up the gRPC channel and the Nomad connection pool, then take the baseline.
    for await (const _ of client.logs({ instanceId: instance, stream: LogStream.STDOUT })) void _;
    await until(async () => upstreamRequests() === 0, "an idle pool");
    const timersBefore = count("Timeout");

    const controllers = Array.from({ length: 1000 }, () => new AbortController());
    const firstLines = controllers.map(async (c) => {
      for await (const r of client.logs({ instanceId: instance, follow: true }, { signal: c.signal })) return r.line;
      return undefined;
    });
    // Every stream is live (it delivered its first line) before any is cancelled.
    expect(new Set(await Promise.all(firstLines))).toEqual(new Set(["hello"]));
    for (const c of controllers) c.abort();

    await until(async () => upstreamRequests() === 0, "no upstream request left open");
    await until(async () => count("Timeout") <= timersBefore, `timers back to ${timersBefore}`);
    expect(upstreamRequests()).toBe(0);
  });
});
