// Scale with cpu/memory/disk through the plugin against the dev agent: a new job version whose only spec change is
// the named service's resources (CPU in MHz via cpuMhzPerCore), the replica count kept (PreserveCounts), and the
// allocations moved to that version with those resources; replicas and resources in one call; an unknown service
// is INVALID_ARGUMENT on service_name and leaves the job untouched.

import { beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily], settings: { cpuMhzPerCore: 1200 } }));
const call = { deadlineMs: 30_000 };
const id = "inst_scale_res";
const jobPath = `/v1/job/cp-${id}`;

beforeAll(async () => {
  await provider().client.provision(
    {
      instanceId: id,
      tenantId: "ten_scale",
      services: [
        { name: "web", image: "busybox", role: ServiceRole.MAIN, resources: { cpuMillis: 100, memoryMb: 64, diskMb: 200 }, command: ["/bin/sh", "-c", "exec sleep 600"] },
        { name: "side", image: "busybox", role: ServiceRole.SIDECAR, resources: { memoryMb: 32 }, command: ["/bin/sh", "-c", "exec sleep 600"] },
      ],
    },
    call,
  );
});

const readJob = async () => (await api(agent(), "GET", jobPath)).json;

/** Fields Nomad itself changes on every registration; everything else is the spec the user owns. */
const bookkeeping = new Set(["Version", "ModifyIndex", "JobModifyIndex", "SubmitTime", "Stable", "Status", "StatusDescription", "CreateIndex"]);

/** Paths where two job JSONs differ, ignoring bookkeeping; arrays of named things are matched by Name. */
function specDiff(a: unknown, b: unknown, path = "$"): string[] {
  if (a === b) return [];
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null || Array.isArray(a) !== Array.isArray(b)) return [path];
  if (Array.isArray(a)) {
    const bs = b as unknown[];
    if (a.length !== bs.length) return [path];
    return a.flatMap((x, i) => specDiff(x, bs[i], `${path}[${(x as { Name?: string })?.Name ?? i}]`));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)].filter((k) => !bookkeeping.has(k)));
  return [...keys].flatMap((k) => specDiff(ao[k], bo[k], `${path}.${k}`));
}

/** The live allocations once they all run `version` (count of them), with their allocated task resources. */
async function allocationsOn(version: number, count: number) {
  return until(async () => {
    const live = (await api(agent(), "GET", `${jobPath}/allocations`)).json.filter((a: any) => a.DesiredStatus === "run");
    if (live.length !== count || !live.every((a: any) => a.JobVersion === version && a.ClientStatus === "running")) return undefined;
    return Promise.all(live.map(async (a: any) => (await api(agent(), "GET", `/v1/allocation/${a.ID}`)).json));
  }, `${count} allocations running version ${version}`);
}

describe("Scale resources", () => {
  it("changes only the named service's CPU and memory in a new version, keeps the count, and moves the allocations", async () => {
    await provider().client.scale({ instanceId: id, resources: { replicas: 2 } }, call);
    const before = await until(async () => {
      const j = await readJob();
      return j.TaskGroups[0].Count === 2 && j.Stable && j;
    }, "2 replicas, stable");
    await allocationsOn(before.Version, 2);

    const answer = await provider().client.scale({ instanceId: id, serviceName: "web", resources: { cpuMillis: 750, memoryMb: 96 } }, call);
    const after = await readJob();
    expect(after.Version).toBe(before.Version + 1);
    expect(answer).toMatchObject({ providerRef: `cp-${id}`, replicas: 2, jobVersion: BigInt(after.Version) });
    expect(specDiff(before, after).sort()).toEqual(["$.TaskGroups[workload].Tasks[web].Resources.CPU", "$.TaskGroups[workload].Tasks[web].Resources.MemoryMB"]);
    const web = after.TaskGroups[0].Tasks.find((t: any) => t.Name === "web");
    expect(web.Resources).toMatchObject({ CPU: 900, MemoryMB: 96 }); // 0.75 core x 1200 MHz
    expect(after.TaskGroups[0].Count).toBe(2);

    for (const alloc of await allocationsOn(after.Version, 2)) {
      expect(alloc.AllocatedResources.Tasks.web.Cpu.CpuShares).toBe(900);
      expect(alloc.AllocatedResources.Tasks.web.Memory.MemoryMB).toBe(96);
      expect(alloc.AllocatedResources.Tasks.side.Memory.MemoryMB).toBe(32);
    }
  });

  it("sets the group's ephemeral disk, up and down", async () => {
    const before = await readJob();
    await provider().client.scale({ instanceId: id, resources: { diskMb: 300 } }, call);
    const after = await readJob();
    expect(specDiff(before, after)).toEqual(["$.TaskGroups[workload].EphemeralDisk.SizeMB"]);
    expect(after.TaskGroups[0].EphemeralDisk.SizeMB).toBe(300);
    await allocationsOn(after.Version, 2);

    const shrink = await provider().client.scale({ instanceId: id, resources: { diskMb: 250 } }, call);
    const shrunk = await readJob();
    expect(shrink.jobVersion).toBe(BigInt(after.Version + 1));
    expect(specDiff(after, shrunk)).toEqual(["$.TaskGroups[workload].EphemeralDisk.SizeMB"]);
    expect(shrunk.TaskGroups[0].EphemeralDisk.SizeMB).toBe(250);
    await allocationsOn(shrunk.Version, 2);
  });

  it("sets replicas and resources together", async () => {
    await until(async () => (await readJob()).Stable, "previous rollout done");
    const before = await readJob();
    const answer = await provider().client.scale({ instanceId: id, serviceName: "side", resources: { replicas: 3, memoryMb: 48 } }, call);
    const after = await readJob();
    expect(answer.replicas).toBe(3);
    expect(specDiff(before, after).sort()).toEqual(["$.TaskGroups[workload].Count", "$.TaskGroups[workload].Tasks[side].Resources.MemoryMB"]);
    for (const alloc of await allocationsOn(after.Version, 3)) expect(alloc.AllocatedResources.Tasks.side.Memory.MemoryMB).toBe(48);
  });

  it("refuses an unknown service with INVALID_ARGUMENT on service_name and leaves the job alone", async () => {
    const before = await readJob();
    const err = await grpcCode(provider().client.scale({ instanceId: id, serviceName: "nope", resources: { memoryMb: 128 } }, call));
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^service_name: /);
    const replicasOnly = await grpcCode(provider().client.scale({ instanceId: id, serviceName: "nope", resources: { replicas: 1 } }, call));
    expect(replicasOnly.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const after = await readJob();
    expect([after.Version, after.JobModifyIndex, after.TaskGroups[0].Count]).toEqual([before.Version, before.JobModifyIndex, before.TaskGroups[0].Count]);
  });
});
