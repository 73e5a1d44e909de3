// Releases through the gRPC service against the dev agent: each strategy moves the live allocations to the new
// image (and env), a repeated release registers nothing and answers its deployment, a deploy over a running deployment says Nomad cancelled it.

import { beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../../src/provider/families.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { allOn, liveAllocations, quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families }));
const id = "inst_rel1";
const jobId = `cp-${id}`;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  await provider().client.provision(sleeperInstance(id), call);
});

describe("Deploy moves the instance to a new image with each strategy", () => {
  it("the production build announces deploy and every strategy", async () => {
    const { capabilities } = await provider().client.capabilities({}, call);
    expect(capabilities).toEqual(expect.arrayContaining(["deploy", "strategy:rolling", "strategy:canary", "strategy:blue-green"]));
  });

  it("rolling: successful, every allocation runs the new image with the merged env, the release is in job Meta", async () => {
    const before = await liveAllocations(agent(), jobId);
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "r1", strategy: DeployStrategy.ROLLING, services: [{ name: "web", image: "busybox:2", env: { B: "2" } }], options: quick() },
      call,
    );
    expect(res).toMatchObject({ providerRef: jobId, status: "successful", jobVersion: 1n });
    expect(res.deploymentId).not.toBe("");
    const live = await liveAllocations(agent(), jobId);
    expect(live).toHaveLength(2);
    for (const a of live) expect(a).toMatchObject({ image: "busybox:2", jobVersion: 1, env: { A: "1", B: "2" } });
    expect(live.map((a) => a.id).some((x) => before.some((b) => b.id === x))).toBe(false);
    const job = (await api(agent(), "GET", `/v1/job/${jobId}`)).json;
    expect(job.Meta["ctrlplane.release"]).toBe("r1");
    const d = (await api(agent(), "GET", `/v1/deployment/${res.deploymentId}`)).json;
    expect(d).toMatchObject({ JobVersion: 1, Status: "successful" });
  });

  it("canary: the canary comes up next to the old allocations, is promoted when healthy, then all move", async () => {
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "r2", strategy: DeployStrategy.CANARY, services: [{ name: "web", image: "busybox:3" }], options: quick() },
      call,
    );
    expect(res).toMatchObject({ status: "successful", jobVersion: 2n });
    expect(res.message).toContain("canaries were healthy and promoted");
    const d = (await api(agent(), "GET", `/v1/deployment/${res.deploymentId}`)).json;
    expect(d.TaskGroups.workload).toMatchObject({ DesiredCanaries: 1, Promoted: true });
    expect(d.TaskGroups.workload.PlacedCanaries).toHaveLength(1);
    const live = await allOn(agent(), jobId, "busybox:3", 2);
    expect(live).toBeTruthy();
    expect((live as { id: string }[]).map((a) => a.id)).toContain(d.TaskGroups.workload.PlacedCanaries[0]);
  });

  it("blue/green: a full green set is placed as canaries, promoted, and replaces every blue allocation", async () => {
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "r3", strategy: DeployStrategy.BLUE_GREEN, services: [{ name: "web", image: "busybox:4" }], options: quick() },
      call,
    );
    expect(res).toMatchObject({ status: "successful", jobVersion: 3n });
    const d = (await api(agent(), "GET", `/v1/deployment/${res.deploymentId}`)).json;
    expect(d.TaskGroups.workload).toMatchObject({ DesiredCanaries: 2, Promoted: true });
    expect(d.TaskGroups.workload.PlacedCanaries).toHaveLength(2);
    const live = await allOn(agent(), jobId, "busybox:4", 2);
    expect(live).toBeTruthy();
    expect((live as { id: string }[]).map((a) => a.id).sort()).toEqual([...d.TaskGroups.workload.PlacedCanaries].sort());
  });

  it("the same release again registers nothing and answers that version's deployment (a safe retry)", async () => {
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "r3", strategy: DeployStrategy.ROLLING, services: [{ name: "web", image: "busybox:4" }], options: quick() },
      call,
    );
    const latest = (await api(agent(), "GET", `/v1/job/${jobId}/deployment`)).json;
    expect(latest.JobVersion).toBe(3);
    expect(res).toMatchObject({ status: "successful", deploymentId: latest.ID, jobVersion: 3n });
    expect(res.message).toMatch(/^release r3 is already job version 3; /);
    expect((await api(agent(), "GET", `/v1/job/${jobId}`)).json.Version).toBe(3);
  });

  it("a deploy over a running deployment answers that Nomad cancelled the older one", async () => {
    const slow = await provider().client.deploy(
      {
        instanceId: id,
        releaseId: "r4",
        services: [{ name: "web", image: "busybox:5" }],
        options: quick({ minHealthyTime: durationFromMs(4_000), noWait: true }),
      },
      call,
    );
    expect(slow.status).toBe("running");
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "r5", services: [{ name: "web", image: "busybox:6" }], options: quick() },
      call,
    );
    expect(res.status).toBe("successful");
    expect(res.message).toContain(`deployment ${slow.deploymentId} of job version 4 was still running; Nomad cancelled it when job version 5 registered`);
    expect((await api(agent(), "GET", `/v1/deployment/${slow.deploymentId}`)).json.Status).toBe("cancelled");
    await until(() => allOn(agent(), jobId, "busybox:6", 2), "all allocations on busybox:6");
  });

  it("an unknown service is INVALID_ARGUMENT naming services[i].name, and nothing is registered", async () => {
    const before = (await api(agent(), "GET", `/v1/job/${jobId}`)).json.Version;
    const { code, details } = await grpcCode(
      provider().client.deploy({ instanceId: id, releaseId: "r9", services: [{ name: "web", image: "x" }, { name: "api", image: "y" }] }, call),
    );
    expect(code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(details).toMatch(/^services\[1\]\.name: no service "api"/);
    expect((await api(agent(), "GET", `/v1/job/${jobId}`)).json.Version).toBe(before);
  });
});
