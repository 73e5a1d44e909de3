// The allocation watch of Logs follow reads a job's allocation list with blocking queries only while the instance
// cache is not live: with the event stream refused it finds a new allocation that way, and once the cache is live
// it abandons its blocking read and finds the next new allocation through the cache, without reading the list again.

import { afterAll, describe, expect, it } from "vitest";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import type { AllocListStub } from "../../src/nomad/types.js";
import { AllocWatch } from "../../src/provider/alloc-watch.js";
import { InstanceCache } from "../../src/provider/instance-cache.js";
import { createLogger } from "../../src/log.js";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const jobId = "cp-inst_awswitch";
let nomad: NomadHttp | undefined;
afterAll(async () => {
  await nomad?.close();
});

const listReads = async () =>
  ((await api(agent(), "GET", "/v1/devagent/stats")).json.Requests[`GET /v1/job/${jobId}/allocations`] as number | undefined) ?? 0;

async function scaleTo(count: number): Promise<void> {
  expect((await api(agent(), "POST", `/v1/job/${jobId}/scale`, { Count: count, Target: { Group: "web" } })).status).toBe(200);
}

describe("AllocWatch with an instance cache", () => {
  it("uses blocking queries while the cache is refused and the cache once it is live", async () => {
    agent().faults.set({ failWith500: { pathPrefix: "/v1/event/stream", body: "rpc error: Permission denied" } });
    try {
      expect((await api(agent(), "PUT", "/v1/jobs", shJob(jobId, "exec sleep 600"))).status).toBe(200);
      nomad = new NomadHttp({ address: agent().address });
      const cache = new InstanceCache(nomad, createLogger({ level: "error" }), { refusedRetryMs: 200 });
      cache.start();
      await until(async () => cache.state === "refused", "the cache refused");

      const watch = new AllocWatch(nomad, { cache, minIntervalMs: 50 });
      let latest: AllocListStub[] = [];
      const unsubscribe = watch.subscribe(jobId, (update) => {
        if (Array.isArray(update)) latest = update;
      });
      const live = (n: number) => latest.filter((a) => a.DesiredStatus === "run").length === n;
      try {
        await until(async () => live(1), "the first allocation");
        await scaleTo(2);
        await until(async () => live(2), "the second allocation, through a blocking query");
        expect(await listReads()).toBeGreaterThan(0);

        agent().faults.clear();
        await until(async () => cache.live, "the cache live");
        const readsWhenLive = await listReads();
        await scaleTo(3);
        await until(async () => live(3), "the third allocation, through the cache");
        expect(await listReads()).toBe(readsWhenLive);
      } finally {
        unsubscribe();
        cache.close();
      }
    } finally {
      agent().faults.clear();
    }
  });
});
