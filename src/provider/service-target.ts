// Resolves a request's service name to the Nomad task that runs it (task name = service name; the MAIN service is
// the task whose Meta says role "main", else the first task without a lifecycle hook) and picks allocations.

import { Code, ProviderError, invalidArgument } from "../errors.js";
import type { AllocListStub, Job, Task } from "../nomad/types.js";

const roleMeta = "ctrlplane.role";

/** The task of `serviceName` (default: the MAIN service) in the instance's task group. */
export function resolveTask(job: Job, serviceName: string, field = "service_name"): Task {
  const tasks = job.TaskGroups.flatMap((g) => g.Tasks ?? []);
  if (serviceName) {
    const task = tasks.find((t) => t.Name === serviceName);
    if (!task) throw invalidArgument(field, `instance has no service "${serviceName}" (services: ${tasks.map((t) => t.Name).join(", ")})`);
    return task;
  }
  const main = tasks.find((t) => t.Meta?.[roleMeta] === "main") ?? tasks.find((t) => !t.Lifecycle?.Hook) ?? tasks[0];
  if (!main) throw new ProviderError(Code.FailedPrecondition, `job ${job.ID} has no tasks`);
  return main;
}

export function isTerminalAlloc(a: Pick<AllocListStub, "ClientStatus">): boolean {
  return a.ClientStatus === "complete" || a.ClientStatus === "failed" || a.ClientStatus === "lost";
}

/** True once the task will write no more output in this allocation. */
export function isTaskFinished(a: Pick<AllocListStub, "ClientStatus" | "TaskStates">, task: string): boolean {
  return isTerminalAlloc(a) || a.TaskStates?.[task]?.State === "dead";
}

/** True once the task has started at least once (its log files exist). */
export function hasTaskStarted(a: Pick<AllocListStub, "TaskStates">, task: string): boolean {
  const state = a.TaskStates?.[task];
  return !!state && (state.State !== "pending" || !!state.StartedAt);
}

/** Allocations of the job's current version that run (or are about to run) now. */
export function currentAllocations(job: Job, allocs: AllocListStub[], includePending: boolean): AllocListStub[] {
  return allocs
    .filter((a) => a.JobVersion === job.Version && a.DesiredStatus === "run")
    .filter((a) => a.ClientStatus === "running" || (includePending && a.ClientStatus === "pending"))
    .sort((a, b) => a.CreateIndex - b.CreateIndex || a.Name.localeCompare(b.Name));
}
