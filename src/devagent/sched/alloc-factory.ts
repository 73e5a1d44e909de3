// The Allocation object Nomad stores and serves (structs.Allocation), and its list stub (AllocListStub).

import type { AllocatedPort } from "../alloc-runtime.js";
import type { Json } from "../state/state-store.js";
import { newId, nowNs } from "../state/nomad-time.js";
import { metric } from "./feasibility.js";

export interface NodeInfo {
  id: string;
  name: string;
  datacenter: string;
}

export interface NewAlloc {
  job: Json;
  group: Json;
  index: number;
  evalId: string;
  node: NodeInfo;
  ports: AllocatedPort[];
  networks: Json[];
  deploymentId: string;
  canary: boolean;
  previous?: Json;
  rescheduleEvent?: Json;
  createIndex: number;
}

function taskResources(t: Json): Json {
  const r = t.Resources;
  return { CPU: r.CPU, Cores: r.Cores, MemoryMB: r.MemoryMB, MemoryMaxMB: r.MemoryMaxMB, DiskMB: 0, IOPS: 0, Networks: null, Devices: null };
}

export function buildAllocation(n: NewAlloc): Json {
  const now = nowNs();
  const { job, group } = n;
  const tasks: Json = {};
  const lifecycles: Json = {};
  const taskRes: Json = {};
  let cpu = 0;
  let mem = 0;
  for (const t of group.Tasks) {
    tasks[t.Name] = {
      Cpu: { CpuShares: t.Resources.CPU, ReservedCores: null },
      Memory: { MemoryMB: t.Resources.MemoryMB, MemoryMaxMB: t.Resources.MemoryMaxMB },
      Networks: null,
      Devices: null,
    };
    lifecycles[t.Name] = t.Lifecycle ? { Hook: t.Lifecycle.Hook, Sidecar: t.Lifecycle.Sidecar } : null;
    taskRes[t.Name] = taskResources(t);
    cpu += t.Resources.CPU;
    mem += t.Resources.MemoryMB;
  }
  const networks = n.networks.length ? n.networks : null;
  const disk = group.EphemeralDisk?.SizeMB ?? 300;
  const prevEvents: Json[] = n.previous?.RescheduleTracker?.Events ?? [];
  return {
    ID: newId(),
    Namespace: job.Namespace,
    EvalID: n.evalId,
    Name: `${job.ID}.${group.Name}[${n.index}]`,
    NodeID: n.node.id,
    NodeName: n.node.name,
    JobID: job.ID,
    Job: job,
    TaskGroup: group.Name,
    Resources: { CPU: cpu, Cores: 0, MemoryMB: mem, MemoryMaxMB: mem, DiskMB: disk, IOPS: 0, Networks: networks, Devices: null },
    SharedResources: { CPU: 0, Cores: 0, MemoryMB: 0, MemoryMaxMB: 0, DiskMB: disk, IOPS: 0, Networks: networks, Devices: null },
    TaskResources: taskRes,
    AllocatedResources: {
      Tasks: tasks,
      TaskLifecycles: lifecycles,
      Shared: { Networks: networks, DiskMB: disk, Ports: n.ports.length ? n.ports : null },
    },
    Metrics: metric(n.node, {
      ScoreMetaData: [{ NodeID: n.node.id, Scores: { binpack: 0, "job-anti-affinity": 0 }, NormScore: 0 }],
    }),
    DesiredStatus: "run",
    DesiredDescription: "",
    DesiredTransition: { Migrate: null, Reschedule: null, ForceReschedule: null, NoShutdownDelay: null },
    ClientStatus: "pending",
    ClientDescription: "",
    TaskStates: null,
    AllocStates: null,
    PreviousAllocation: n.previous?.ID ?? "",
    NextAllocation: "",
    DeploymentID: n.deploymentId,
    DeploymentStatus: n.canary ? { Healthy: null, Timestamp: "0001-01-01T00:00:00Z", Canary: true, ModifyIndex: 0 } : null,
    RescheduleTracker: n.rescheduleEvent ? { Events: [...prevEvents, n.rescheduleEvent] } : null,
    NetworkStatus: null,
    FollowupEvalID: "",
    PreemptedAllocations: null,
    PreemptedByAllocation: "",
    SigningKeyID: "",
    CreateIndex: n.createIndex,
    ModifyIndex: n.createIndex,
    AllocModifyIndex: n.createIndex,
    CreateTime: now,
    ModifyTime: now,
  };
}

const stubKeys = [
  "ID", "EvalID", "Name", "Namespace", "NodeID", "NodeName", "JobID", "JobType", "JobVersion", "TaskGroup",
  "AllocatedResources", "DesiredStatus", "DesiredDescription", "ClientStatus", "ClientDescription", "DesiredTransition",
  "TaskStates", "DeploymentStatus", "FollowupEvalID", "NextAllocation", "RescheduleTracker", "PreemptedAllocations",
  "PreemptedByAllocation", "PreviousAllocation", "CreateIndex", "ModifyIndex", "CreateTime", "ModifyTime",
] as const;

export function allocStub(a: Json, withResources = false): Json {
  const out: Json = {};
  for (const k of stubKeys) {
    if (k === "JobType") out[k] = a.Job?.Type ?? "";
    else if (k === "JobVersion") out[k] = a.Job?.Version ?? 0;
    else if (k === "AllocatedResources") {
      if (withResources) out[k] = a.AllocatedResources;
    } else out[k] = a[k];
  }
  return out;
}

/** Terminal per Nomad: the server wants it stopped, or the client finished with it. */
export function allocTerminal(a: Json): boolean {
  return a.DesiredStatus !== "run" || clientTerminal(a);
}

export function clientTerminal(a: Json): boolean {
  return a.ClientStatus === "complete" || a.ClientStatus === "failed" || a.ClientStatus === "lost";
}
