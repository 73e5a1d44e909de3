// Once the plugin's instance cache is live, Resources and Logs take the job and its allocation list from it: a stream
// of Resources samples, a plain Logs read and a followed one ask Nomad only per allocation (stats, reservations, log
// frames), never for the job or its allocation list.

import { describe, expect, it } from "vitest";
import { LogStream, ServiceRole, type LogsResponse, type ResourcesResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../../src/provider/families.js";
import { startedInstanceCache } from "../../src/provider/instance-cache.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families }));
const id = "inst_listcache";
const call = { deadlineMs: 20_000 };
const samples = 20;

const requests = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;
const count = (r: Record<string, number>, match: (key: string) => boolean) =>
  Object.entries(r).reduce((n, [key, v]) => n + (match(key) ? v : 0), 0);

describe("Resources and Logs with the instance cache live", () => {
  it("read neither the job nor its allocation list from Nomad", async () => {
    const client = provider().client;
    await client.provision(
      { instanceId: id, services: [{ name: "main", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "echo hello; exec sleep 3600"] }] },
      call,
    );
    await client.status({ instanceId: id }, call); // starts the cache
    await until(async () => startedInstanceCache(provider().nomad)?.live, "the instance cache live");

    const before = await requests();
    const got: ResourcesResponse[] = [];
    for await (const r of client.resources({ instanceId: id, interval: { seconds: 0n, nanos: 100_000_000 } })) {
      got.push(r);
      if (got.length === samples) break;
    }
    const plain: LogsResponse[] = [];
    for await (const r of client.logs({ instanceId: id, stream: LogStream.STDOUT })) plain.push(r);
    let followed: LogsResponse | undefined;
    for await (const r of client.logs({ instanceId: id, stream: LogStream.STDOUT, follow: true })) {
      followed = r;
      break;
    }
    const after = await requests();

    expect(got.map((s) => s.allocations)).toEqual(Array(samples).fill(1));
    expect(plain.map((r) => r.line)).toEqual(["hello"]);
    expect(followed?.line).toBe("hello");
    const delta = (match: (key: string) => boolean) => count(after, match) - count(before, match);
    expect(delta((k) => k === `GET /v1/job/cp-${id}/allocations`), "allocation list reads").toBe(0);
    expect(delta((k) => k === `GET /v1/job/cp-${id}`), "job reads").toBe(0);
    // The per-allocation reads still go to Nomad: one stats read per sample.
    expect(delta((k) => k.startsWith("GET /v1/client/allocation/") && k.endsWith("/stats"))).toBe(samples);
  });
});
