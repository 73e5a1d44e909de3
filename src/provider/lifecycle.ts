// Deprovision, Stop, Start and Restart of an instance's job.

import { InstanceState, type RestartRequest } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { deregisterJob, findJob, listJobAllocations, readJob, registerJob } from "../nomad/jobs.js";
import { restartAllocation } from "../nomad/allocations.js";
import type { AllocListStub, Job, Task } from "../nomad/types.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdFor } from "./instance-id.js";
import { currentAllocations, instanceGroup, readInstanceStatus, taskRole } from "./status.js";
import { waitUntil } from "./call-budget.js";
import { waitForInstance } from "./wait-for.js";
import { deleteInstanceSecrets } from "./secrets.js";

const defaultWaitMs = 30_000;

export interface StateAnswer {
  state: InstanceState;
  message: string;
}

/** Stops and purges the job, then deletes its secret variables. A missing job is success: Deprovision converges. */
export async function deprovision(deps: ProviderDeps, instanceId: string, ctx: CallContext): Promise<StateAnswer> {
  const jobId = jobIdFor(instanceId);
  const job = await findJob(deps.nomad, jobId, { signal: ctx.signal });
  if (job) {
    const res = await deregisterJob(deps.nomad, jobId, { purge: true, signal: ctx.signal });
    deps.log.info("deprovision: job purged", { job_id: jobId, eval_id: res.EvalID });
  } else {
    deps.log.info("deprovision: job not found: already deprovisioned", { job_id: jobId });
  }
  const secrets = await deleteInstanceSecrets(deps.nomad, jobId, job, ctx.signal);
  if (secrets > 0) deps.log.info("deprovision: secret variables deleted", { job_id: jobId, count: secrets });
  const removed = secrets > 0 ? `; ${secrets} secret variable(s) deleted` : "";
  return { state: InstanceState.DESTROYED, message: (job ? "job stopped and purged" : "job not found: already deprovisioned") + removed };
}

const active = (a: AllocListStub) => a.ClientStatus === "pending" || a.ClientStatus === "running";

/** Stops the job without purging it, then waits (within the deadline) for its allocations to stop. */
export async function stop(deps: ProviderDeps, instanceId: string, ctx: CallContext): Promise<StateAnswer> {
  const jobId = jobIdFor(instanceId);
  const { value: job } = await readJob(deps.nomad, jobId, { signal: ctx.signal });
  if (!job.Stop) await deregisterJob(deps.nomad, jobId, { purge: false, signal: ctx.signal });
  const { reached } = await waitForInstance(deps.nomad, jobId, (s) => !s.allocations.some(active), {
    signal: ctx.signal,
    until: waitUntil(ctx, defaultWaitMs),
  });
  return reached
    ? { state: InstanceState.STOPPED, message: job.Stop ? "already stopped" : "job stopped" }
    : { state: InstanceState.STOPPING, message: "job stopped; allocations are still shutting down" };
}

/**
 * Re-registers the stopped job exactly as Nomad holds it with only Stop cleared: every field (including ones this
 * plugin never set) survives. EnforceIndex makes a concurrent change fail instead of being overwritten.
 */
export async function start(deps: ProviderDeps, instanceId: string, ctx: CallContext): Promise<StateAnswer> {
  const jobId = jobIdFor(instanceId);
  const { value: job } = await readJob(deps.nomad, jobId, { signal: ctx.signal });
  let message = "already running";
  if (job.Stop) {
    const restarted: Job = { ...job, Stop: false };
    await registerJob(deps.nomad, restarted, { enforceIndex: job.JobModifyIndex ?? 0, signal: ctx.signal });
    message = "job started";
  }
  const { snapshot } = await waitForInstance(
    deps.nomad,
    jobId,
    (s) => !s.job.Stop && (s.status.state === InstanceState.RUNNING || s.status.state === InstanceState.FAILED),
    { signal: ctx.signal, until: waitUntil(ctx, defaultWaitMs) },
  );
  const state = snapshot.status.state;
  return { state, message: state === InstanceState.RUNNING ? message : snapshot.status.message || message };
}

