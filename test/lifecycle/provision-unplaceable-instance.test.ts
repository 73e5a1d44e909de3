// An instance Nomad cannot place (no GPU on the node, not enough memory, a host volume the node lacks): Provision
// answers PROVISIONING without invented endpoints and says why in Nomad's words; Status says the same; once the
// node has room the instance runs without another call.

import { describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { InstanceState, ServiceRole, type ProvisionRequestSchema, type ResourceSpecSchema, type VolumeSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";

const agent = useDevAgent({ nodeResources: { cpuMhz: 8000, memoryMb: 2000 } });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

function request(
  instanceId: string,
  resources: MessageInitShape<typeof ResourceSpecSchema>,
  volumes: MessageInitShape<typeof VolumeSchema>[] = [],
): MessageInitShape<typeof ProvisionRequestSchema> {
  return {
    instanceId,
    services: [
      {
        name: "web",
        image: "busybox",
        role: ServiceRole.MAIN,
        resources,
        volumes,
        ports: [{ container: 8080, protocol: "http" }],
        command: ["/bin/sh", "-c", "exec sleep 600"],
      },
    ],
  };
}

describe("instances Nomad cannot place", () => {
  it("a GPU instance stays PROVISIONING: no endpoints, 'missing devices' from FailedTGAllocs, in Provision and Status", async () => {
    const res = await provider().client.provision(request("inst_gpu", { gpu: "1" }), call);
    expect(res.state).toBe(InstanceState.PROVISIONING);
    expect(res.endpoints).toEqual([]);
    expect(res.metadata["ctrlplane.message"]).toBe("cannot place 1 allocation(s) of group workload: missing devices");
    const { status } = await provider().client.status({ instanceId: "inst_gpu" }, call);
    expect(status!.state).toBe(InstanceState.PROVISIONING);
    expect(status!.message).toBe("cannot place 1 allocation(s) of group workload: missing devices");
    expect(status!.metadata["nomad.placement"]).toBe("blocked");
  });

  it("names the host volume the node lacks", async () => {
    const res = await provider().client.provision(request("inst_vol", {}, [{ name: "data", mountPath: "/data", type: "host" }]), call);
    expect(res.state).toBe(InstanceState.PROVISIONING);
    expect(res.metadata["ctrlplane.message"]).toMatch(/missing compatible host volumes$/);
  });

  it("reports exhausted memory, and runs once another instance frees it", async () => {
    const big = await provider().client.provision(request("inst_big", { memoryMb: 1500 }), call);
    expect(big.state).toBe(InstanceState.RUNNING);
    const waiting = await provider().client.provision(request("inst_wait", { memoryMb: 1000 }), call);
    expect(waiting.state).toBe(InstanceState.PROVISIONING);
    expect(waiting.endpoints).toEqual([]);
    expect(waiting.metadata["ctrlplane.message"]).toBe("cannot place 1 allocation(s) of group workload: resources exhausted: memory");
    await provider().client.deprovision({ instanceId: "inst_big" }, call);
    const status = await until(async () => {
      const s = (await provider().client.status({ instanceId: "inst_wait" }, call)).status!;
      return s.state === InstanceState.RUNNING && s;
    }, "the waiting instance running");
    expect(status.message).not.toMatch(/cannot place/);
    expect(status.metadata["nomad.placement"]).toBeUndefined();
    expect(status.endpoints).toHaveLength(1);
  });
});
