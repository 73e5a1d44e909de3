// Turns a job as a client sends it (api.Job: PascalCase keys, unset fields missing or null, durations in ns) into the
// job Nomad stores and serves (structs.Job): every key present, defaults filled the way the api package's Canonicalize
// and the agent's api->structs conversion fill them. Field order follows the Go structs so answers read the same.

import { expectArray, expectObject, expectType } from "./json-decode-error.js";
import type { Json } from "../state/state-store.js";

const S = 1_000_000_000;
const MIN = 60 * S;

const given = (v: unknown) => v !== undefined && v !== null;
const or = <T>(v: unknown, d: T): T => (given(v) ? (v as T) : d);
const list = (v: unknown): any[] | null => (Array.isArray(v) ? v : null);

const defaultUpdate = () => ({
  Stagger: 30 * S,
  MaxParallel: 1,
  HealthCheck: "checks",
  MinHealthyTime: 10 * S,
  HealthyDeadline: 5 * MIN,
  ProgressDeadline: 10 * MIN,
  AutoRevert: false,
  AutoPromote: false,
  Canary: 0,
});

function reschedule(type: string): Json {
  if (type === "batch") {
    return { Attempts: 1, Interval: 24 * 60 * MIN, Delay: 5 * S, DelayFunction: "constant", MaxDelay: 0, Unlimited: false };
  }
  if (type === "service") {
    return { Attempts: 0, Interval: 0, Delay: 30 * S, DelayFunction: "exponential", MaxDelay: 60 * MIN, Unlimited: true };
  }
  return { Attempts: 0, Interval: 0, Delay: 0, DelayFunction: "", MaxDelay: 0, Unlimited: false };
}

function restart(type: string): Json {
  const batch = type === "batch" || type === "sysbatch";
  return { Attempts: batch ? 3 : 2, Interval: batch ? 24 * 60 * MIN : 30 * MIN, Delay: 15 * S, Mode: "fail", RenderTemplates: false };
}

/** Later non-null fields win: the api package's Merge for update/restart/reschedule/migrate blocks. */
function merge(base: Json | null, over: Json | null | undefined): Json | null {
  if (!over) return base;
  const out: Json = { ...(base ?? {}) };
  for (const [k, v] of Object.entries(over)) if (given(v)) out[k] = v;
  return out;
}

function withDefaults(src: Json | null | undefined, defaults: Json): Json {
  const out: Json = {};
  for (const [k, d] of Object.entries(defaults)) out[k] = or(src?.[k], d);
  return out;
}

function port(p: Json, where: string): Json {
  expectType(p.Value, "int", `${where}.Value`);
  expectType(p.To, "int", `${where}.To`);
  return { Label: or(p.Label, ""), Value: or(p.Value, 0), To: or(p.To, 0), HostNetwork: p.HostNetwork || "default" };
}

function network(n: Json, where: string): Json {
  expectArray(n.DynamicPorts, "[]api.Port", `${where}.DynamicPorts`);
  expectArray(n.ReservedPorts, "[]api.Port", `${where}.ReservedPorts`);
  return {
    Mode: or(n.Mode, ""),
    Device: or(n.Device, ""),
    CIDR: or(n.CIDR, ""),
    IP: or(n.IP, ""),
    Hostname: or(n.Hostname, ""),
    MBits: or(n.MBits, 0),
    DNS: or(n.DNS, null),
    ReservedPorts: list(n.ReservedPorts)?.map((p) => port(p, `${where}.ReservedPorts`)) ?? null,
    DynamicPorts: list(n.DynamicPorts)?.map((p) => port(p, `${where}.DynamicPorts`)) ?? null,
  };
}

function resources(r: Json | null | undefined, where: string): Json {
  expectObject(r, "api.Resources", where);
  expectType(r?.CPU, "int", `${where}.CPU`);
  expectType(r?.MemoryMB, "int", `${where}.MemoryMB`);
  const coresGiven = given(r?.Cores);
  return {
    CPU: or(r?.CPU, coresGiven ? 0 : 100),
    Cores: or(r?.Cores, 0),
    MemoryMB: or(r?.MemoryMB, 300),
    MemoryMaxMB: or(r?.MemoryMaxMB, 0),
    DiskMB: or(r?.DiskMB, 0),
    IOPS: or(r?.IOPS, 0),
    Networks: list(r?.Networks)?.map((n) => network(n, `${where}.Networks`)) ?? null,
    Devices: or(r?.Devices, null),
  };
}

