// Nomad's structural validation of a canonicalized job (structs.Job.Validate and the group/task/resource checks the
// dev agent can act on), producing the same nested multierror text Nomad's validate endpoint and register return.

import type { Json } from "../state/state-store.js";

/**
 * hashicorp/go-multierror 1.1's ListFormatFunc (what every Nomad since 0.12 links): "1 error occurred:\n\t* a\n\n",
 * "2 errors occurred:\n\t* a\n\t* b\n\n". A nested multierror keeps its own trailing "\n\n", as Go's %v does.
 */
export function formatErrors(errors: string[]): string {
  if (errors.length === 1) return `1 error occurred:\n\t* ${errors[0]}\n\n`;
  return `${errors.length} errors occurred:\n\t${errors.map((e) => `* ${e}`).join("\n\t")}\n\n`;
}

const drivers = new Set(["raw_exec", "exec", "docker", "java", "qemu", "podman", "mock_driver"]);
const jobTypes = new Set(["service", "batch", "system", "sysbatch"]);
const restartModes = new Set(["delay", "fail"]);
const healthChecks = new Set(["checks", "task_states", "manual"]);

/** structs.Resources.Validate: MeetsMinResources' own multierror is one entry of it, as in Nomad. */
function validateResources(r: Json): string[] {
  const errs: string[] = [];
  const min: string[] = [];
  if (r.CPU < 1 && r.Cores === 0) min.push(`minimum CPU value is 1; got ${r.CPU}`);
  if (r.MemoryMB < 10) min.push(`minimum MemoryMB value is 10; got ${r.MemoryMB}`);
  if (min.length) errs.push(formatErrors(min));
  if (r.MemoryMaxMB !== 0 && r.MemoryMaxMB !== -1 && r.MemoryMaxMB < r.MemoryMB) {
    errs.push(`MemoryMaxMB value (${r.MemoryMaxMB}) should be larger than MemoryMB value (${r.MemoryMB})`);
  }
  return errs;
}

function validateTask(t: Json, g: Json, jobType: string): string[] {
  const errs: string[] = [];
  if (!t.Name) errs.push("Missing task name");
  if (/[/\\]/.test(t.Name)) errs.push("Task name cannot include slashes");
  if (!t.Driver) errs.push("Missing task driver");
  else if (!drivers.has(t.Driver)) errs.push(`Driver "${t.Driver}" is not available on this dev agent`);
  if (t.KillTimeout < 0) errs.push("KillTimeout must be a positive value");
  else if (jobType === "service" && g.Update && g.Update.ProgressDeadline > 0 && t.KillTimeout > g.Update.ProgressDeadline) {
    errs.push(`KillTimout (${goDuration(t.KillTimeout)}) longer than the group's ProgressDeadline (${goDuration(g.Update.ProgressDeadline)})`);
  }
  if (t.ShutdownDelay < 0) errs.push("ShutdownDelay must be a positive value");
  const res = validateResources(t.Resources);
  if (res.length) errs.push(formatErrors(res));
  if (t.Lifecycle && !["prestart", "poststart", "poststop"].includes(t.Lifecycle.Hook)) {
    errs.push(`invalid hook: ${t.Lifecycle.Hook}`);
  }
  if ((t.Driver === "raw_exec" || t.Driver === "exec") && !t.Config?.command) {
    errs.push(formatErrors(['Missing required field "command"']));
  }
  if (t.Driver === "docker" && !t.Config?.image) errs.push(formatErrors(['Missing required field "image"']));
  return errs;
}

function validateUpdate(u: Json, count: number): string[] {
  const errs: string[] = [];
  if (!healthChecks.has(u.HealthCheck)) errs.push(`Invalid health check given: "${u.HealthCheck}"`);
  if (u.MaxParallel < 0) errs.push(`Max parallel can not be less than zero: ${u.MaxParallel} < 0`);
  if (u.Canary < 0) errs.push(`Canary count can not be less than zero: ${u.Canary} < 0`);
  if (u.Canary === 0 && u.AutoPromote) errs.push("Auto Promote requires a Canary count greater than zero");
  if (u.MinHealthyTime < 0) errs.push(`Minimum healthy time may not be less than zero: ${u.MinHealthyTime}`);
  if (u.HealthyDeadline <= 0) errs.push(`Healthy deadline must be greater than zero: ${u.HealthyDeadline}`);
  if (u.ProgressDeadline < 0) errs.push(`Progress deadline must be zero or greater: ${u.ProgressDeadline}`);
  if (u.MinHealthyTime >= u.HealthyDeadline) {
    errs.push(`Minimum healthy time must be less than healthy deadline: ${u.MinHealthyTime} > ${u.HealthyDeadline}`);
  }
  if (u.ProgressDeadline !== 0 && u.HealthyDeadline >= u.ProgressDeadline) {
    errs.push(`Healthy deadline must be less than progress deadline: ${u.HealthyDeadline} > ${u.ProgressDeadline}`);
  }
  void count;
  return errs;
}

function validatePorts(g: Json): string[] {
  const errs: string[] = [];
  const labels = new Map<string, string>();
  for (const n of g.Networks ?? []) {
    for (const [kind, ports] of [["reserved", n.ReservedPorts], ["dynamic", n.DynamicPorts]] as const) {
      for (const p of ports ?? []) {
        if (!p.Label) errs.push("Port label must be set");
        else if (labels.has(p.Label)) errs.push(`Port label ${p.Label} already in use`);
        else labels.set(p.Label, kind);
        if (kind === "reserved" && (p.Value < 0 || p.Value > 65535)) errs.push(`Port ${p.Label} (${p.Value}) cannot be greater than 65535`);
        if (p.To < -1 || p.To > 65535) errs.push(`Port "${p.Label}" cannot be mapped to a port (${p.To}) greater than 65535`);
      }
    }
  }
  return errs;
}

