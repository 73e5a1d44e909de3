// A followed Logs call learns of the allocations of a new job version from the plugin's instance cache: with the
// cache live, a new version registered by another client (a deploy made behind the plugin's back) brings its new
// allocation's lines into the stream, and nothing reads the job's allocation list from Nomad meanwhile.

import { describe, expect, it } from "vitest";
import { LogStream, ServiceRole, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../../src/provider/families.js";
import { startedInstanceCache } from "../../src/provider/instance-cache.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families }));
const id = "inst_followcache";
const jobPath = `/v1/job/cp-${id}`;
const call = { deadlineMs: 20_000 };

const listReads = async () =>
  ((await api(agent(), "GET", "/v1/devagent/stats")).json.Requests[`GET ${jobPath}/allocations`] as number | undefined) ?? 0;

describe("Logs follow with the instance cache live", () => {
  it("picks up the allocation of a new job version without reading the allocation list", async () => {
    const client = provider().client;
    await client.provision(
      {
        instanceId: id,
        services: [{ name: "main", image: "busybox", role: ServiceRole.MAIN, env: { V: "1" }, command: ["/bin/sh", "-c", "echo v=$V; exec sleep 3600"] }],
      },
      call,
    );
    await client.status({ instanceId: id }, call); // starts the cache
    await until(async () => startedInstanceCache(provider().nomad)?.live, "the instance cache live");

    const before = await listReads();
    const stop = new AbortController();
    const seen: LogsResponse[] = [];
    const done = (async () => {
      for await (const r of client.logs({ instanceId: id, stream: LogStream.STDOUT, follow: true }, { signal: stop.signal })) seen.push(r);
    })();
    done.catch(() => undefined);
    try {
      await until(async () => seen.some((r) => r.line === "v=1"), "the first version's line");
      const first = seen.find((r) => r.line === "v=1")!.allocId;

      const job = (await api(agent(), "GET", jobPath)).json;
      job.TaskGroups[0].Tasks[0].Env = { ...job.TaskGroups[0].Tasks[0].Env, V: "2" };
      expect((await api(agent(), "POST", "/v1/jobs", { Job: job })).status).toBe(200);

      const next = await until(async () => seen.find((r) => r.line === "v=2"), "the new version's line");
      expect(next.allocId).not.toBe(first);
      expect(await listReads()).toBe(before);
    } finally {
      stop.abort();
      await done.catch(() => undefined);
    }
  });
});