function service(s: Json, taskName: string): Json {
  return {
    ...s,
    Name: or(s.Name, ""),
    TaskName: or(s.TaskName, taskName),
    PortLabel: or(s.PortLabel, ""),
    AddressMode: s.AddressMode || "auto",
    Tags: or(s.Tags, null),
    Checks: or(s.Checks, null),
    Provider: s.Provider || "consul",
    OnUpdate: s.OnUpdate || "require_healthy",
  };
}

function task(t: Json, group: Json, where: string): Json {
  expectType(t.Name, "string", `${where}.Name`);
  expectType(t.Driver, "string", `${where}.Driver`);
  expectType(t.KillTimeout, "int64", `${where}.KillTimeout`);
  expectObject(t.Config, "map[string]interface {}", `${where}.Config`);
  expectObject(t.Env, "map[string]string", `${where}.Env`);
  const lifecycle = t.Lifecycle && t.Lifecycle.Hook ? { Hook: t.Lifecycle.Hook, Sidecar: !!t.Lifecycle.Sidecar } : null;
  return {
    Name: or(t.Name, ""),
    Driver: or(t.Driver, ""),
    User: or(t.User, ""),
    Config: or(t.Config, null),
    Env: or(t.Env, null),
    Services: list(t.Services)?.map((s) => service(s, t.Name ?? "")) ?? null,
    Vault: or(t.Vault, null),
    Templates: or(t.Templates, null),
    Constraints: or(t.Constraints, null),
    Affinities: or(t.Affinities, null),
    Resources: resources(t.Resources, `${where}.Resources`),
    RestartPolicy: merge(group.RestartPolicy, t.RestartPolicy),
    DispatchPayload: or(t.DispatchPayload, null),
    Lifecycle: lifecycle,
    Meta: or(t.Meta, null),
    KillTimeout: or(t.KillTimeout, 5 * S),
    LogConfig: withDefaults(t.LogConfig, { MaxFiles: 10, MaxFileSizeMB: 10, Disabled: false }),
    Artifacts: or(t.Artifacts, null),
    Leader: or(t.Leader, false),
    ShutdownDelay: or(t.ShutdownDelay, 0),
    VolumeMounts: or(t.VolumeMounts, null),
    ScalingPolicies: or(t.ScalingPolicies, null),
    KillSignal: or(t.KillSignal, ""),
    Kind: or(t.Kind, ""),
    CSIPluginConfig: or(t.CSIPluginConfig, null),
    Identity: or(t.Identity, null),
  };
}

function groupUpdate(jobUpdate: Json | null, g: Json): Json | null {
  let u: Json | null = null;
  if (jobUpdate && g.Update) u = merge(jobUpdate, g.Update);
  else if (jobUpdate && Object.values(jobUpdate).some(given)) u = { ...jobUpdate };
  else if (g.Update) u = g.Update;
  return u ? withDefaults(u, defaultUpdate()) : null;
}

function group(g: Json, job: Json, type: string, where: string): Json {
  expectType(g.Name, "string", `${where}.Name`);
  expectType(g.Count, "int", `${where}.Count`);
  expectArray(g.Tasks, "[]*api.Task", `${where}.Tasks`);
  expectArray(g.Networks, "api.Networks", `${where}.Networks`);
  const count = or(g.Count, g.Scaling && given(g.Scaling.Min) ? g.Scaling.Min : 1);
  const rp = merge(restart(type), g.RestartPolicy)!;
  const resched = merge(job.Reschedule ?? null, g.ReschedulePolicy);
  const migrate = merge(job.Migrate ?? null, g.Migrate) ?? (type === "service" ? {} : null);
  const out: Json = {
    Name: or(g.Name, ""),
    Count: count,
    Update: type === "service" || type === "system" ? groupUpdate(job.Update ?? (type === "service" ? defaultUpdate() : null), g) : null,
    Migrate: migrate ? withDefaults(migrate, { MaxParallel: 1, HealthCheck: "checks", MinHealthyTime: 10 * S, HealthyDeadline: 5 * MIN }) : null,
    Constraints: or(g.Constraints, null),
    Scaling: g.Scaling ? scaling(g.Scaling, count) : null,
    RestartPolicy: rp,
    Tasks: [] as Json[],
    EphemeralDisk: withDefaults(g.EphemeralDisk, { Sticky: false, SizeMB: 300, Migrate: false }),
    Meta: or(g.Meta, null),
    ReschedulePolicy: type === "system" ? null : withDefaults(resched, reschedule(type)),
    Affinities: or(g.Affinities, null),
    Spreads: or(g.Spreads, null),
    Networks: list(g.Networks)?.map((n, i) => network(n, `${where}.Networks`)) ?? null,
    Consul: { Namespace: or(g.Consul?.Namespace, job.ConsulNamespace ?? "") },
    Services: list(g.Services)?.map((s) => service(s, "")) ?? null,
    Volumes: or(g.Volumes, null),
    ShutdownDelay: or(g.ShutdownDelay, null),
    StopAfterClientDisconnect: or(g.StopAfterClientDisconnect, null),
    MaxClientDisconnect: or(g.MaxClientDisconnect, null),
  };
  out.Tasks = (list(g.Tasks) ?? []).map((t) => task(t, out, `${where}.Tasks`));
  return out;
}

