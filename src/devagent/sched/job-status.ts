// A job's Status as Nomad derives it from its allocations and evaluations (state store getJobStatus), and the
// per-group JobSummary served in job list stubs.

import type { Json, SummaryReconciliation } from "../state/state-store.js";
import { allocTerminal } from "./alloc-factory.js";

/** `evalDelete`: the status is computed because evaluations were deleted (garbage collection); with nothing live
 *  left the job is dead then, even with no allocation or evaluation remaining (getJobStatus's evalDelete). */
export function jobStatus(job: Json, allocs: Json[], evals: Json[], evalDelete = false): string {
  if (job.Type === "system" || job.Periodic || job.ParameterizedJob) return job.Stop ? "dead" : "running";
  if (allocs.some((a) => !allocTerminal(a))) return "running";
  if (evals.some((e) => e.Status === "pending" || e.Status === "blocked")) return "pending";
  if (job.Stop || evalDelete) return "dead";
  if (allocs.length) return "dead";
  return "pending";
}

/** Queued counts per group: what the job's latest completed evaluation could not place (Nomad's JobSummary.Queued);
 *  a summary reconciled at an index only counts evaluations written after it. */
function queuedOf(evals: Json[], reconciledAt: number): Record<string, number> {
  const latest = evals
    .filter((e) => e.Status === "complete" && e.QueuedAllocations && e.ModifyIndex > reconciledAt)
    .sort((a, b) => b.ModifyIndex - a.ModifyIndex)[0];
  return latest?.QueuedAllocations ?? {};
}

/** `reconciled`: the job's last summary reconciliation, if any. */
export function jobSummary(job: Json, allocs: Json[], evals: Json[] = [], reconciled?: SummaryReconciliation): Json {
  const summary: Json = {};
  const reconciledAt = reconciled?.index ?? 0;
  const queued = queuedOf(evals, reconciledAt);
  const groups = reconciled?.groupsCleared ? [] : job.TaskGroups;
  for (const g of groups) summary[g.Name] = { Queued: queued[g.Name] ?? 0, Complete: 0, Failed: 0, Running: 0, Starting: 0, Lost: 0, Unknown: 0 };
  for (const a of allocs) {
    const s = summary[a.TaskGroup];
    if (!s) continue;
    if (a.ClientStatus === "pending") s.Starting++;
    else if (a.ClientStatus === "running") s.Running++;
    else if (a.ClientStatus === "complete") s.Complete++;
    else if (a.ClientStatus === "failed") s.Failed++;
    else if (a.ClientStatus === "lost") s.Lost++;
    else s.Unknown++;
  }
  return {
    JobID: job.ID,
    Namespace: job.Namespace,
    Summary: summary,
    Children: { Pending: 0, Running: 0, Dead: 0 },
    CreateIndex: job.CreateIndex,
    ModifyIndex: Math.max(job.ModifyIndex, reconciledAt, ...allocs.map((a) => a.ModifyIndex)),
  };
}

export function jobStub(job: Json, allocs: Json[], withMeta: boolean, evals: Json[] = [], reconciled?: SummaryReconciliation): Json {
  const stub: Json = {
    ID: job.ID,
    ParentID: job.ParentID,
    Name: job.Name,
    Namespace: job.Namespace,
    Datacenters: job.Datacenters,
    NodePool: job.NodePool,
    Multiregion: job.Multiregion,
    Type: job.Type,
    Priority: job.Priority,
    Periodic: !!job.Periodic,
    ParameterizedJob: !!job.ParameterizedJob,
    Stop: job.Stop,
    Status: job.Status,
    StatusDescription: job.StatusDescription,
    JobSummary: jobSummary(job, allocs, evals, reconciled),
    CreateIndex: job.CreateIndex,
    ModifyIndex: job.ModifyIndex,
    JobModifyIndex: job.JobModifyIndex,
    SubmitTime: job.SubmitTime,
  };
  if (withMeta && job.Meta) stub.Meta = job.Meta;
  return stub;
}
