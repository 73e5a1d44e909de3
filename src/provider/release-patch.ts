// A release applied to the job Nomad holds: only the named services change (image, env merged, health check
// replaced), the job's Meta records the release, and the group's update stanza carries the strategy. Everything
// else of the job — including fields this plugin never wrote — is kept exactly as read. Pure: no Nomad calls.

import type { DeployRequest, DeployService, Port as PortSpec } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { Job, Service, ServiceCheck, Task, TaskGroup } from "../nomad/types.js";
import { invalidArgument } from "../errors.js";
import { healthService, metaKeys } from "./job-builder.js";
import { instanceGroup } from "./status.js";
import { updateStanza } from "./update-strategy.js";

const envName = /^[A-Za-z_][A-Za-z0-9_]*$/;
const maxReleaseIdLength = 256;

export interface PatchedJob {
  job: Job;
  /** False when the release changes nothing Nomad would run (same images, env, checks and release id). */
  changed: boolean;
}

/** Validates a DeployRequest against the job and returns the job to register. */
export function patchJobForRelease(current: Job, req: DeployRequest): PatchedJob {
  if (!req.releaseId) throw invalidArgument("release_id", "required");
  if (req.releaseId.length > maxReleaseIdLength) throw invalidArgument("release_id", `at most ${maxReleaseIdLength} characters`);
  if (req.services.length === 0) throw invalidArgument("services", "at least one service must change");
  const job: Job = structuredClone(current);
  const group = instanceGroup(job);
  if (!group) throw invalidArgument("instance_id", `job ${job.ID} has no task group`);

  const seen = new Set<string>();
  req.services.forEach((svc, i) => {
    const at = `services[${i}]`;
    if (seen.has(svc.name)) throw invalidArgument(`${at}.name`, `service "${svc.name}" is named twice`);
    seen.add(svc.name);
    const task = group.Tasks.find((t) => t.Name === svc.name);
    if (!task) {
      const known = group.Tasks.map((t) => t.Name).join(", ");
      throw invalidArgument(`${at}.name`, `no service "${svc.name}" in instance (services: ${known || "none"})`);
    }
    patchTask(group, task, svc, at);
  });

  job.Meta = { ...job.Meta, [metaKeys.release]: req.releaseId };
  const changed = workloadOf(job) !== workloadOf(current);
  group.Update = updateStanza({
    strategy: req.strategy,
    options: req.options,
    count: group.Count,
    hasChecks: groupHasChecks(group),
  });
  return { job, changed };
}

function patchTask(group: TaskGroup, task: Task, svc: DeployService, at: string): void {
  if (!svc.image.trim()) throw invalidArgument(`${at}.image`, "required");
  for (const key of Object.keys(svc.env)) {
    if (!envName.test(key)) throw invalidArgument(`${at}.env[${key}]`, "not a valid environment variable name");
  }
  task.Config = { ...task.Config, image: svc.image };
  if (Object.keys(svc.env).length > 0) task.Env = { ...task.Env, ...svc.env };
  if (svc.healthCheck) replaceHealthCheck(group, task, svc, at);
}

/** The service's declared ports, recovered from the job: Config.ports labels -> group network ports (+ protocol). */
export function taskPorts(group: TaskGroup, task: Task): PortSpec[] {
  const labels = Array.isArray(task.Config.ports) ? task.Config.ports.map(String) : [];
  const declared = (group.Networks ?? []).flatMap((n) => [
    ...(n.ReservedPorts ?? []).map((p) => ({ ...p, reserved: true })),
    ...(n.DynamicPorts ?? []).map((p) => ({ ...p, reserved: false })),
  ]);
  return labels.flatMap((label) => {
    const p = declared.find((d) => d.Label === label);
    if (!p || !p.To) return [];
    const protocol = task.Meta?.[`${metaKeys.portPrefix}${label}`] ?? "tcp";
    return [{ $typeName: "ctrlplane.provider.v1.Port", container: p.To, host: p.reserved ? (p.Value ?? 0) : 0, protocol, name: label } as PortSpec];
  });
}

function replaceHealthCheck(group: TaskGroup, task: Task, svc: DeployService, at: string): void {
  const hc = svc.healthCheck!;
  const field = `${at}.health_check`;
  const ports = taskPorts(group, task);
  if (ports.length === 0) throw invalidArgument(field, `service "${task.Name}" declares no port to check`);
  if (hc.port !== 0 && !ports.some((p) => p.container === hc.port)) {
    throw invalidArgument(`${field}.port`, `${hc.port} is not one of the service's container ports (${ports.map((p) => p.container).join(", ")})`);
  }
  if (hc.path && !hc.path.startsWith("/")) throw invalidArgument(`${field}.path`, 'must start with "/"');
  if (hc.retries < 0) throw invalidArgument(`${field}.retries`, "must not be negative");
  const wanted = healthService(task.Name, ports, hc);
  const services = group.Services ?? [];
  const existing = services.find((s) => ownHealthService(s, task.Name));
  if (existing && sameCheck(existing, wanted)) return;
  group.Services = [...services.filter((s) => !ownHealthService(s, task.Name)), wanted];
}

/** The group service job-builder writes for a task's health check. */
function ownHealthService(s: Service, taskName: string): boolean {
  return s.Name === taskName && (s.TaskName === taskName || s.TaskName === undefined);
}

/** Nomad fills many defaults into a stored service; compare only what a HealthCheckSpec decides. */
function sameCheck(a: Service, b: Service): boolean {
  const key = (s: Service) => {
    const c: ServiceCheck | undefined = s.Checks?.[0];
    return JSON.stringify([
      s.PortLabel ?? "",
      s.Checks?.length ?? 0,
      c?.Type,
      c?.Path || "",
      c?.PortLabel || "",
      c?.Interval,
      c?.Timeout,
      c?.CheckRestart?.Limit ?? 0,
    ]);
  };
  return key(a) === key(b);
}

function groupHasChecks(group: TaskGroup): boolean {
  const services = [...(group.Services ?? []), ...group.Tasks.flatMap((t) => t.Services ?? [])];
  return services.some((s) => (s.Checks ?? []).length > 0);
}

/** What a release can change, for the "unchanged" decision (the update stanza alone is not a release). */
function workloadOf(job: Job): string {
  return JSON.stringify({ meta: job.Meta ?? null, groups: job.TaskGroups.map((g) => ({ ...g, Update: null })) });
}
