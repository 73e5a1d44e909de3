// Scale to something the node cannot hold: the change is registered (it IS Nomad's new desired state, so the call
// succeeds), but the answer says what Nomad could not place and why, in Nomad's words, instead of a plain "updated"
// while the rollout silently hangs. The running allocations keep serving. A change that fits says nothing of the kind.

import { beforeAll, expect, it } from "vitest";
import { ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

// 3,000 MHz in all; each instance starts with one 500 MHz allocation (cpuMhzPerCore 1000: 500 millicores).
const agent = useDevAgent({ nodeResources: { cpuMhz: 3000, memoryMb: 8000 } });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily], settings: { cpuMhzPerCore: 1000 } }));
const call = { deadlineMs: 20_000 };

function instance(instanceId: string) {
  return {
    instanceId,
    tenantId: "ten_scale",
    services: [{ name: "web", image: "busybox", role: ServiceRole.MAIN, resources: { cpuMillis: 500, memoryMb: 64 }, command: ["/bin/sh", "-c", "exec sleep 600"] }],
  };
}

beforeAll(async () => {
  for (const id of ["inst_big_cpu", "inst_many"]) await provider().client.provision(instance(id), call);
});

const live = async (jobId: string): Promise<any[]> =>
  ((await api(agent(), "GET", `/v1/job/${jobId}/allocations`)).json as any[]).filter((a) => a.DesiredStatus === "run" && a.ClientStatus === "running");

it("more CPU than the node has: the new version is registered, the answer names the blocked placement, the old allocation serves on", async () => {
  const before = await until(async () => {
    const l = await live("cp-inst_big_cpu");
    return l.length === 1 && l;
  }, "the first allocation running");
  const res = await provider().client.scale({ instanceId: "inst_big_cpu", resources: { cpuMillis: 4000 } }, call);
  expect(res.jobVersion).toBe(1n);
  expect(res.replicas).toBe(1);
  expect(res.message).toMatch(/^resources of web updated \(job version 1\); not placed: cannot place 1 allocation\(s\) of group \S+: resources exhausted: cpu/);
  expect((await api(agent(), "GET", "/v1/job/cp-inst_big_cpu")).json.Version).toBe(1);
  expect((await live("cp-inst_big_cpu")).map((a) => a.ID)).toEqual(before.map((a) => a.ID));
});

it("more replicas than fit: the answer says how many Nomad could not place", async () => {
  const res = await provider().client.scale({ instanceId: "inst_many", resources: { replicas: 10 } }, call);
  expect(res.replicas).toBe(10);
  const m = /^replicas set to 10; not placed: cannot place (\d+) allocation\(s\) of group \S+: resources exhausted: cpu/.exec(res.message);
  expect(m, res.message).not.toBeNull();
  const notPlaced = Number(m![1]);
  expect(notPlaced).toBeGreaterThan(0);
  // Those that fit do run: exactly the others.
  await until(async () => (await live("cp-inst_many")).length === 10 - notPlaced, `${10 - notPlaced} allocations running`);
  const summary = (await api(agent(), "GET", "/v1/job/cp-inst_many/summary")).json.Summary;
  expect((Object.values(summary) as any[])[0].Queued).toBe(notPlaced);
});

it("a change that fits answers without a placement note", async () => {
  // Make room first: the instance that wanted 10 replicas goes.
  expect((await api(agent(), "DELETE", "/v1/job/cp-inst_many?purge=true")).status).toBe(200);
  await provider().client.provision(instance("inst_fits"), call);
  const res = await provider().client.scale({ instanceId: "inst_fits", resources: { memoryMb: 96 } }, call);
  expect(res.message).toBe("resources of web updated (job version 1)");
});
