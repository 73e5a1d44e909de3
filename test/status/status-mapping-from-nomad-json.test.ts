import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { instanceStatusFrom } from "../../src/provider/status.js";
import type { AllocListStub, Allocation, Job, TaskState } from "../../src/nomad/types.js";

const fixture = <T>(name: string): T =>
  JSON.parse(readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8")) as T;

const nodeAllocs = fixture<Allocation[]>("GET_v1_node_ID_allocations.capture.json");

/** A minimal instance job: init + main + sidecar, main listening on p8080. */
function instanceJob(over: Partial<Job> = {}, count = 1): Job {
  return {
    ID: "cp-i1",
    Name: "cp-i1",
    Type: "service",
    Version: 2,
    Status: "running",
    TaskGroups: [
      {
        Name: "workload",
        Count: count,
        Networks: [{ Mode: "bridge", DynamicPorts: [{ Label: "p8080", To: 8080 }] }],
        Tasks: [
          { Name: "init", Driver: "docker", Config: {}, Lifecycle: { Hook: "prestart", Sidecar: false } },
          { Name: "web", Driver: "docker", Config: {}, Meta: { "ctrlplane.port.p8080": "http" } },
          { Name: "side", Driver: "docker", Config: {}, Lifecycle: { Hook: "poststart", Sidecar: true } },
        ],
      },
    ],
    ...over,
  };
}

const ts = (State: string, extra: Partial<TaskState> = {}): TaskState => ({ State, Failed: false, Restarts: 0, ...extra });

function alloc(id: string, over: Partial<AllocListStub> = {}): AllocListStub {
  return {
    ID: id,
    Name: `cp-i1.workload[0]`,
    NodeID: "n1",
    JobID: "cp-i1",
    JobVersion: 2,
    TaskGroup: "workload",
    DesiredStatus: "run",
    ClientStatus: "running",
    TaskStates: {
      init: ts("dead", { FinishedAt: "2024-01-01T00:00:01Z" }),
      web: ts("running", { StartedAt: "2024-01-01T00:00:02Z", Restarts: 2 }),
      side: ts("running", { StartedAt: "2024-01-01T00:00:03Z", Restarts: 1 }),
    },
    AllocatedResources: { Shared: { Ports: [{ Label: "p8080", Value: 23456, To: 8080, HostIP: "10.0.0.5" }] } },
    CreateIndex: 10,
    ModifyIndex: 12,
    ...over,
  };
}

describe("status mapping", () => {
  it("reads a real running allocation (captured from a cluster) as RUNNING with its task's start time", () => {
    const a = nodeAllocs[0]!;
    const status = instanceStatusFrom({ job: a.Job!, allocations: [a] });
    expect(status.state).toBe(InstanceState.RUNNING);
    expect(status.ready).toBe(true);
    expect(status.services.batch_pause).toMatchObject({ state: InstanceState.RUNNING, ready: true, restarts: 0, providerRef: "batch_pause" });
    expect(timestampDate(status.startedAt!).toISOString()).toBe("2021-04-05T19:48:43.513Z");
  });

  it("ignores allocations of other job versions (a completed alloc of version 1 does not stop version 0)", () => {
    const running = nodeAllocs[0]!;
    const otherVersion = { ...nodeAllocs[2]!, Job: { ...nodeAllocs[2]!.Job!, Version: 1 } };
    const status = instanceStatusFrom({ job: running.Job!, allocations: [running, otherVersion] });
    expect(status.state).toBe(InstanceState.RUNNING);
    expect(status.metadata["nomad.allocations"]).toBe("1/1");
  });

  it("takes endpoints from the real allocated ports of the captured allocation (static port = public)", () => {
    const a = fixture<Allocation>("GET_v1_allocation_ID.from-client-state.capture.json");
    const job = a.Job!;
    job.TaskGroups[0]!.Tasks[0]!.Meta = { "ctrlplane.port.http": "http" };
    const running: Allocation = { ...a, ClientStatus: "running", TaskStates: { server: ts("running", { StartedAt: "2023-01-01T00:00:00Z" }) } };
    const status = instanceStatusFrom({ job, allocations: [running] });
    expect(status.endpoints).toEqual([
      expect.objectContaining({ serviceName: "server", url: "http://192.168.1.9:5678", port: 5678, host: "192.168.1.9", public: true, allocId: a.ID }),
    ]);
  });

  it("reads a pending captured allocation as not ready and without endpoints", () => {
    const a = fixture<Allocation>("GET_v1_allocation_ID.from-client-state.capture.json");
    const status = instanceStatusFrom({ job: a.Job!, allocations: [a] });
    expect(status.state).toBe(InstanceState.PROVISIONING);
    expect(status.ready).toBe(false);
    expect(status.endpoints).toEqual([]);
  });

  it("aggregates init + main + sidecar: a finished init does not hold the instance back", () => {
    const status = instanceStatusFrom({ job: instanceJob(), allocations: [alloc("a1")] });
    expect(status.state).toBe(InstanceState.RUNNING);
    expect(status.ready).toBe(true);
    expect(status.restarts).toBe(3);
    expect(status.services.init).toMatchObject({ state: InstanceState.STOPPED, ready: true, message: "completed" });
    expect(status.services.web).toMatchObject({ state: InstanceState.RUNNING, restarts: 2 });
    expect(status.endpoints).toEqual([
      expect.objectContaining({ serviceName: "web", url: "http://10.0.0.5:23456", port: 23456, protocol: "http", public: false }),
    ]);
    expect(timestampDate(status.startedAt!).toISOString()).toBe("2024-01-01T00:00:02.000Z");
  });

  it("is FAILED when an init task failed", () => {
    const a = alloc("a1", { ClientStatus: "failed" });
    a.TaskStates!.init = ts("dead", { Failed: true, Events: [{ Type: "Terminated", Time: 1, DisplayMessage: "Exit Code: 3" }] });
    const status = instanceStatusFrom({ job: instanceJob(), allocations: [a] });
    expect(status.state).toBe(InstanceState.FAILED);
    expect(status.message).toContain("Exit Code: 3");
  });

  it("is STARTING while fewer allocations run than the count, and not ready", () => {
    const status = instanceStatusFrom({ job: instanceJob({}, 2), allocations: [alloc("a1")] });
    expect(status.state).toBe(InstanceState.STARTING);
    expect(status.ready).toBe(false);
  });

  it("is PROVISIONING while only init tasks have run in the allocation", () => {
    const a = alloc("a1");
    a.TaskStates = { init: ts("running", { StartedAt: "2024-01-01T00:00:01Z" }), web: ts("pending"), side: ts("pending") };
    expect(instanceStatusFrom({ job: instanceJob(), allocations: [a] }).state).toBe(InstanceState.PROVISIONING);
  });

  it("is PROVISIONING with nothing placed yet", () => {
    expect(instanceStatusFrom({ job: instanceJob(), allocations: [] }).state).toBe(InstanceState.PROVISIONING);
  });

  it("does not count allocations Nomad wants stopped", () => {
    const status = instanceStatusFrom({ job: instanceJob(), allocations: [alloc("a1", { DesiredStatus: "stop" })] });
    expect(status.state).toBe(InstanceState.PROVISIONING);
  });

  it("is STOPPING then STOPPED for a stopped job", () => {
    const job = instanceJob({ Stop: true, Status: "dead" });
    expect(instanceStatusFrom({ job, allocations: [alloc("a1", { DesiredStatus: "stop" })] }).state).toBe(InstanceState.STOPPING);
    const done = alloc("a1", { DesiredStatus: "stop", ClientStatus: "complete" });
    const status = instanceStatusFrom({ job, allocations: [done] });
    expect(status.state).toBe(InstanceState.STOPPED);
    expect(status.endpoints).toEqual([]);
    expect(status.startedAt).toBeUndefined();
  });

  it("is STARTING while a main task restarts inside a running allocation", () => {
    const a = alloc("a1");
    a.TaskStates!.web = ts("pending", { Restarts: 3 });
    expect(instanceStatusFrom({ job: instanceJob(), allocations: [a] }).state).toBe(InstanceState.STARTING);
  });

  it("reports the deployment in metadata and is not ready while the deployment has not marked it healthy", () => {
    const deployment = { ID: "d1", JobID: "cp-i1", JobVersion: 2, Status: "running", StatusDescription: "Deployment is running", CreateIndex: 1, ModifyIndex: 1 };
    const status = instanceStatusFrom({ job: instanceJob({ Meta: { "ctrlplane.release": "rel_1" } }), allocations: [alloc("a1")], deployment });
    expect(status.metadata).toMatchObject({ "nomad.deployment_id": "d1", "nomad.deployment_status": "running", "nomad.job_version": "2", "ctrlplane.release": "rel_1" });
    expect(status.ready).toBe(false);
    const healthy = alloc("a1", { DeploymentStatus: { Healthy: true } });
    expect(instanceStatusFrom({ job: instanceJob(), allocations: [healthy], deployment }).ready).toBe(true);
  });

  it("is FAILED when the current version's deployment failed", () => {
    const deployment = { ID: "d1", JobID: "cp-i1", JobVersion: 2, Status: "failed", StatusDescription: "Failed due to unhealthy allocations", CreateIndex: 1, ModifyIndex: 1 };
    const status = instanceStatusFrom({ job: instanceJob(), allocations: [alloc("a1", { DeploymentStatus: { Healthy: false } })], deployment });
    expect(status.state).toBe(InstanceState.FAILED);
    expect(status.message).toBe("Failed due to unhealthy allocations");
  });

  it("uses ports resolved from the full allocation when the list entry has none", () => {
    const a = alloc("a1", { AllocatedResources: undefined });
    const ports = new Map([["a1", [{ Label: "p8080", Value: 30001, To: 8080, HostIP: "127.0.0.1" }]]]);
    const status = instanceStatusFrom({ job: instanceJob(), allocations: [a], ports });
    expect(status.endpoints.map((e) => e.url)).toEqual(["http://127.0.0.1:30001"]);
  });
});
