// A Deploy whose answer is lost after Nomad registered the release (the plugin process dies while it follows the
// deployment), retried by the host's reconciler on a new plugin process: the retry registers nothing more, follows the
// same deployment, and answers and leaves Nomad as one clean Deploy of that release does.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { DeployStrategy } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { pluginProcessesFor } from "../helpers/plugin-process.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const plugin = pluginProcessesFor(() => agent().address);

// Each allocation needs 1.5 s of health, so the rolling deployment of two runs for a few seconds.
const release = (instanceId: string) => ({
  instanceId,
  releaseId: "rel_2",
  strategy: DeployStrategy.ROLLING,
  services: [{ name: "web", image: "busybox:2" }],
  options: quick({ minHealthyTime: durationFromMs(1_500) }),
});

async function nomadState(instance: string) {
  const versions = ((await api(agent(), "GET", `/v1/job/cp-${instance}/versions`)).json.Versions as { Version: number }[]).map((v) => v.Version);
  // The release's deployments (the provisioning one of version 0 may end either way, depending on timing).
  const deployments = ((await api(agent(), "GET", `/v1/job/cp-${instance}/deployments`)).json as { JobVersion: number; Status: string }[])
    .filter((d) => d.JobVersion >= 1)
    .map((d) => `${d.JobVersion}:${d.Status}`)
    .sort();
  return { versions, deployments };
}

describe("Deploy retried after a lost answer and a plugin restart", () => {
  it("registers the release once and answers as one clean Deploy", async () => {
    const clean = await plugin();
    await clean.client.provision(sleeperInstance("inst_dclean"), { deadlineMs: 30_000 });
    const reference = await clean.client.deploy(release("inst_dclean"), { deadlineMs: 60_000 });
    expect(reference.status).toBe("successful");

    await clean.client.provision(sleeperInstance("inst_dlost"), { deadlineMs: 30_000 });
    const first = await plugin();
    const lost = grpcCode(first.client.deploy(release("inst_dlost"), { deadlineMs: 60_000 }));
    await until(async () => (await api(agent(), "GET", "/v1/job/cp-inst_dlost")).json.Version === 1, "the release registered");
    await first.p.kill();
    expect((await lost).code).toBe(GrpcStatus.UNAVAILABLE);
    first.client.close();

    const second = await plugin();
    const retried = await second.client.deploy(release("inst_dlost"), { deadlineMs: 60_000 });
    expect({ status: retried.status, jobVersion: retried.jobVersion }).toEqual({ status: reference.status, jobVersion: reference.jobVersion });
    expect(retried.deploymentId).toBe((await api(agent(), "GET", "/v1/job/cp-inst_dlost/deployment")).json.ID);
    expect(await nomadState("inst_dlost")).toEqual(await nomadState("inst_dclean"));
    second.client.close();
    clean.client.close();
  });
});
