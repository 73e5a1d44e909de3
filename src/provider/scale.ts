// Scale: replicas go through Nomad's scale endpoint (Job.Scale registers the changed count as a new job version, which
// the answer reports; allowed where Nomad allows it);
// cpu/memory/disk of one service are a new job version registered with PreserveCounts so they never undo a scale.
// Either way the answer waits for the scheduler's evaluation and says when Nomad could not place the change.

import type { ResourceSpec, ScaleRequest } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { waitUntil } from "./call-budget.js";
import { readJob, readLatestDeployment, registerJob, scaleJobGroup } from "../nomad/jobs.js";
import { isActiveDeployment, readDeployment } from "../nomad/deployments.js";
import type { Job, JobEvalResponse, Task } from "../nomad/types.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdFor } from "./instance-id.js";
import { instanceGroup, taskRole } from "./status.js";
import { validateResources } from "./validation.js";
import { cpuMhz } from "./job-builder.js";
import { unplaced } from "./placement-outcome.js";
import { previewJob, previewSummary, type ChangePreview } from "./plan-preview.js";

/** Without a deadline, how long Scale waits for Nomad's scheduler to process the change. */
const placementWaitMs = 10_000;

export interface ScaleAnswer {
  providerRef: string;
  replicas: number;
  jobVersion: bigint;
  message: string;
  preview?: ChangePreview;
}

export async function scale(deps: ProviderDeps, req: ScaleRequest, ctx: CallContext): Promise<ScaleAnswer> {
  const jobId = jobIdFor(req.instanceId);
  const r = req.resources;
  if (!r) throw invalidArgument("resources", "required");
  validateResources(r, "resources", true);
  if (r.gpu) throw invalidArgument("resources.gpu", "GPUs cannot be changed by Scale");
  const changesResources = r.cpuMillis > 0 || r.memoryMb > 0 || r.diskMb > 0;
  if (!changesResources && r.replicas === undefined) throw invalidArgument("resources", "nothing to change");

  const { nomad } = deps;
  const { value: job } = await readJob(nomad, jobId, { signal: ctx.signal });
  const group = instanceGroup(job);
  if (!group) throw invalidArgument("instance_id", `job ${jobId} has no task group`);
  const task = scaledTask(group.Tasks, req.serviceName);
  if (req.dryRun) return scalePreview(deps, job, changesResources ? resized(deps, job, task, r) : counted(job, r.replicas!), ctx);

  if (!changesResources) {
    // Already at that count: nothing to write (a retry of a Scale whose answer was lost ends here too).
    if (group.Count === r.replicas) {
      return { providerRef: jobId, replicas: r.replicas!, jobVersion: BigInt(job.Version ?? 0), message: `already at ${r.replicas} replicas` };
    }
    const { EvalID } = await scaleWhenAllowed(deps, jobId, group.Name, r.replicas!, ctx);
    const blocked = await unplaced(deps, EvalID, waitUntil(ctx, placementWaitMs), ctx.signal);
    // Nomad's Job.Scale registers the job with the new count: a new version, which is the one the answer names.
    const { value: scaled } = await readJob(nomad, jobId, { signal: ctx.signal });
    return { providerRef: jobId, replicas: r.replicas!, jobVersion: BigInt(scaled.Version ?? 0), message: withBlocked(`replicas set to ${r.replicas}`, blocked) };
  }

  const updated = resized(deps, job, task, r);
  const g = instanceGroup(updated)!;
  if (sameResources(job, updated, task.Name)) {
    return {
      providerRef: jobId,
      replicas: g.Count ?? 0,
      jobVersion: BigInt(job.Version ?? 0),
      message: `resources of ${task.Name} already as requested (job version ${job.Version ?? 0})`,
    };
  }
  const registered = await registerJob(nomad, updated, {
    enforceIndex: job.JobModifyIndex ?? 0,
    preserveCounts: r.replicas === undefined,
    signal: ctx.signal,
  });
  const blocked = await unplaced(deps, registered.EvalID, waitUntil(ctx, placementWaitMs), ctx.signal);
  const { value: after } = await readJob(nomad, jobId, { signal: ctx.signal });
  const replicas = instanceGroup(after)?.Count ?? g.Count;
  return {
    providerRef: jobId,
    replicas,
    jobVersion: BigInt(after.Version ?? 0),
    message: withBlocked(`resources of ${task.Name} updated (job version ${after.Version ?? 0})`, blocked),
  };
}

/** Whether the scaled job asks for exactly what the job already has (the task's CPU and memory, the disk, the count). */
function sameResources(before: Job, after: Job, taskName: string): boolean {
  const g0 = instanceGroup(before)!;
  const g1 = instanceGroup(after)!;
  const t0 = g0.Tasks.find((t) => t.Name === taskName)?.Resources;
  const t1 = g1.Tasks.find((t) => t.Name === taskName)?.Resources;
  return (
    t0?.CPU === t1?.CPU &&
    t0?.MemoryMB === t1?.MemoryMB &&
    (g0.EphemeralDisk?.SizeMB ?? undefined) === (g1.EphemeralDisk?.SizeMB ?? undefined) &&
    g0.Count === g1.Count
  );
}

