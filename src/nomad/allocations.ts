// Typed calls of Nomad's allocation endpoints (server reads and the client restart API).

import type { NomadHttp } from "./nomad-http.js";
import type { Allocation } from "./types.js";
import type { CallOptions } from "./jobs.js";

const allocPath = (allocId: string) => `/v1/allocation/${encodeURIComponent(allocId)}`;

/** GET /v1/allocation/:id — the full allocation (AllocatedResources, Job). NOT_FOUND when absent. */
export async function readAllocation(nomad: NomadHttp, allocId: string, options: CallOptions = {}): Promise<Allocation> {
  const res = await nomad.request<Allocation>("GET", allocPath(allocId), {
    signal: options.signal,
    what: `read allocation ${allocId}`,
  });
  return res.body;
}

export interface RestartOptions extends CallOptions {
  /** Restart only this task; default: every running task. */
  task?: string;
  /** Also re-run tasks that already finished (prestart init tasks). */
  allTasks?: boolean;
}

/** POST /v1/client/allocation/:id/restart — restart tasks in place (the allocation and its ports stay). */
export async function restartAllocation(nomad: NomadHttp, allocId: string, options: RestartOptions = {}): Promise<void> {
  const body: Record<string, unknown> = {};
  if (options.task) body.TaskName = options.task;
  if (options.allTasks) body.AllTasks = true;
  await nomad.request<unknown>("POST", `/v1/client/allocation/${encodeURIComponent(allocId)}/restart`, {
    body,
    signal: options.signal,
    what: `restart allocation ${allocId}`,
  });
}

/** POST /v1/allocation/:id/stop — stop one allocation (the scheduler replaces it). */
export async function stopAllocation(nomad: NomadHttp, allocId: string, options: CallOptions = {}): Promise<string> {
  const res = await nomad.request<{ EvalID: string }>("POST", `${allocPath(allocId)}/stop`, {
    signal: options.signal,
    what: `stop allocation ${allocId}`,
  });
  return res.body?.EvalID ?? "";
}
