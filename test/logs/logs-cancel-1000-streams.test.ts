// Cancelling 1,000 concurrent follow streams leaves no upstream request open and no timer behind, whichever feeds
// their allocation watch: the plugin's instance cache (started by the first Logs call; its one event stream stays
// open for the plugin's life and is part of the baseline), or, while Nomad refuses the event stream, the watch's own
// blocking query.
import type { Agent } from "undici";
import { describe, expect, it } from "vitest";
import { LogStream } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { startedInstanceCache } from "../../src/provider/instance-cache.js";
import { until } from "../helpers/dev-agent.js";
import { newInstanceId, runInstance, useObserveStack } from "../helpers/observe-stack.js";

function count(kind: string): number {
  return process.getActiveResourcesInfo().filter((r) => r === kind).length;
}

describe.each([
  { feed: "the instance cache", refused: false },
  { feed: "a blocking query (event stream refused)", refused: true },
])("cancelling many Logs follow streams watched by $feed", ({ refused }) => {
  const stack = useObserveStack();

  function upstreamRequests(): number {
    const agent = stack().provider.nomad.dispatcher as Agent;
    const stats = Object.values(agent.stats) as Array<{ running?: number; queued?: number }>;
    return stats.reduce((n, s) => n + (s.running ?? 0) + (s.queued ?? 0), 0);
  }

  it("releases every upstream request and timer of 1,000 cancelled streams", async () => {
    if (refused) stack().agent.faults.set({ failWith500: { pathPrefix: "/v1/event/stream", body: "rpc error: Permission denied" } });
    try {
      const instance = newInstanceId("many");
      await runInstance(stack().agent, instance, { script: "echo hello; exec sleep 3600" });
      const client = stack().provider.client;
      // Warm up the gRPC channel, the Nomad connection pool and the cache, then take the baseline.
      for await (const _ of client.logs({ instanceId: instance, stream: LogStream.STDOUT })) void _;
      const cacheStream = refused ? 0 : 1;
      await until(
        async () => startedInstanceCache(stack().provider.nomad)?.state === (refused ? "refused" : "live") && upstreamRequests() === cacheStream,
        "an idle pool but for the instance cache's event stream",
      );
      const timersBefore = count("Timeout");

      const controllers = Array.from({ length: 1000 }, () => new AbortController());
      const firstLines = controllers.map(async (c) => {
        for await (const r of client.logs({ instanceId: instance, follow: true }, { signal: c.signal })) return r.line;
        return undefined;
      });
      // Every stream is live (it delivered its first line) before any is cancelled.
      expect(new Set(await Promise.all(firstLines))).toEqual(new Set(["hello"]));
      for (const c of controllers) c.abort();

      await until(async () => upstreamRequests() === cacheStream, "no upstream request of theirs left open");
      await until(async () => count("Timeout") <= timersBefore, `timers back to ${timersBefore}`);
      expect(upstreamRequests()).toBe(cacheStream);
      expect(startedInstanceCache(stack().provider.nomad)?.state).toBe(refused ? "refused" : "live");
    } finally {
      stack().agent.faults.clear();
    }
  });
});
