// Every write but Restart is a no-op when already done, so ctrlplane's retrying reconcilers can call it again after
// a lost answer: the second call writes nothing to Nomad (no new job version, no new evaluation) and answers the state.

import { describe, expect, it } from "vitest";
import { DeployStrategy, InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { releasesFamily } from "../../src/provider/releases-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, releasesFamily] }));
const call = { deadlineMs: 30_000 };

function request(instanceId: string) {
  return {
    instanceId,
    tenantId: "ten_retry",
    services: [{ name: "web", image: "busybox:1", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "exec sleep 600"] }],
  };
}

/** What a write could leave behind in Nomad: the job's version and modify index, and the job's evaluations. */
async function footprint(id: string) {
  const job = (await api(agent(), "GET", `/v1/job/cp-${id}`)).json;
  const evals = (await api(agent(), "GET", `/v1/job/cp-${id}/evaluations`)).json as unknown[];
  return { version: job.Version, modifyIndex: job.JobModifyIndex, evals: evals.length };
}

describe("writes retried after they took effect", () => {
  it("Stop of a stopped instance and Start of a running one change nothing", async () => {
    await provider().client.provision(request("inst_ss"), call);
    await provider().client.stop({ instanceId: "inst_ss" }, call);
    const stopped = await footprint("inst_ss");
    const again = await provider().client.stop({ instanceId: "inst_ss" }, call);
    expect(again.state).toBe(InstanceState.STOPPED);
    expect(await footprint("inst_ss")).toEqual(stopped);

    await provider().client.start({ instanceId: "inst_ss" }, call);
    const started = await footprint("inst_ss");
    const twice = await provider().client.start({ instanceId: "inst_ss" }, call);
    expect(twice.state).toBe(InstanceState.RUNNING);
    expect(await footprint("inst_ss")).toEqual(started);
  });

  it("Scale to the current replicas or resources changes nothing and answers the current version", async () => {
    await provider().client.provision(request("inst_sc2"), call);
    const first = await provider().client.scale({ instanceId: "inst_sc2", resources: { replicas: 2 } }, call);
    const scaled = await footprint("inst_sc2");
    const again = await provider().client.scale({ instanceId: "inst_sc2", resources: { replicas: 2 } }, call);
    expect(again.replicas).toBe(2);
    expect(again.jobVersion).toBe(first.jobVersion);
    expect(await footprint("inst_sc2")).toEqual(scaled);

    const resized = await provider().client.scale({ instanceId: "inst_sc2", resources: { memoryMb: 96 } }, call);
    const before = await footprint("inst_sc2");
    const same = await provider().client.scale({ instanceId: "inst_sc2", resources: { memoryMb: 96 } }, call);
    expect(same.jobVersion).toBe(resized.jobVersion);
    expect(same.message).toMatch(/already as requested/);
    expect(await footprint("inst_sc2")).toEqual(before);
  });

  it("Deploy of the release already deployed answers its deployment and registers nothing", async () => {
    await provider().client.provision(request("inst_dep"), call);
    const deploy = { instanceId: "inst_dep", releaseId: "rel_2", strategy: DeployStrategy.ROLLING, services: [{ name: "web", image: "busybox:2" }] };
    const first = await provider().client.deploy(deploy, call);
    const after = await footprint("inst_dep");
    const again = await provider().client.deploy(deploy, call);
    expect({ status: again.status, deploymentId: again.deploymentId, jobVersion: again.jobVersion }).toEqual({
      status: first.status,
      deploymentId: first.deploymentId,
      jobVersion: first.jobVersion,
    });
    expect(await footprint("inst_dep")).toEqual(after);
  });

  it("Rollback to the release that runs, and Promote/Fail of a finished deployment, answer without writing", async () => {
    await provider().client.provision(request("inst_rb"), call);
    const canary = { instanceId: "inst_rb", releaseId: "rel_c", strategy: DeployStrategy.CANARY, services: [{ name: "web", image: "busybox:3" }], options: { noWait: true } };
    const deployed = await provider().client.deploy(canary, call);
    // Wait for the canary to be healthy, then promote twice: the second answers the promoted deployment.
    await until(async () => {
      const d = (await api(agent(), "GET", `/v1/deployment/${deployed.deploymentId}`)).json;
      return d.TaskGroups.workload.HealthyAllocs >= 1;
    }, "the canary healthy");
    const promoted = await provider().client.promoteDeployment({ instanceId: "inst_rb" }, call);
    const before = await footprint("inst_rb");
    const again = await provider().client.promoteDeployment({ instanceId: "inst_rb" }, call);
    expect(again.deploymentId).toBe(promoted.deploymentId);
    expect(again.message).toMatch(/already promoted/);
    expect(await footprint("inst_rb")).toEqual(before);

    const rolled = await provider().client.rollback({ instanceId: "inst_rb", releaseId: "rel_c" }, call);
    expect(rolled.jobVersion).toBe(deployed.jobVersion);
    expect(await footprint("inst_rb")).toEqual(before);

    const next = await provider().client.deploy({ ...canary, releaseId: "rel_d", services: [{ name: "web", image: "busybox:4" }] }, call);
    expect(next.deploymentId).not.toBe("");
    const failed = await provider().client.failDeployment({ instanceId: "inst_rb", deploymentId: next.deploymentId }, call);
    expect(failed.status).toBe("failed");
    const afterFail = await footprint("inst_rb");
    const failedAgain = await provider().client.failDeployment({ instanceId: "inst_rb", deploymentId: next.deploymentId }, call);
    expect({ id: failedAgain.deploymentId, status: failedAgain.status }).toEqual({ id: failed.deploymentId, status: "failed" });
    expect(await footprint("inst_rb")).toEqual(afterFail);
  });
});
