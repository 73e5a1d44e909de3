// The uncached Status (StatusRequest.uncached, and the path every Status takes while the instance cache is not live)
// reads job, allocations and deployment fresh on every call, but an allocation's ports (which Nomad fixes when
// it places the allocation) only once: repeated Status calls must not read every allocation again, and an allocation
// placed later (scale-up) is read once and shows up among the endpoints.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Agent, type Dispatcher } from "undici";
import { create } from "@bufbuild/protobuf";
import {
  DeprovisionRequestSchema,
  InstanceState,
  ProvisionRequestSchema,
  ScaleRequestSchema,
  ScaleResponseSchema,
  StatusResponseSchema,
  ServiceRole,
  StatusRequestSchema,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { createLogger } from "../../src/log.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { AllocPortCache } from "../../src/provider/status.js";
import { listJobAllocations } from "../../src/nomad/jobs.js";
import type { CallContext } from "../../src/grpc/service-impl.js";
import { useDevAgent, until } from "../helpers/dev-agent.js";

const agent = useDevAgent();
const instanceId = "inst_ports_once";
const seen: string[] = [];
let nomad: NomadHttp;
let handlers: ReturnType<typeof lifecycleFamily.handlers>;

/** Every request the provider sends to Nomad, as "METHOD /path" without the query. */
function countingDispatcher(): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    seen.push(`${opts.method} ${opts.path.split("?")[0]}`);
    return dispatch(opts, handler);
  });
}

function ctx(ms = 20_000): CallContext {
  return { signal: AbortSignal.timeout(ms), deadline: new Date(Date.now() + ms), metadata: {} };
}

const reads = (prefix: string) => seen.filter((s) => s.startsWith(`GET ${prefix}`)).length;

async function status() {
  const res = await handlers.status!(create(StatusRequestSchema, { instanceId, uncached: true }), ctx());
  return create(StatusResponseSchema, res).status!;
}

beforeAll(async () => {
  nomad = new NomadHttp({ address: agent().address, dispatcher: countingDispatcher() });
  handlers = lifecycleFamily.handlers({
    nomad,
    settings: { datacenters: [], cpuMhzPerCore: 1000, version: "0.0.0-test" },
    log: createLogger({ level: "warn" }),
  });
  const res = await handlers.provision!(
    create(ProvisionRequestSchema, {
      instanceId,
      services: [
        {
          name: "main",
          image: "busybox",
          role: ServiceRole.MAIN,
          ports: [{ container: 8080 }],
          command: ["/bin/sh", "-c", "exec sleep 3600"],
        },
      ],
    }),
    ctx(),
  );
  expect(res.state).toBe(InstanceState.RUNNING);
});

afterAll(async () => {
  await handlers?.deprovision!(create(DeprovisionRequestSchema, { instanceId }), ctx()).catch(() => undefined);
  await nomad?.close();
});

describe("Status", () => {
  it("reads each allocation's ports once, and job, allocations and deployment on every call", async () => {
    const first = await status();
    expect(first.state).toBe(InstanceState.RUNNING);
    expect(first.endpoints).toHaveLength(1);
    const allocId = first.endpoints[0]!.allocId;
    const port = first.endpoints[0]!.port;
    expect(port).toBeGreaterThan(0);

    seen.length = 0;
    for (let i = 0; i < 5; i++) {
      const s = await status();
      expect(s.endpoints.map((e) => [e.allocId, e.port])).toEqual([[allocId, port]]);
    }
    expect(reads(`/v1/allocation/`)).toBe(0);
    expect(reads(`/v1/job/cp-${instanceId}/allocations`)).toBe(5);
    expect(reads(`/v1/job/cp-${instanceId}/deployment`)).toBe(5);
    expect(seen.filter((s) => s === `GET /v1/job/cp-${instanceId}`)).toHaveLength(5);
  });

  it("reads an allocation placed later once, and serves its ports", async () => {
    const before = await status();
    const known = before.endpoints[0]!.allocId;
    const scaled = await handlers.scale!(create(ScaleRequestSchema, { instanceId, resources: { replicas: 2 } }), ctx());
    expect(create(ScaleResponseSchema, scaled).replicas).toBe(2);
    seen.length = 0;
    const both = await until(async () => {
      const s = await status();
      return s.endpoints.length === 2 && s.endpoints.every((e) => e.port > 0) ? s : undefined;
    }, "two endpoints");
    const added = both.endpoints.find((e) => e.allocId !== known)!;
    expect(added.allocId).not.toBe("");
    expect(seen.filter((s) => s === `GET /v1/allocation/${added.allocId}`)).toHaveLength(1);
    expect(seen.filter((s) => s === `GET /v1/allocation/${known}`)).toHaveLength(0);

    seen.length = 0;
    for (let i = 0; i < 3; i++) expect((await status()).endpoints).toHaveLength(2);
    expect(reads(`/v1/allocation/`)).toBe(0);
  });

  it("keeps a bounded number of allocations, forgetting the least recently used", async () => {
    const running = (await listJobAllocations(nomad, `cp-${instanceId}`)).value.filter((a) => a.ClientStatus === "running");
    expect(running.length).toBeGreaterThanOrEqual(2);
    const [a, b] = running;
    const cache = new AllocPortCache(1);
    const readsOf = async (allocs: typeof running) => {
      seen.length = 0;
      const ports = await cache.resolve(nomad, allocs, undefined);
      expect(allocs.every((x) => (ports.get(x.ID) ?? []).length > 0)).toBe(true);
      return reads("/v1/allocation/");
    };
    expect(await readsOf([a!])).toBe(1);
    expect(await readsOf([a!])).toBe(0);
    expect(await readsOf([b!])).toBe(1);
    expect(cache.size).toBe(1);
    expect(await readsOf([a!])).toBe(1);
  });
});
