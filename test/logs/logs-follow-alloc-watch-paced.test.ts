// Nomad answers a job's allocation list with the allocs table index, so another job's churn moves it (the dev agent
// does the same). A Logs follow watches its job's allocations: that churn must not cost one re-read per change of the
// other job (reads are paced and only real changes of this job's allocations are news), while this job's own new
// allocations are still picked up.
// While the plugin's instance cache is live it feeds that watch and no list is read at all; the blocking-query watch
// measured here is the fallback, so the dev agent refuses the event stream (as Nomad does for a token without the
// capability) and the cache stays refused throughout.

import { describe, expect, it } from "vitest";
import { LogStream, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until } from "../helpers/dev-agent.js";
import { newInstanceId, runInstance, useObserveStack } from "../helpers/observe-stack.js";
import { startedInstanceCache } from "../../src/provider/instance-cache.js";

const stack = useObserveStack();
const stats = async () => (await api(stack().agent, "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;
const allocsIndex = async () => Number((await api(stack().agent, "GET", "/v1/allocations")).headers.get("x-nomad-index"));

/** A job whose task exits and is restarted every ~100 ms: a steady stream of allocation updates elsewhere. */
const churn = (id: string) => ({
  Job: {
    ID: id,
    TaskGroups: [
      {
        Name: "g",
        RestartPolicy: { Attempts: 10_000, Interval: 3_600_000_000_000, Delay: 50_000_000, Mode: "delay" },
        Tasks: [{ Name: "t", Driver: "raw_exec", Resources: { CPU: 20, MemoryMB: 16 }, Config: { command: "/bin/sh", args: ["-c", "sleep 0.05"] } }],
      },
    ],
  },
});

describe("Logs follow under other jobs' allocation churn", () => {
  it("re-reads its job's allocations a few times, not once per change elsewhere, and still sees its own new ones", async () => {
    stack().agent.faults.set({ failWith500: { pathPrefix: "/v1/event/stream", body: "rpc error: Permission denied" } });
    const id = newInstanceId("paced");
    await runInstance(stack().agent, id, { script: 'i=0; while true; do i=$((i+1)); echo "$NOMAD_ALLOC_INDEX:$i"; sleep 0.1; done' });
    const stop = new AbortController();
    const seen: LogsResponse[] = [];
    const done = (async () => {
      for await (const r of stack().provider.client.logs({ instanceId: id, stream: LogStream.STDOUT, follow: true }, { signal: stop.signal })) seen.push(r);
    })();
    done.catch(() => undefined);
    try {
      await until(async () => seen.some((r) => r.line.startsWith("0:")), "the first allocation's lines");
      await until(async () => startedInstanceCache(stack().provider.nomad)?.state === "refused", "the instance cache refused");
      const path = `GET /v1/job/cp-${id}/allocations`;
      const before = (await stats())[path] ?? 0;
      const indexBefore = await allocsIndex();
      await api(stack().agent, "PUT", "/v1/jobs", churn(`churn-${id}`));
      await until(async () => (await allocsIndex()) - indexBefore >= 40, "40 allocation changes elsewhere", 30_000);
      const reads = ((await stats())[path] ?? 0) - before;
      const changes = (await allocsIndex()) - indexBefore;
      expect(reads).toBeLessThan(changes / 4);

      // Its own new allocation is still found.
      const job = (await api(stack().agent, "GET", `/v1/job/cp-${id}`)).json;
      await until(async () => (await api(stack().agent, "POST", `/v1/job/cp-${id}/scale`, { Count: 2, Target: { Group: job.TaskGroups[0].Name } })).status === 200, "scaled (after the first deployment)");
      await until(async () => seen.some((r) => r.line.startsWith("1:")), "the new allocation's lines");
      expect(startedInstanceCache(stack().provider.nomad)?.state, "the cache stayed refused (the watch measured was the fallback)").toBe("refused");
    } finally {
      stack().agent.faults.clear();
      stop.abort();
      await api(stack().agent, "DELETE", `/v1/job/churn-${id}?purge=true`);
    }
  });
});