export interface RestartAnswer extends StateAnswer {
  restarted: number;
}

/**
 * Restarts the running allocations of the current version in place (client restart API), max_parallel at a time,
 * each batch back to running (and not unhealthy) before the next starts.
 */
export async function restart(deps: ProviderDeps, req: RestartRequest, ctx: CallContext): Promise<RestartAnswer> {
  const jobId = jobIdFor(req.instanceId);
  const { nomad } = deps;
  const { value: job } = await readJob(nomad, jobId, { signal: ctx.signal });
  if (job.Stop) throw new ProviderError(Code.FailedPrecondition, `instance ${req.instanceId} is stopped; Start it first`);
  const group = instanceGroup(job);
  const tasks = restartedTasks(group?.Tasks ?? [], req.serviceName);
  const { value: allocs } = await listJobAllocations(nomad, jobId, { signal: ctx.signal });
  const running = currentAllocations(job, allocs).filter((a) => a.ClientStatus === "running");
  if (running.length === 0) {
    throw new ProviderError(Code.FailedPrecondition, `instance ${req.instanceId} has no running allocation to restart`);
  }
  const batchSize = Math.max(1, group?.Update?.MaxParallel ?? job.Update?.MaxParallel ?? 1);
  const until = waitUntil(ctx, 60_000);
  let restarted = 0;
  for (let i = 0; i < running.length; i += batchSize) {
    const batch = running.slice(i, i + batchSize);
    const before = new Map(batch.map((a) => [a.ID, restartCount(a, tasks)]));
    await Promise.all(batch.map((a) => restartAllocation(nomad, a.ID, { task: req.serviceName || undefined, signal: ctx.signal })));
    restarted += batch.length;
    const { reached } = await waitForInstance(
      nomad,
      jobId,
      (s) => batch.every((a) => batchMemberBack(s.allocations.find((x) => x.ID === a.ID), tasks, before.get(a.ID)!)),
      { signal: ctx.signal, until },
    );
    if (!reached) {
      return {
        state: InstanceState.STARTING,
        restarted,
        message: `restarted ${restarted} allocation(s); batch ${i / batchSize + 1} not running again before the deadline`,
      };
    }
  }
  const { status } = await readInstanceStatus(nomad, jobId, ctx.signal);
  const message = `restarted ${restarted} allocation(s)`;
  return { state: status.state, restarted, message: status.message ? `${message}; ${status.message}` : message };
}

/** The long-lived tasks a restart affects: one named service, or every main and sidecar task. */
function restartedTasks(tasks: Task[], serviceName: string): string[] {
  if (!serviceName) return tasks.filter((t) => taskRole(t) !== "init").map((t) => t.Name);
  const task = tasks.find((t) => t.Name === serviceName);
  if (!task) throw invalidArgument("service_name", `no service "${serviceName}" in this instance`);
  if (taskRole(task) === "init") throw invalidArgument("service_name", `"${serviceName}" is an init service; it does not run`);
  return [task.Name];
}

function restartCount(alloc: AllocListStub, tasks: string[]): number {
  return tasks.reduce((n, t) => n + (alloc.TaskStates?.[t]?.Restarts ?? 0), 0);
}

function batchMemberBack(alloc: AllocListStub | undefined, tasks: string[], before: number): boolean {
  if (!alloc) return true; // replaced or gone: nothing left to wait for
  if (alloc.ClientStatus !== "running") return alloc.ClientStatus === "failed" || alloc.ClientStatus === "complete";
  if (alloc.DeploymentStatus?.Healthy === false) return true;
  return restartCount(alloc, tasks) > before && tasks.every((t) => alloc.TaskStates?.[t]?.State === "running");
}
