// Nomad's forced garbage collection (PUT /v1/system/gc -> System.GarbageCollect -> the core scheduler's forceGC),
// as nomad/core_sched.go (v1.6) does it, with every age threshold at "now" (force): jobGC, then evalGC (which takes
// the evaluations' allocations with it), then deploymentGC. Nomad publishes only the removal of jobs (a
// JobBatchDeregistered event carrying the job as it was); removed evaluations, allocations and deployments publish
// nothing, which is why event-fed readers must list again to notice them.
// Nomad runs this asynchronously from an enqueued core evaluation; here it runs before the answer.

import type { Json, StateStore } from "../state/state-store.js";
import { jobKey } from "../state/state-store.js";

const terminalEval = new Set(["complete", "failed", "canceled"]);
const activeDeployment = new Set(["running", "paused", "pending", "blocked", "unblocking", "initializing"]);

/** Allocation.TerminalStatus: desired stop or evict, or the client says complete, failed or lost. */
function terminalAlloc(a: Json): boolean {
  return a.DesiredStatus === "stop" || a.DesiredStatus === "evict" || ["complete", "failed", "lost"].includes(a.ClientStatus);
}

/** state.jobIsGCable: the "gc" index of the jobs table. */
function jobIsGCable(job: Json): boolean {
  if (job.Periodic?.Enabled || job.ParameterizedJob) return job.Stop === true;
  if (job.Status !== "dead") return false;
  return job.Stop === true || job.Type === "batch";
}

/** core_sched.go allocGCEligible, with the threshold passed (forced). */
function allocGCEligible(a: Json, job: Json | undefined, nowNs: number): boolean {
  if (!terminalAlloc(a)) return false;
  if (a.ClientStatus === "running") return false;
  if (!job || job.Stop || job.Status === "dead") return true;
  if (a.DesiredStatus === "stop") return true;
  if (a.ClientStatus !== "failed") return true;
  const policy = (job.TaskGroups ?? []).find((g: Json) => g.Name === a.TaskGroup)?.ReschedulePolicy;
  if (!policy || (!policy.Unlimited && policy.Attempts === 0)) return true;
  if (a.NextAllocation) return true;
  if (policy.Unlimited) return false;
  const events: Json[] = a.RescheduleTracker?.Events ?? [];
  if (events.length === 0) return false;
  return nowNs - events[events.length - 1]!.RescheduleTime > (policy.Interval ?? 0);
}

export interface CollectedCounts {
  jobs: number;
  evals: number;
  allocs: number;
  deployments: number;
}

export function forceGarbageCollect(store: StateStore): CollectedCounts {
  const counts: CollectedCounts = { jobs: 0, evals: 0, allocs: 0, deployments: 0 };
  const nowNs = Date.now() * 1e6;
  const allocsOfEval = (evalId: string) => [...store.allocs.values()].filter((a) => a.EvalID === evalId);

  /** core_sched.go gcEval: whether the evaluation goes, and which of its allocations go. */
  const gcEval = (ev: Json, allowBatch: boolean): { gc: boolean; allocs: string[] } => {
    if (!terminalEval.has(ev.Status)) return { gc: false, allocs: [] };
    const job = store.jobs.get(jobKey(ev.Namespace, ev.JobID));
    const allocs = allocsOfEval(ev.ID);
    if (ev.Type === "batch") {
      const collect = !job || (job.Status === "dead" && (job.Stop || allowBatch));
      if (!collect) {
        const old = allocs.filter((a) => a.CreateIndex < (job.JobModifyIndex ?? 0) && terminalAlloc(a)).map((a) => a.ID);
        return { gc: old.length === allocs.length, allocs: old };
      }
    }
    let gc = true;
    const ids: string[] = [];
    for (const a of allocs) {
      if (allocGCEligible(a, job, nowNs)) ids.push(a.ID);
      else gc = false;
    }
    return { gc, allocs: ids };
  };

  const reap = (evalIds: string[], allocIds: string[]) => {
    if (evalIds.length === 0 && allocIds.length === 0) return;
    store.write((txn) => {
      for (const id of evalIds) if (store.evals.delete(id)) counts.evals++;
      for (const id of allocIds) if (store.allocs.delete(id)) counts.allocs++;
      txn.touch("evals", "allocs");
    });
  };

  // jobGC: a job goes with all its evaluations (and their allocations) when every evaluation can go.
  const gcJobs: Json[] = [];
  const jobEvals: string[] = [];
  const jobAllocs: string[] = [];
  for (const job of store.jobs.values()) {
    if (!jobIsGCable(job)) continue;
    const evals: string[] = [];
    const allocs: string[] = [];
    let all = true;
    for (const ev of store.evalsOfJob(job.Namespace, job.ID)) {
      const r = gcEval(ev, true);
      if (!r.gc) {
        all = false;
        break;
      }
      evals.push(ev.ID);
      allocs.push(...r.allocs);
    }
    if (!all) continue;
    gcJobs.push(job);
    jobEvals.push(...evals);
    jobAllocs.push(...allocs);
  }
  reap(jobEvals, jobAllocs);
  if (gcJobs.length) {
    store.write((txn) => {
      for (const job of gcJobs) {
        const key = jobKey(job.Namespace, job.ID);
        store.jobs.delete(key);
        store.jobVersions.delete(key);
        counts.jobs++;
        txn.event({ Topic: "Job", Type: "JobBatchDeregistered", Key: job.ID, Namespace: job.Namespace, FilterKeys: null, Payload: { Job: job } });
      }
      txn.touch("jobs", "job_versions");
    });
  }

  // evalGC: every terminal evaluation whose allocations can all go; eligible allocations go either way.
  const evals: string[] = [];
  const allocs: string[] = [];
  for (const ev of store.evals.values()) {
    const r = gcEval(ev, false);
    if (r.gc) evals.push(ev.ID);
    allocs.push(...r.allocs);
  }
  reap(evals, allocs);

  // deploymentGC: terminal deployments no live allocation refers to.
  const deployments: string[] = [];
  for (const d of store.deployments.values()) {
    if (activeDeployment.has(d.Status)) continue;
    const referenced = [...store.allocs.values()].some((a) => a.DeploymentID === d.ID && !terminalAlloc(a));
    if (!referenced) deployments.push(d.ID);
  }
  if (deployments.length) {
    store.write((txn) => {
      for (const id of deployments) if (store.deployments.delete(id)) counts.deployments++;
      txn.touch("deployments");
    });
  }
  return counts;
}