/** The job a resources change registers (PreserveCounts keeps the count unless replicas are asked for too). */
function resized(deps: ProviderDeps, job: Job, task: Task, r: ResourceSpec): Job {
  const updated: Job = structuredClone(job);
  const g = instanceGroup(updated)!;
  const t = g.Tasks.find((x) => x.Name === task.Name)!;
  t.Resources = { ...t.Resources };
  const cpu = cpuMhz(r.cpuMillis, deps.settings.cpuMhzPerCore);
  if (cpu !== undefined) t.Resources.CPU = cpu;
  if (r.memoryMb > 0) t.Resources.MemoryMB = r.memoryMb;
  // Nomad's ephemeral disk belongs to the group (shared by every service of the instance): the request sets it, down
  // as well as up — keeping the larger size would answer "updated" for a change that never happened.
  if (r.diskMb > 0) g.EphemeralDisk = { ...g.EphemeralDisk, SizeMB: r.diskMb };
  if (r.replicas !== undefined) g.Count = r.replicas;
  return updated;
}

/** The job Nomad's Job.Scale registers for a replicas-only scale: the same job with the group's new count. */
function counted(job: Job, replicas: number): Job {
  const updated: Job = structuredClone(job);
  instanceGroup(updated)!.Count = replicas;
  return updated;
}

/** Dry run: Nomad's plan of the job the call would register; nothing is registered. */
async function scalePreview(deps: ProviderDeps, current: Job, updated: Job, ctx: CallContext): Promise<ScaleAnswer> {
  const preview = await previewJob(deps.nomad, updated, ctx.signal);
  return {
    providerRef: current.ID,
    replicas: instanceGroup(current)?.Count ?? 0,
    jobVersion: BigInt(current.Version ?? 0),
    message: previewSummary(preview),
    preview,
  };
}

/**
 * A change Nomad accepted but cannot place is still a success: the new version IS registered (an error would claim
 * otherwise, and a retry would register it again), and Nomad places it by itself once capacity frees. The answer
 * says so plainly, in Nomad's words, so the host can show why the instance does not move yet.
 */
function withBlocked(message: string, blocked: string): string {
  if (!blocked) return message;
  return `${message}; not placed: ${blocked} (Nomad keeps the placement queued until capacity frees; the running allocations stay as they are)`;
}

/**
 * Nomad refuses a count change while a deployment of the job is active (Deployment.Active(): running, paused, pending,
 * blocked, unblocking, initializing). The handler then waits (within the call's deadline) on a blocking query of that
 * deployment for it to end, and tries again, instead of failing a request that will soon be valid. A paused
 * deployment is FAILED_PRECONDITION at once: nobody resumes it within this call.
 */
async function scaleWhenAllowed(deps: ProviderDeps, jobId: string, group: string, count: number, ctx: CallContext): Promise<JobEvalResponse> {
  const until = waitUntil(ctx, 30_000);
  // A refusal with no active deployment to wait for (it ended between the refusal and the read) is retried at once;
  // a few such in a row mean the two disagree, and the refusal stands rather than a loop.
  let unexplained = 0;
  for (;;) {
    try {
      return await scaleJobGroup(deps.nomad, jobId, group, count, { signal: ctx.signal, message: `ctrlplane: replicas ${count}` });
    } catch (err) {
      if (!(err instanceof ProviderError) || err.code !== Code.FailedPrecondition) throw err;
      const waited = await waitForDeploymentEnd(deps, jobId, err, until, ctx.signal);
      if (!waited && ++unexplained > 3) throw err;
    }
  }
}

/** Blocks until the job's active deployment ends; false when there was none. Throws when it is paused or outlasts `until`. */
async function waitForDeploymentEnd(deps: ProviderDeps, jobId: string, refusal: ProviderError, until: number, signal: AbortSignal): Promise<boolean> {
  const latest = (await readLatestDeployment(deps.nomad, jobId, { signal })).value;
  if (!latest || !isActiveDeployment(latest)) return false;
  let d = latest;
  let index = BigInt(d.ModifyIndex);
  const blocked = (why: string) =>
    new ProviderError(Code.FailedPrecondition, `job ${jobId}: scaling is blocked by deployment ${d.ID} of job version ${d.JobVersion}, which ${why}`, {
      cause: refusal,
      httpStatus: refusal.httpStatus,
    });
  while (isActiveDeployment(d)) {
    if (d.Status === "paused") throw blocked("is paused: resume it (or fail it) first");
    const remaining = until - Date.now();
    if (remaining <= 0) throw blocked(`is still ${d.Status} (${d.StatusDescription ?? ""})`.replace(" ()", ""));
    const next = await readDeployment(deps.nomad, d.ID, { signal, index, waitMs: remaining });
    d = next.value;
    if (next.index !== undefined && next.index > index) index = next.index;
  }
  return true;
}

function scaledTask(tasks: Task[], serviceName: string): Task {
  if (!serviceName) {
    const main = tasks.find((t) => taskRole(t) === "main");
    if (!main) throw invalidArgument("service_name", "the instance has no main service; name one");
    return main;
  }
  const task = tasks.find((t) => t.Name === serviceName);
  if (!task) throw invalidArgument("service_name", `no service "${serviceName}" in this instance`);
  return task;
}

