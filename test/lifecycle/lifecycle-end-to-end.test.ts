// One instance through its whole life on the dev agent, through the gRPC service: Provision (init before main,
// endpoints that answer), Status, Restart, Stop, Start (job spec unchanged), Scale 1 -> 3 -> 1, Deprovision twice.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { fetchWhenUp, grpcCode, threeServiceRequest } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const id = "inst_e2e1";
const jobPath = `/v1/job/cp-${id}`;
const call = { deadlineMs: 20_000 };

/** Job JSON without what Nomad itself changes on every registration. */
function specOf(job: Record<string, unknown>): Record<string, unknown> {
  const { Stop, Status, StatusDescription, Version, SubmitTime, ModifyIndex, JobModifyIndex, Stable, ...spec } = job;
  return spec;
}

const runningAllocs = async () =>
  ((await api(agent(), "GET", `${jobPath}/allocations`)).json as { ClientStatus: string; DesiredStatus: string }[]).filter(
    (a) => a.ClientStatus === "running" && a.DesiredStatus === "run",
  ).length;

describe("instance lifecycle on the dev agent", () => {
  it("provisions init + main + sidecar: init finishes before main, RUNNING with an endpoint that answers", async () => {
    const res = await provider().client.provision(threeServiceRequest(id), call);
    expect(res.providerRef).toBe(`cp-${id}`);
    expect(res.state).toBe(InstanceState.RUNNING);
    expect(res.serviceRefs).toEqual({ init: "init", web: "web", side: "side" });
    expect(res.endpoints).toHaveLength(1);
    const [endpoint] = res.endpoints;
    expect(endpoint).toMatchObject({ serviceName: "web", protocol: "http", public: false });
    expect(endpoint!.url).toBe(`http://${endpoint!.host}:${endpoint!.port}`);
    const order = await fetchWhenUp(`${endpoint!.url}/order`);
    expect(order.split("\n")[0]).toBe("init");
    expect(order).toContain("main\n");
  });

  it("reports RUNNING with per-service states, the finished init included", async () => {
    const { status } = await provider().client.status({ instanceId: id }, call);
    expect(status!.state).toBe(InstanceState.RUNNING);
    expect(status!.services.web).toMatchObject({ state: InstanceState.RUNNING, providerRef: "web" });
    expect(status!.services.side!.state).toBe(InstanceState.RUNNING);
    expect(status!.services.init).toMatchObject({ state: InstanceState.STOPPED, ready: true });
    expect(status!.endpoints.map((e) => e.serviceName)).toEqual(["web"]);
    expect(status!.startedAt).toBeDefined();
    expect(status!.metadata["nomad.job_version"]).toBe("0");
  });

  it("restarts the running allocation in place and the restart count goes up", async () => {
    const before = (await provider().client.status({ instanceId: id }, call)).status!;
    const res = await provider().client.restart({ instanceId: id }, call);
    expect(res.restartedAllocations).toBe(1);
    expect(res.state).toBe(InstanceState.RUNNING);
    const after = (await provider().client.status({ instanceId: id }, call)).status!;
    expect(after.restarts).toBeGreaterThan(before.restarts);
    expect(after.services.web!.restarts).toBeGreaterThan(before.services.web!.restarts);
    expect(after.endpoints[0]!.port).toBe(before.endpoints[0]!.port);
  });

  it("stops: STOPPED, and Status says so", async () => {
    const res = await provider().client.stop({ instanceId: id }, call);
    expect(res.state).toBe(InstanceState.STOPPED);
    const { status } = await provider().client.status({ instanceId: id }, call);
    expect(status!.state).toBe(InstanceState.STOPPED);
    expect(status!.endpoints).toEqual([]);
    expect(await runningAllocs()).toBe(0);
  });

  it("refuses to restart a stopped instance", async () => {
    expect((await grpcCode(provider().client.restart({ instanceId: id }, call))).code).toBe(GrpcStatus.FAILED_PRECONDITION);
  });

  it("starts again with exactly the job spec it had", async () => {
    const before = (await api(agent(), "GET", jobPath)).json;
    const res = await provider().client.start({ instanceId: id }, call);
    expect(res.state).toBe(InstanceState.RUNNING);
    const after = (await api(agent(), "GET", jobPath)).json;
    expect(after.Stop).toBe(false);
    expect(after.Version).toBeGreaterThan(before.Version);
    expect(specOf(after)).toEqual(specOf(before));
  });

  it("scales 1 -> 3 -> 1 through the scale endpoint, answering the job version Nomad's scale registered", async () => {
    const version = (await api(agent(), "GET", jobPath)).json.Version;
    const up = await provider().client.scale({ instanceId: id, resources: { replicas: 3 } }, call);
    expect(up).toMatchObject({ providerRef: `cp-${id}`, replicas: 3, jobVersion: BigInt(version + 1) });
    const status = await until(async () => {
      const s = (await provider().client.status({ instanceId: id }, call)).status!;
      return s.state === InstanceState.RUNNING && s;
    }, "instance running with 3 allocations");
    expect(status.metadata["nomad.allocations"]).toBe("3/3");
    expect(await runningAllocs()).toBe(3);
    expect(new Set(status.endpoints.map((e) => e.allocId)).size).toBe(3);
    expect(new Set(status.endpoints.map((e) => e.port)).size).toBe(3);
    const down = await provider().client.scale({ instanceId: id, resources: { replicas: 1 } }, call);
    expect(down.replicas).toBe(1);
    await until(async () => (await runningAllocs()) === 1, "1 running allocation");
  });

  it("deprovisions twice: the second call is a success that says the job was already gone", async () => {
    const first = await provider().client.deprovision({ instanceId: id }, call);
    expect(first.state).toBe(InstanceState.DESTROYED);
    expect((await api(agent(), "GET", jobPath)).status).toBe(404);
    const second = await provider().client.deprovision({ instanceId: id }, call);
    expect(second.state).toBe(InstanceState.DESTROYED);
    expect(second.message).toMatch(/already/);
    expect((await grpcCode(provider().client.status({ instanceId: id }, call))).code).toBe(GrpcStatus.NOT_FOUND);
  });
});
