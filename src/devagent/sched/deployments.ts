// Deployment objects and their state transitions (Nomad's deployment watcher, in small): creation for a new job
// version, per-group counters, promotion, success, failure with optional auto-revert.

import type { Json, Txn } from "../state/state-store.js";

export const deployRunning = "Deployment is running";
export const deployNeedsPromotion = "Deployment is running but requires manual promotion";
export const deployAutoPromotion = "Deployment is running pending automatic promotion";
export const deploySuccessful = "Deployment completed successfully";
export const deployStoppedJob = "Cancelled because job is stopped";
export const deployNewerJob = "Cancelled due to newer version of job";
export const deployFailedAllocs = "Failed due to unhealthy allocations";
export const deployProgressDeadline = "Failed due to progress deadline";
export const deployFailedByUser = "Deployment marked as failed";
export const deployPaused = "Deployment is paused";

/** Go's zero time.Time, as Nomad serves an unset RequireProgressBy. */
export const zeroTime = "0001-01-01T00:00:00Z";

/** Nomad's Deployment.Active(). */
export function isActive(d: Json): boolean {
  return ["running", "paused", "blocked", "unblocking", "initializing", "pending"].includes(d.Status);
}

/** Nomad's reconciler places nothing for a deployment that is paused (or, multiregion, pending/initializing). */
export function isPaused(d: Json): boolean {
  return d.Status === "paused" || d.Status === "pending" || d.Status === "initializing";
}

export function newDeployment(id: string, job: Json, txn: Txn, hasOld: (group: string) => boolean): Json {
  const groups: Json = {};
  for (const g of job.TaskGroups) {
    if (!g.Update || g.Update.MaxParallel <= 0) continue;
    groups[g.Name] = {
      AutoRevert: g.Update.AutoRevert,
      AutoPromote: g.Update.AutoPromote,
      ProgressDeadline: g.Update.ProgressDeadline,
      // Set at the group's first placement (see the scheduler's progress clock).
      RequireProgressBy: zeroTime,
      Promoted: false,
      PlacedCanaries: null,
      DesiredCanaries: hasOld(g.Name) ? g.Update.Canary : 0,
      DesiredTotal: g.Count,
      PlacedAllocs: 0,
      HealthyAllocs: 0,
      UnhealthyAllocs: 0,
    };
  }
  return {
    ID: id,
    Namespace: job.Namespace,
    JobID: job.ID,
    JobVersion: job.Version,
    JobModifyIndex: job.ModifyIndex,
    JobSpecModifyIndex: job.JobModifyIndex,
    JobCreateIndex: job.CreateIndex,
    IsMultiregion: false,
    TaskGroups: groups,
    Status: "running",
    StatusDescription: describeRunning(groups),
    EvalPriority: job.Priority,
    CreateIndex: txn.index,
    ModifyIndex: txn.index,
  };
}

export function describeRunning(groups: Json): string {
  const states = Object.values(groups) as Json[];
  const waiting = states.filter((s) => s.DesiredCanaries > 0 && !s.Promoted);
  if (!waiting.length) return deployRunning;
  return waiting.every((s) => s.AutoPromote) ? deployAutoPromotion : deployNeedsPromotion;
}

/** All canaries placed and healthy in every group that wants canaries. */
export function canariesHealthy(d: Json, allocs: Json[]): { ok: boolean; group?: string; healthy?: number; desired?: number } {
  for (const [name, s] of Object.entries(d.TaskGroups) as [string, Json][]) {
    if (s.DesiredCanaries === 0 || s.Promoted) continue;
    const healthy = allocs.filter(
      (a) => a.DeploymentID === d.ID && a.TaskGroup === name && a.DeploymentStatus?.Canary && a.DeploymentStatus?.Healthy === true,
    ).length;
    if (healthy < s.DesiredCanaries) return { ok: false, group: name, healthy, desired: s.DesiredCanaries };
  }
  return { ok: true };
}

export function setStatus(d: Json, txn: Txn, status: string, description: string): void {
  d.Status = status;
  d.StatusDescription = description;
  d.ModifyIndex = txn.index;
  txn.touch("deployments");
  txn.event({
    Topic: "Deployment",
    Type: "DeploymentStatusUpdate",
    Key: d.ID,
    Namespace: d.Namespace,
    FilterKeys: [d.JobID],
    Payload: { Deployment: structuredClone(d) },
  });
}
