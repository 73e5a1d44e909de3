// A canary whose health check never passes (tcp check on a port nothing listens on) is never promoted: the
// deployment fails at the healthy deadline, Nomad auto-reverts to the last stable release, and the allocations of
// that release keep serving throughout — the same allocations, never replaced. Status says what happened.

import { beforeAll, expect, it } from "vitest";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { DeployStrategy, InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { releasesFamily } from "../../src/provider/releases-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { allOn, liveAllocations, quick, sleeperInstance } from "../helpers/release-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, releasesFamily] }));
const id = "inst_canary_bad";
const jobId = `cp-${id}`;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  await provider().client.provision(sleeperInstance(id, { port: true }), call);
});

it("an unhealthy canary is not promoted, the deployment fails and reverts, and the old release keeps serving", async () => {
  const good = await provider().client.deploy(
    { instanceId: id, releaseId: "good", services: [{ name: "web", image: "busybox:1" }], options: quick() },
    call,
  );
  expect(good.status).toBe("successful");
  const serving = await liveAllocations(agent(), jobId);
  expect(serving).toHaveLength(2);

  const bad = await provider().client.deploy(
    {
      instanceId: id,
      releaseId: "bad",
      strategy: DeployStrategy.CANARY,
      services: [{ name: "web", image: "busybox:2", healthCheck: { port: 8080, interval: durationFromMs(200), timeout: durationFromMs(100) } }],
      options: quick({ healthyDeadline: durationFromMs(1_500), progressDeadline: durationFromMs(5_000) }),
    },
    call,
  );
  expect(bad).toMatchObject({ status: "failed", jobVersion: 2n });
  expect(bad.message).toContain("(release bad) failed");
  expect(bad.message).toContain("Nomad reverted the instance to job version 1 (release good)");
  const d = (await api(agent(), "GET", `/v1/deployment/${bad.deploymentId}`)).json;
  expect(d.TaskGroups.workload).toMatchObject({ DesiredCanaries: 1, Promoted: false, HealthyAllocs: 0 });
  const canary = d.TaskGroups.workload.PlacedCanaries[0];

  // The revert registers version 3 (a copy of "good"); the old allocations move to it in place.
  await until(async () => {
    const job = (await api(agent(), "GET", `/v1/job/${jobId}`)).json;
    return job.Version === 3 && job.Meta["ctrlplane.release"] === "good";
  }, "auto-revert to release good");
  const live = await until(() => allOn(agent(), jobId, "busybox:1", 2), "only busybox:1 allocations live");
  expect(live.map((a) => a.id)).toEqual(serving.map((a) => a.id));
  expect(live.map((a) => a.id)).not.toContain(canary);

  // Status shows the instance healthy on "good" again, and says why: the release "bad" failed and was reverted.
  const status = await until(async () => {
    const s = (await provider().client.status({ instanceId: id }, call)).status!;
    return s.state === InstanceState.RUNNING && s;
  }, "RUNNING again");
  expect(status.metadata["ctrlplane.release"]).toBe("good");
  expect(status.message).toContain(`deployment ${bad.deploymentId.slice(0, 8)} of job version 2 (release bad) failed`);
  expect(status.message).toContain("Nomad reverted the instance to job version 1 (release good)");
});

it("once another release deploys successfully, Status no longer reports the old revert", async () => {
  const next = await provider().client.deploy(
    { instanceId: id, releaseId: "fixed", services: [{ name: "web", image: "busybox:3" }], options: quick() },
    call,
  );
  expect(next.status).toBe("successful");
  const status = (await provider().client.status({ instanceId: id }, call)).status!;
  expect(status.metadata["ctrlplane.release"]).toBe("fixed");
  expect(status.message).not.toContain("reverted");
});
