// Rollback through the gRPC service against the dev agent: back to the first release restores its image and env
// exactly (keys added later are gone), reports the version reverted to and the new one; an unknown release is
// NOT_FOUND and says Nomad's history is limited; the release already running is a no-op.

import { beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { releasesFamily } from "../../src/provider/releases-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { liveAllocations, quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, releasesFamily] }));
const id = "inst_rollback";
const jobId = `cp-${id}`;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  await provider().client.provision(sleeperInstance(id, { env: { A: "1" } }), call);
});

describe("Rollback", () => {
  it("returns to the first release: its image and env exactly, on every allocation", async () => {
    const r1 = await provider().client.deploy(
      { instanceId: id, releaseId: "first", services: [{ name: "web", image: "busybox:1.36", env: { MODE: "one" } }], options: quick() },
      call,
    );
    expect(r1).toMatchObject({ status: "successful", jobVersion: 1n });
    const r2 = await provider().client.deploy(
      { instanceId: id, releaseId: "second", services: [{ name: "web", image: "busybox:1.37", env: { MODE: "two", EXTRA: "x" } }], options: quick() },
      call,
    );
    expect(r2).toMatchObject({ status: "successful", jobVersion: 2n });

    const res = await provider().client.rollback({ instanceId: id, releaseId: "first" }, call);
    expect(res).toMatchObject({ providerRef: jobId, revertedToVersion: 1n, jobVersion: 3n });
    expect(res.deploymentId).not.toBe("");
    expect(res.message).toMatch(/^reverted to job version 1 \(release first\); job version 3 registered; deployment \w+ of job version 3 \(release first\) successful/);

    const job = (await api(agent(), "GET", `/v1/job/${jobId}`)).json;
    expect(job.Meta["ctrlplane.release"]).toBe("first");
    const task = job.TaskGroups[0].Tasks[0];
    expect(task.Config.image).toBe("busybox:1.36");
    expect(task.Env).toEqual({ A: "1", MODE: "one" });
    const live = await until(async () => {
      const l = await liveAllocations(agent(), jobId);
      return l.length === 2 && l.every((a) => a.jobVersion === 3) && l;
    }, "allocations on version 3");
    for (const a of live) expect(a).toMatchObject({ image: "busybox:1.36", env: { A: "1", MODE: "one" } });
  });

  it("to the release already running is a no-op", async () => {
    const res = await provider().client.rollback({ instanceId: id, releaseId: "first" }, call);
    expect(res).toMatchObject({ revertedToVersion: 3n, jobVersion: 3n, deploymentId: "" });
    expect(res.message).toContain("already runs release first");
    expect((await api(agent(), "GET", `/v1/job/${jobId}`)).json.Version).toBe(3);
  });

  it("to an unknown release is NOT_FOUND and names Nomad's limited version history", async () => {
    const { code, details } = await grpcCode(provider().client.rollback({ instanceId: id, releaseId: "never-deployed" }, call));
    expect(code).toBe(GrpcStatus.NOT_FOUND);
    expect(details).toMatch(/^release_id: no retained version of job cp-inst_rollback carries release never-deployed/);
    expect(details).toContain("releases first, second");
    expect(details).toMatch(/job_max_versions .* aged out/);
  });

  it("of an instance that does not exist is NOT_FOUND", async () => {
    const { code } = await grpcCode(provider().client.rollback({ instanceId: "nope", releaseId: "first" }, call));
    expect(code).toBe(GrpcStatus.NOT_FOUND);
  });
});
