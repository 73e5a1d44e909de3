// The host's manual controls: FailDeployment of a canary deployment waiting for promotion reverts to the last
// stable release; a canary deploy with no_wait serves old and canary side by side until PromoteDeployment, then
// the rollout finishes; the calls refuse what they cannot act on.

import { beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { releasesFamily } from "../../src/provider/releases-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { allOn, liveAllocations, quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, releasesFamily] }));
const id = "inst_controls";
const jobId = `cp-${id}`;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  await provider().client.provision(sleeperInstance(id), call);
  const first = await provider().client.deploy({ instanceId: id, releaseId: "v1", services: [{ name: "web", image: "busybox:1" }], options: quick() }, call);
  if (first.status !== "successful") throw new Error(`first release: ${first.status} ${first.message}`);
});

const canaryHealthy = async (deploymentId: string) => {
  const d = (await api(agent(), "GET", `/v1/deployment/${deploymentId}`)).json;
  return d.TaskGroups.workload.HealthyAllocs >= 1 && d;
};

describe("PromoteDeployment and FailDeployment", () => {
  it("FailDeployment of a waiting canary release reverts to the last stable release", async () => {
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "v2", strategy: DeployStrategy.CANARY, services: [{ name: "web", image: "busybox:2" }], options: quick({ noWait: true }) },
      call,
    );
    const failed = await provider().client.failDeployment({ instanceId: id, deploymentId: res.deploymentId }, call);
    expect(failed).toMatchObject({ deploymentId: res.deploymentId, status: "failed" });
    expect(failed.message).toContain("Deployment marked as failed; Nomad reverted the instance to job version 1 (release v1)");
    await until(async () => (await api(agent(), "GET", `/v1/job/${jobId}`)).json.Meta["ctrlplane.release"] === "v1", "reverted to v1");
    await until(() => allOn(agent(), jobId, "busybox:1", 2), "only busybox:1 allocations");
  });

  it("a canary release with no_wait stays unpromoted until PromoteDeployment, then completes", async () => {
    const res = await provider().client.deploy(
      { instanceId: id, releaseId: "v3", strategy: DeployStrategy.CANARY, services: [{ name: "web", image: "busybox:3" }], options: quick({ noWait: true }) },
      call,
    );
    expect(res.status).toBe("running");
    await until(() => canaryHealthy(res.deploymentId), "healthy canary");
    const waiting = (await api(agent(), "GET", `/v1/deployment/${res.deploymentId}`)).json;
    expect(waiting).toMatchObject({ Status: "running", StatusDescription: "Deployment is running but requires manual promotion" });
    const live = await liveAllocations(agent(), jobId);
    expect(live.filter((a) => a.image === "busybox:1")).toHaveLength(2);
    expect(live.filter((a) => a.image === "busybox:3" && a.canary)).toHaveLength(1);

    const promoted = await provider().client.promoteDeployment({ instanceId: id }, call);
    expect(promoted.deploymentId).toBe(res.deploymentId);
    expect(promoted.message).toMatch(/^canaries promoted; deployment /);
    await until(() => allOn(agent(), jobId, "busybox:3", 2), "all allocations on busybox:3");
    await until(async () => (await api(agent(), "GET", `/v1/deployment/${res.deploymentId}`)).json.Status === "successful", "successful");
  });

  it("answers a retried Promote, refuses when there is nothing to act on, or the deployment is another instance's", async () => {
    await until(async () => {
      const d = (await api(agent(), "GET", `/v1/job/${jobId}/deployment`)).json;
      return !d || !["running", "pending", "paused"].includes(d.Status);
    }, "no active deployment");
    // The latest deployment is the promoted, finished canary release: a Promote retried now answers it, a Fail has
    // nothing to act on.
    const latest = (await api(agent(), "GET", `/v1/job/${jobId}/deployment`)).json;
    const retried = await provider().client.promoteDeployment({ instanceId: id }, call);
    expect(retried).toMatchObject({ deploymentId: latest.ID, status: "successful" });
    expect(retried.message).toMatch(/^canaries already promoted; /);
    const none = await grpcCode(provider().client.failDeployment({ instanceId: id }, call));
    expect(none.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    expect(none.details).toMatch(/has no active deployment/);
    const terminal = await grpcCode(provider().client.failDeployment({ instanceId: id, deploymentId: latest.ID }, call));
    expect(terminal.code).toBe(GrpcStatus.FAILED_PRECONDITION);
    const foreign = await grpcCode(provider().client.promoteDeployment({ instanceId: "someone_else", deploymentId: latest.ID }, call));
    expect(foreign.code).toBe(GrpcStatus.NOT_FOUND);
    const unknown = await grpcCode(provider().client.promoteDeployment({ instanceId: id, deploymentId: "00000000-0000-0000-0000-000000000000" }, call));
    expect(unknown.code).toBe(GrpcStatus.NOT_FOUND);
  });
});
