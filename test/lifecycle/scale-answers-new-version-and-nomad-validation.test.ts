// Scale against the dev agent: a replica change answers the job version Nomad's Job.Scale registered (not the one
// before it), and a change Nomad's validators refuse (500 with the multierror text) is INVALID_ARGUMENT with Nomad's
// words, not UNAVAILABLE: here a memory raise above the job's memory_max, set by an operator outside ctrlplane.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { runInstance } from "../helpers/observe-stack.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 30_000 };

describe("Scale answers", () => {
  it("names the job version the scale registered", async () => {
    const id = "inst_scale_version";
    await runInstance(agent(), id, { script: "exec sleep 600" });
    const before = (await api(agent(), "GET", `/v1/job/cp-${id}`)).json.Version as number;
    const res = await provider().client.scale({ instanceId: id, resources: { replicas: 2 } }, call);
    const after = (await api(agent(), "GET", `/v1/job/cp-${id}`)).json.Version as number;
    expect(after).toBe(before + 1);
    expect(res.jobVersion).toBe(BigInt(after));
  });

  it("refuses what Nomad's validation refuses as INVALID_ARGUMENT with Nomad's text", async () => {
    const id = "inst_scale_invalid";
    await runInstance(agent(), id, { script: "exec sleep 600", memoryMb: 64 });
    const job = (await api(agent(), "GET", `/v1/job/cp-${id}`)).json;
    job.TaskGroups[0].Tasks[0].Resources.MemoryMaxMB = 256;
    expect((await api(agent(), "POST", `/v1/job/cp-${id}`, { Job: job })).status).toBe(200);
    const err = await grpcCode(provider().client.scale({ instanceId: id, resources: { memoryMb: 512 } }, call));
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toContain("MemoryMaxMB value (256) should be larger than MemoryMB value (512");
  });
});
