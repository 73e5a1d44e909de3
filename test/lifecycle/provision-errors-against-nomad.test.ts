// How Provision and the other lifecycle RPCs fail when Nomad says no: an existing job, a refused token, an agent
// that is gone, a missing instance, a malformed request that must not reach Nomad at all.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { api, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider, startInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode, threeServiceRequest } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent({ acl: true });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, token: agent().managementToken, families: [lifecycleFamily] }));
const call = { deadlineMs: 15_000 };

describe("lifecycle errors", () => {
  it("refuses to provision over an existing job: ALREADY_EXISTS, and the job is left as it was", async () => {
    await provider().client.provision(threeServiceRequest("inst_dup"), call);
    const before = (await api(agent(), "GET", "/v1/job/cp-inst_dup")).json;
    const other = threeServiceRequest("inst_dup");
    other.tenantId = "ten_other";
    const err = await grpcCode(provider().client.provision(other, call));
    expect(err.code).toBe(GrpcStatus.ALREADY_EXISTS);
    const after = (await api(agent(), "GET", "/v1/job/cp-inst_dup")).json;
    expect(after.JobModifyIndex).toBe(before.JobModifyIndex);
    expect(after.Meta["ctrlplane.tenant"]).toBe("ten_test");
    await provider().client.deprovision({ instanceId: "inst_dup" }, call);
  });

  it("rejects a malformed request with the field path before creating anything", async () => {
    const req = threeServiceRequest("inst_bad");
    req.services![1]!.ports![0]!.container = 70000;
    const err = await grpcCode(provider().client.provision(req, call));
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^services\[1\]\.ports\[0\]\.container: /);
    expect((await api(agent(), "GET", "/v1/job/cp-inst_bad")).status).toBe(404);
  });

  it("refuses secrets it cannot store safely, without writing their values anywhere", async () => {
    const req = threeServiceRequest("inst_secret");
    // A carriage return cannot travel through the env file the secrets template renders.
    req.services![1]!.secrets = [{ key: "db-password", value: "hunter2\r" }];
    const err = await grpcCode(provider().client.provision(req, call));
    expect(err.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(err.details).toMatch(/^services\[1\]\.secrets\[0\]\.value: /);
    expect(err.details).not.toContain("hunter2");
    expect((await api(agent(), "GET", "/v1/job/cp-inst_secret")).status).toBe(404);
    expect((await api(agent(), "GET", "/v1/vars?prefix=nomad/jobs/cp-inst_secret/")).json).toEqual([]);
  });

  it("answers PERMISSION_DENIED when Nomad refuses the token (403)", async () => {
    const bad = await startInProcessProvider({ nomadAddress: agent().address, token: "00000000-0000-0000-0000-000000000000", families: [lifecycleFamily] });
    try {
      expect((await grpcCode(bad.client.provision(threeServiceRequest("inst_acl"), call))).code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect((await grpcCode(bad.client.status({ instanceId: "inst_acl" }, call))).code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect((await grpcCode(bad.client.stop({ instanceId: "inst_acl" }, call))).code).toBe(GrpcStatus.PERMISSION_DENIED);
    } finally {
      await bad.close();
    }
  });

  it("answers NOT_FOUND for a missing instance (and FAILED_PRECONDITION-free Deprovision)", async () => {
    for (const rpc of ["status", "stop", "start", "restart"] as const) {
      expect((await grpcCode(provider().client[rpc]({ instanceId: "inst_nothing" }, call))).code).toBe(GrpcStatus.NOT_FOUND);
    }
    expect((await grpcCode(provider().client.scale({ instanceId: "inst_nothing", resources: { replicas: 2 } }, call))).code).toBe(GrpcStatus.NOT_FOUND);
    expect((await provider().client.deprovision({ instanceId: "inst_nothing" }, call)).message).toMatch(/already/);
  });

  it("answers UNAVAILABLE within the deadline when the agent is gone", async () => {
    const gone: DevAgent = await startDevAgent({ port: 0 });
    await gone.close();
    const orphan = await startInProcessProvider({ nomadAddress: gone.address, families: [lifecycleFamily] });
    try {
      const started = Date.now();
      const err = await grpcCode(orphan.client.provision(threeServiceRequest("inst_gone"), { deadlineMs: 5_000 }));
      expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect((await grpcCode(orphan.client.status({ instanceId: "inst_gone" }, { deadlineMs: 5_000 }))).code).toBe(GrpcStatus.UNAVAILABLE);
    } finally {
      await orphan.close();
    }
  });

  it("rejects a Scale that names an unknown service or changes nothing", async () => {
    await provider().client.provision({ instanceId: "inst_sc", services: [{ name: "m", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "exec sleep 600"] }] }, call);
    const unknown = await grpcCode(provider().client.scale({ instanceId: "inst_sc", serviceName: "nope", resources: { memoryMb: 64 } }, call));
    expect(unknown.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(unknown.details).toMatch(/^service_name: /);
    const nothing = await grpcCode(provider().client.scale({ instanceId: "inst_sc", resources: {} }, call));
    expect(nothing.code).toBe(GrpcStatus.INVALID_ARGUMENT);
    const negative = await grpcCode(provider().client.scale({ instanceId: "inst_sc", resources: { replicas: -1 } }, call));
    expect(negative.details).toMatch(/^resources\.replicas: /);
    await provider().client.deprovision({ instanceId: "inst_sc" }, call);
  });
});
