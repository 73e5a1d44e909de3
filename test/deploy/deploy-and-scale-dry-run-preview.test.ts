// Deploy and Scale with dry_run: the plugin asks Nomad's plan about exactly the job the real call registers and
// answers a preview (per group annotations, changed fields, placement failures, job modify index) without
// registering anything; the real call that follows does what the preview announced.

import { beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../../src/provider/families.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { liveAllocations, quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families }));
const id = "inst_preview";
const jobId = `cp-${id}`;
const call = { deadlineMs: 20_000 };
const storedJob = async () => (await api(agent(), "GET", `/v1/job/${jobId}`)).json;

beforeAll(async () => {
  await provider().client.provision(sleeperInstance(id), call);
});

describe("dry runs of Deploy and Scale", () => {
  it("are announced in Capabilities", async () => {
    const { capabilities } = await provider().client.capabilities({}, call);
    expect(capabilities).toEqual(expect.arrayContaining(["dry-run:deploy", "dry-run:scale"]));
  });

  it("a deploy preview names the replacements and the changed image, registers nothing, and the deploy then does that", async () => {
    const before = await storedJob();
    const request = { instanceId: id, releaseId: "p1", strategy: DeployStrategy.ROLLING, services: [{ name: "web", image: "busybox:2" }], options: quick({ maxParallel: 2 }) };
    const dry = await provider().client.deploy({ ...request, dryRun: true }, call);
    expect(dry).toMatchObject({ providerRef: jobId, status: "preview", deploymentId: "", jobVersion: 0n });
    const g = dry.preview!.groups[0]!;
    expect(g).toMatchObject({ group: "workload", destructiveUpdate: 2n, place: 0n, canary: 0n, ignore: 0n, destroy: 0n });
    expect(dry.preview!.changes).toContainEqual(expect.objectContaining({ path: "TaskGroups[workload].Tasks[web].Config.image", type: "Edited", oldValue: "busybox:1", newValue: "busybox:2" }));
    expect(dry.preview!.changes).toContainEqual(expect.objectContaining({ path: "Meta[ctrlplane.release]", newValue: "p1" }));
    expect(dry.preview!.placementFailures).toEqual([]);
    expect(dry.preview!.jobModifyIndex).toBe(BigInt(before.JobModifyIndex));
    expect(dry.message).toContain("dry run, nothing registered: workload: destructive 2");
    const after = await storedJob();
    expect([after.Version, after.JobModifyIndex]).toEqual([before.Version, before.JobModifyIndex]);

    const oldIds = (await liveAllocations(agent(), jobId)).map((a) => a.id);
    const real = await provider().client.deploy({ ...request, expectedJobModifyIndex: dry.preview!.jobModifyIndex }, call);
    expect(real.status).toBe("successful");
    const allocs = (await api(agent(), "GET", `/v1/job/${jobId}/allocations?all=true`)).json as any[];
    const replacements = allocs.filter((a) => a.JobVersion === 1 && oldIds.includes(a.PreviousAllocation));
    expect(replacements.length).toBe(Number(g.destructiveUpdate));
  });

  it("a canary preview counts the canary the deployment then places", async () => {
    const request = { instanceId: id, releaseId: "p2", strategy: DeployStrategy.CANARY, services: [{ name: "web", image: "busybox:3" }], options: quick() };
    const dry = await provider().client.deploy({ ...request, dryRun: true }, call);
    expect(dry.preview!.groups[0]).toMatchObject({ canary: 1n, ignore: 2n, destructiveUpdate: 0n });
    const real = await provider().client.deploy(request, call);
    const d = (await api(agent(), "GET", `/v1/deployment/${real.deploymentId}`)).json;
    expect(d.TaskGroups.workload.DesiredCanaries).toBe(Number(dry.preview!.groups[0]!.canary));
  });

  it("a scale preview counts placements and resource changes, and a scale then places that many", async () => {
    const before = await storedJob();
    const more = await provider().client.scale({ instanceId: id, resources: { replicas: 3 }, dryRun: true }, call);
    expect(more).toMatchObject({ replicas: 2, jobVersion: BigInt(before.Version) });
    // A count change is a new job version: Nomad updates the running allocations in place and places one more.
    expect(more.preview!.groups[0]).toMatchObject({ place: 1n, inPlaceUpdate: 2n, destructiveUpdate: 0n });
    expect(more.preview!.changes).toContainEqual(expect.objectContaining({ path: "TaskGroups[workload].Count", type: "Edited", oldValue: "2", newValue: "3" }));
    const bigger = await provider().client.scale({ instanceId: id, resources: { memoryMb: 96 }, dryRun: true }, call);
    expect(bigger.preview!.changes).toContainEqual(expect.objectContaining({ path: "TaskGroups[workload].Tasks[web].Resources.MemoryMB", newValue: "96" }));
    expect((await storedJob()).JobModifyIndex).toBe(before.JobModifyIndex);

    const huge = await provider().client.scale({ instanceId: id, resources: { cpuMillis: 512_000 }, dryRun: true }, call);
    expect(huge.preview!.placementFailures[0]).toMatchObject({ group: "workload", reasons: ["resources exhausted: cpu"] });

    await provider().client.scale({ instanceId: id, resources: { replicas: 3 } }, call);
    // What the preview announced is what the instance settles at (an earlier rollout's last stops may still be under way).
    const g = more.preview!.groups[0]!;
    const expected = Number(g.place + g.ignore + g.inPlaceUpdate);
    await until(async () => {
      const live = ((await api(agent(), "GET", `/v1/job/${jobId}/allocations`)).json as any[]).filter((a) => a.DesiredStatus === "run");
      return live.length === expected && live.every((a) => a.JobVersion === live[0].JobVersion);
    }, `${expected} allocations of the scaled version`);
  });

  it("a deploy that enforces a preview's job modify index is ABORTED once the job moved on", async () => {
    const request = { instanceId: id, releaseId: "p3", services: [{ name: "web", image: "busybox:9" }], options: quick() };
    const dry = await provider().client.deploy({ ...request, dryRun: true }, call);
    await provider().client.scale({ instanceId: id, resources: { memoryMb: 80 } }, call);
    const before = await storedJob();
    const stale = await grpcCode(provider().client.deploy({ ...request, expectedJobModifyIndex: dry.preview!.jobModifyIndex }, call));
    expect(stale.code).toBe(GrpcStatus.ABORTED);
    expect(stale.details).toContain(`changed since job modify index ${dry.preview!.jobModifyIndex}`);
    expect((await storedJob()).JobModifyIndex).toBe(before.JobModifyIndex);
  });

  it("fails like the real call: bad input is INVALID_ARGUMENT, an unknown instance NOT_FOUND, nothing registered", async () => {
    const before = await storedJob();
    const bad = await grpcCode(provider().client.deploy({ instanceId: id, releaseId: "p9", services: [{ name: "api", image: "x" }], dryRun: true }, call));
    expect(bad.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(bad.details).toMatch(/^services\[0\]\.name: no service "api"/);
    const badScale = await grpcCode(provider().client.scale({ instanceId: id, resources: {}, dryRun: true }, call));
    expect([badScale.code, badScale.details]).toEqual([GrpcStatus.INVALID_ARGUMENT, "resources: nothing to change"]);
    const missing = await grpcCode(provider().client.deploy({ instanceId: "inst_nope", releaseId: "p9", services: [{ name: "web", image: "x" }], dryRun: true }, call));
    expect(missing.code).toBe(GrpcStatus.NOT_FOUND);
    const missingScale = await grpcCode(provider().client.scale({ instanceId: "inst_nope", resources: { replicas: 1 }, dryRun: true }, call));
    expect(missingScale.code).toBe(GrpcStatus.NOT_FOUND);
    expect((await storedJob()).JobModifyIndex).toBe(before.JobModifyIndex);
  });
});