function validateGroup(g: Json, jobType: string): string[] {
  const errs: string[] = [];
  if (!g.Name) errs.push("Missing task group name");
  if (g.Count < 0) errs.push("Task group count can't be negative");
  if (!g.Tasks.length) errs.push("Missing tasks for task group");
  if (!restartModes.has(g.RestartPolicy.Mode)) errs.push(`Unsupported restart mode: "${g.RestartPolicy.Mode}"`);
  if (g.Update) {
    if (jobType !== "service" && jobType !== "system") errs.push(`Job type "${jobType}" does not allow update block`);
    errs.push(...validateUpdate(g.Update, g.Count));
  }
  const names = new Map<string, number>();
  g.Tasks.forEach((t: Json, i: number) => {
    if (!t.Name) errs.push(`Task ${i + 1} missing name`);
    else if (names.has(t.Name)) errs.push(`Task ${i + 1} redefines '${t.Name}' from task ${names.get(t.Name)! + 1}`);
    else names.set(t.Name, i);
  });
  if (g.Tasks.filter((t: Json) => t.Leader).length > 1) errs.push("Only one task may be marked as leader");
  const ports = validatePorts(g);
  if (ports.length) errs.push(`Task group network validation failed: ${formatErrors(ports)}`);
  for (const t of g.Tasks) {
    const te = validateTask(t, g, jobType);
    if (te.length) errs.push(`Task ${t.Name} validation failed: ${formatErrors(te)}`);
  }
  return errs;
}

/** The errors of structs.Job.Validate, top level first, in Nomad's order and wording. */
export function validateJob(job: Json): string[] {
  const errs: string[] = [];
  if (!job.Region) errs.push("Missing job region");
  if (!job.ID) errs.push("Missing job ID");
  else if (job.ID.includes(" ")) errs.push("Job ID contains a space");
  else if (job.ID.includes("\u0000")) errs.push("Job ID contains a null character");
  if (!job.Name) errs.push("Missing job name");
  if (!job.Namespace) errs.push("Job must be in a namespace");
  if (!job.Type) errs.push("Missing job type");
  else if (!jobTypes.has(job.Type)) errs.push(`Invalid job type: "${job.Type}"`);
  if (!job.Datacenters?.length) errs.push("Missing job datacenters");
  else if (job.Datacenters.some((d: string) => d === "")) errs.push("Job datacenter must be non-empty string");
  if (!job.TaskGroups.length) errs.push("Missing job task groups");
  if (job.Priority < 1 || job.Priority > 100) errs.push("Job priority must be between [1, 100]");
  const seen = new Map<string, number>();
  job.TaskGroups.forEach((g: Json, i: number) => {
    if (!g.Name) errs.push(`Job task group ${i + 1} missing name`);
    else if (seen.has(g.Name)) errs.push(`Job task group ${i + 1} redefines '${g.Name}' from group ${seen.get(g.Name)! + 1}`);
    else seen.set(g.Name, i);
    if (job.Type === "system" && g.Count > 1) {
      errs.push(`Job task group ${g.Name} has count ${g.Count}. Count cannot exceed 1 with system scheduler`);
    }
  });
  for (const g of job.TaskGroups) {
    const ge = validateGroup(g, job.Type);
    if (ge.length) errs.push(`Task group ${g.Name} validation failed: ${formatErrors(ge)}`);
  }
  if (job.Periodic && job.Periodic.Enabled !== false && job.Type !== "batch" && job.Type !== "sysbatch") {
    errs.push(`Periodic can only be used with "batch" or "sysbatch" scheduler`);
  }
  if (job.ParameterizedJob && job.Type !== "batch" && job.Type !== "sysbatch") {
    errs.push(`Parameterized job can only be used with "batch" or "sysbatch" scheduler`);
  }
  return errs;
}

/** Nomad's job warnings (structs.Job.Warnings, the ones the dev agent can detect). */
export function jobWarnings(job: Json): string[] {
  const warns: string[] = [];
  for (const g of job.TaskGroups) {
    if (g.Update && g.Count > 1 && g.Update.MaxParallel > g.Count) {
      const group = [
        `Update max parallel count is greater than task group count (${g.Update.MaxParallel} > ${g.Count}). A destructive change would result in the simultaneous replacement of all allocations.`,
      ];
      warns.push(`Group "${g.Name}" has warnings: ${formatErrors(group)}`);
    }
  }
  return warns;
}

/** helper.MergeMultierrorWarnings: "1 warning:\n\n* a", "2 warnings:\n\n* a\n* b", each warning trimmed. */
export function formatWarnings(warns: string[]): string {
  if (!warns.length) return "";
  const head = warns.length === 1 ? "1 warning:\n" : `${warns.length} warnings:\n`;
  return head + warns.map((w) => `\n* ${w.trim()}`).join("");
}

/** Go's time.Duration String for whole values the checks print (e.g. 5s, 10m0s). */
function goDuration(ns: number): string {
  const s = ns / 1e9;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s - m * 60}s`;
  const h = Math.floor(m / 60);
  return `${h}h${m - h * 60}m${s - m * 60}s`;
}
