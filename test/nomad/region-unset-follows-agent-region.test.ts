// A plugin with no region setting works against a cluster whose region is not "global": it sends no ?region= (as
// Nomad's own Go client does), so Provision, Status and Logs reach the agent's region; a configured region that the
// cluster does not know fails with Nomad's "No path to region".

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState, LogStream, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { logsFamily } from "../../src/provider/observe-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { collectLogs } from "../helpers/observe-stack.js";

const agent = useDevAgent({ region: "us-east" });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, logsFamily] }));
const misnamed = useInProcessProvider(() => ({ nomadAddress: agent().address, region: "global", families: [lifecycleFamily] }));
const call = { deadlineMs: 30_000 };

describe("region: none configured", () => {
  it("provisions, reads status and logs in the agent's region", async () => {
    const instanceId = "inst_region";
    const res = await provider().client.provision(
      { instanceId, tenantId: "ten_r", services: [{ name: "web", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "echo up; exec sleep 600"] }] },
      call,
    );
    expect(res.state).not.toBe(InstanceState.FAILED);
    expect((await api(agent(), "GET", `/v1/job/cp-${instanceId}`)).json.Region).toBe("us-east");
    const status = await until(async () => {
      const s = (await provider().client.status({ instanceId }, call)).status!;
      return s.state === InstanceState.RUNNING ? s : undefined;
    }, "instance running");
    expect(Object.keys(status.services)).toEqual(["web"]);
    const lines = await until(async () => {
      const got = await collectLogs(provider().client.logs({ instanceId, stream: LogStream.STDOUT }, call));
      return got.some((l) => l.line === "up") ? got : undefined;
    }, "the task's first line");
    expect(lines.map((l) => l.line)).toContain("up");
    await provider().client.deprovision({ instanceId }, call);
  });

  it("with region global configured on a us-east cluster, reads answer Nomad's No path to region", async () => {
    const err = await grpcCode(misnamed().client.status({ instanceId: "inst_nowhere" }, call));
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.details).toContain("No path to region");
  });
});
