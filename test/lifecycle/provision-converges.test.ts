// Provision converges, as ctrlplane's reconcilers need (they call it again with the same instance ID and spec after
// any error): an identical request is a success with the same answer and no new job version; another spec becomes a
// new version; a stopped instance starts again; concurrent Provisions of one instance end in one job, not an error.

import { describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

function request(instanceId: string, script = "exec sleep 600") {
  return {
    instanceId,
    tenantId: "ten_conv",
    services: [{ name: "web", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", script] }],
  };
}

async function job(id: string) {
  return (await api(agent(), "GET", `/v1/job/cp-${id}`)).json;
}

async function versions(id: string): Promise<number[]> {
  return ((await api(agent(), "GET", `/v1/job/cp-${id}/versions`)).json.Versions as { Version: number }[]).map((v) => v.Version);
}

describe("Provision converges", () => {
  it("answers an identical retry with the same result and registers no new version", async () => {
    const first = await provider().client.provision(request("inst_same"), call);
    expect(first.state).toBe(InstanceState.RUNNING);
    const before = await job("inst_same");

    const again = await provider().client.provision(request("inst_same"), call);
    expect(again.state).toBe(InstanceState.RUNNING);
    expect(again.providerRef).toBe(first.providerRef);
    expect(again.serviceRefs).toEqual(first.serviceRefs);
    expect(again.endpoints).toEqual(first.endpoints);
    expect(again.metadata["ctrlplane.provision"]).toBe("unchanged");
    expect(again.metadata["nomad.job_modify_index"]).toBe(first.metadata["nomad.job_modify_index"]);
    const after = await job("inst_same");
    expect(after.Version).toBe(before.Version);
    expect(after.JobModifyIndex).toBe(before.JobModifyIndex);
    expect(await versions("inst_same")).toEqual([0]);
  });

  it("registers a different spec as a new version of the same job", async () => {
    await provider().client.provision(request("inst_diff"), call);
    const changed = await provider().client.provision(request("inst_diff", "echo v2; exec sleep 600"), call);
    expect(changed.state).toBe(InstanceState.RUNNING);
    expect(changed.metadata["ctrlplane.provision"]).toBe("updated");
    const stored = await job("inst_diff");
    expect(stored.Version).toBe(1);
    expect(JSON.stringify(stored.TaskGroups[0].Tasks[0].Config)).toContain("echo v2");
  });

  it("starts a stopped instance again", async () => {
    await provider().client.provision(request("inst_stopped"), call);
    await provider().client.stop({ instanceId: "inst_stopped" }, call);
    expect((await job("inst_stopped")).Stop).toBe(true);
    const again = await provider().client.provision(request("inst_stopped"), call);
    expect(again.state).toBe(InstanceState.RUNNING);
    expect(again.metadata["ctrlplane.provision"]).toBe("started");
    expect((await job("inst_stopped")).Stop).toBe(false);
  });

  it("lets two concurrent Provisions of a new instance both succeed on one job", async () => {
    const [a, b] = await Promise.all([
      provider().client.provision(request("inst_race"), call),
      provider().client.provision(request("inst_race"), call),
    ]);
    expect([a.state, b.state]).toEqual([InstanceState.RUNNING, InstanceState.RUNNING]);
    expect([a.metadata["ctrlplane.provision"], b.metadata["ctrlplane.provision"]].sort()).toEqual(["created", "unchanged"]);
    expect(await versions("inst_race")).toEqual([0]);
  });
});