function scaling(s: Json, count: number): Json {
  return {
    ID: or(s.ID, ""),
    Type: or(s.Type, "horizontal"),
    Target: or(s.Target, null),
    Min: or(s.Min, count),
    Max: or(s.Max, null),
    Policy: or(s.Policy, null),
    Enabled: or(s.Enabled, true),
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** api.Job (as decoded from the request) -> structs.Job (as stored). Throws JsonDecodeError on wrongly typed fields. */
export function canonicalizeJob(api: Json): Json {
  expectType(api.ID, "string", "Job.Job.ID");
  expectType(api.Name, "string", "Job.Job.Name");
  expectType(api.Type, "string", "Job.Job.Type");
  expectType(api.Priority, "int", "Job.Job.Priority");
  expectType(api.Stop, "bool", "Job.Job.Stop");
  expectArray(api.Datacenters, "[]string", "Job.Job.Datacenters");
  expectArray(api.TaskGroups, "[]*api.TaskGroup", "Job.Job.TaskGroups");
  const type: string = or(api.Type, "service");
  const id: string = or(api.ID, "");
  const jobUpdate = api.Update ? withDefaults(api.Update, defaultUpdate()) : null;
  return {
    Stop: or(api.Stop, false),
    Region: or(api.Region, "global"),
    Namespace: or(api.Namespace, "default"),
    ID: id,
    ParentID: or(api.ParentID, ""),
    Name: or(api.Name, id),
    Type: type,
    Priority: or(api.Priority, 50),
    AllAtOnce: or(api.AllAtOnce, false),
    Datacenters: or(api.Datacenters, ["*"]),
    NodePool: api.NodePool || "default",
    Constraints: or(api.Constraints, null),
    Affinities: or(api.Affinities, null),
    Spreads: or(api.Spreads, null),
    TaskGroups: (list(api.TaskGroups) ?? []).map((g) => group(g, { ...api, Update: jobUpdate }, type, "TaskGroup.Job.TaskGroups")),
    // The agent keeps only Stagger and MaxParallel of a job-level update block; the rest lives on the groups.
    Update: {
      Stagger: or(jobUpdate?.Stagger, type === "service" ? 30 * S : 0),
      MaxParallel: or(jobUpdate?.MaxParallel, type === "service" ? 1 : 0),
      HealthCheck: "",
      MinHealthyTime: 0,
      HealthyDeadline: 0,
      ProgressDeadline: 0,
      AutoRevert: false,
      AutoPromote: false,
      Canary: 0,
    },
    Multiregion: or(api.Multiregion, null),
    Periodic: or(api.Periodic, null),
    ParameterizedJob: or(api.ParameterizedJob, null),
    Dispatched: or(api.Dispatched, false),
    DispatchIdempotencyToken: or(api.DispatchIdempotencyToken, ""),
    Payload: or(api.Payload, null),
    Meta: or(api.Meta, null),
    ConsulToken: "",
    ConsulNamespace: or(api.ConsulNamespace, ""),
    VaultToken: "",
    VaultNamespace: or(api.VaultNamespace, ""),
    NomadTokenID: "",
    Status: "",
    StatusDescription: "",
    Stable: false,
    Version: 0,
    SubmitTime: 0,
    CreateIndex: 0,
    ModifyIndex: 0,
    JobModifyIndex: 0,
  };
}
