// Nomad's forced garbage collection, what PUT /v1/system/gc sets off: System.GarbageCollect enqueues the core
// scheduler's "force-gc" evaluation, and CoreScheduler.forceGC (nomad/core_sched.go, 1.6.2) runs every collector with
// its age threshold at the maximum index (getThreshold), so only eligibility decides. This agent holds the state of
// three of them: jobGC, evalGC (which takes allocations with their evaluations) and deploymentGC. It has no down
// nodes, CSI plugins or volume claims, expiring ACL tokens or retired root keys to collect.
//
// The core scheduler decides all three from one snapshot, then writes in its order, each write a raft entry of its
// own: jobGC's evaluations and allocations (Eval.Reap), jobGC's jobs (Job.BatchDeregister with purge, which also
// creates a pending "job-deregister" evaluation for every job that is neither periodic nor parameterized), evalGC's
// evaluations and allocations (Eval.Reap again; what jobGC took already is simply not there), deploymentGC's
// deployments (Deployment.Reap). The job-deregister evaluations go to the scheduler afterwards, as the broker hands
// them to a worker: with the job gone there is nothing to stop and each completes.
//
// Events, as Nomad 1.6 publishes them: only the job-deregister evaluations (Topic Evaluation, Type
// JobBatchDeregistered, then EvaluationUpdated when processed). A deleted job has no event before Nomad 1.7.5/1.8.0
// (nomad/state/events.go gained the "jobs" deletion case in #19903), and Eval.Reap / Deployment.Reap are raft
// messages with no event type (MsgTypeEvents). Eval.Reap does recompute the status of the jobs whose evaluations it
// deleted (setJobStatuses with evalDelete), silently as well.

import { jobKey, type Json, type StateStore } from "../state/state-store.js";
import { nowNs } from "../state/nomad-time.js";
import { allocTerminal } from "./alloc-factory.js";
import { isActive } from "./deployments.js";
import { evalEvent, newEvaluation } from "./evaluations.js";
import { jobStatus } from "./job-status.js";
import type { Scheduler } from "./scheduler.js";

/** Evaluation and allocation IDs for one Eval.Reap. */
interface Reap {
  evals: string[];
  allocs: string[];
}

/** What one forced GC removes, decided from the state as it is when it starts (the core scheduler's snapshot). */
export interface GcPlan {
  /** jobGC: the jobs to purge (as they are), and their evaluations and allocations. */
  jobs: Json[];
  jobReap: Reap;
  /** evalGC over every evaluation. */
  evalReap: Reap;
  /** deploymentGC. */
  deployments: string[];
}

/** Evaluation.TerminalStatus. */
const terminalEval = (ev: Json) => ev.Status === "complete" || ev.Status === "failed" || ev.Status === "canceled";

/** Job.IsParameterized: a parameterized job, not one of its dispatched children. */
const parameterized = (job: Json) => !!job.ParameterizedJob && !job.Dispatched;

/**
 * jobIsGCable (nomad/state/schema.go), the "gc" index JobsByGC walks: a periodic (enabled) or parameterized job once
 * stopped; any other job once dead and either stopped or batch/sysbatch (they finish on their own).
 */
export function jobGcCandidate(job: Json): boolean {
  // The API canonicalizes an absent periodic Enabled to true.
  const periodic = !!job.Periodic && job.Periodic.Enabled !== false;
  if (periodic || parameterized(job)) return job.Stop === true;
  if (job.Status !== "dead") return false;
  if (job.Stop) return true;
  return job.Type === "batch" || job.Type === "sysbatch";
}

/**
 * allocGCEligible: a terminal allocation the client is not running any more, unless its job lives on and it failed
 * in a way the reschedule policy may still replace (the replacement copies its reschedule history from it).
 */
export function allocGcEligible(a: Json, job: Json | undefined, now: number): boolean {
  if (!allocTerminal(a)) return false;
  if (a.ClientStatus === "running") return false;
  if (!job || job.Stop || job.Status === "dead") return true;
  if (a.DesiredStatus === "stop") return true;
  if (a.ClientStatus !== "failed") return true;
  const policy: Json | null = job.TaskGroups?.find((g: Json) => g.Name === a.TaskGroup)?.ReschedulePolicy ?? null;
  if (!policy || (!policy.Unlimited && !policy.Attempts)) return true;
  // Already replaced: the tracking information has been carried forward.
  if (a.NextAllocation) return true;
  if (policy.Unlimited) return false;
  const events: Json[] = a.RescheduleTracker?.Events ?? [];
  if (!events.length) return false;
  // Not while the last reschedule attempt is inside the policy's interval.
  return now - events[events.length - 1]!.RescheduleTime > (policy.Interval ?? 0);
}

/**
 * gcEval: whether a terminal evaluation goes, and which of its allocations go (with it or, in evalGC, even when it
 * stays). A batch evaluation of a job that is still wanted keeps its current allocations, else the scheduler would run
 * them again; only allocations of older job versions (created before the job's last change) and terminal go.
 */
function gcEval(ev: Json, job: Json | undefined, allocs: Json[], allowBatch: boolean, now: number): { gc: boolean; allocs: string[] } {
  if (!terminalEval(ev)) return { gc: false, allocs: [] };
  if (ev.Type === "batch") {
    const collect = !job || (job.Status === "dead" && (job.Stop === true || allowBatch));
    if (!collect) {
      const old = allocs.filter((a) => a.CreateIndex < job!.JobModifyIndex && allocTerminal(a)).map((a) => a.ID as string);
      return { gc: old.length === allocs.length, allocs: old };
    }
  }
  let gc = true;
  const ids: string[] = [];
  for (const a of allocs) {
    if (allocGcEligible(a, job, now)) ids.push(a.ID);
    else gc = false;
  }
  return { gc, allocs: ids };
}

function groupBy(rows: Iterable<Json>, key: (row: Json) => string): Map<string, Json[]> {
  const out = new Map<string, Json[]>();
  for (const row of rows) {
    const k = key(row);
    const list = out.get(k);
    if (list) list.push(row);
    else out.set(k, [row]);
  }
  return out;
}

export interface GcOptions {
  /** Unix ns (allocGCEligible's gcTime). */
  now?: number;
  /**
   * Whether the scheduler waits to reschedule a failed allocation of the job. Nomad holds such a job in a pending
   * follow-up evaluation (WaitUntil), so its status is "pending"; this agent waits on a timer and stores the job as
   * "dead". The collector sees such a job as pending, or it would take the failed allocation (or a batch job whole)
   * that Nomad keeps to reschedule.
   */
  awaitsReschedule?: (namespace: string, jobId: string) => boolean;
}

/** forceGC's decisions: jobGC, evalGC and deploymentGC, each over the same state. Writes nothing. */
export function planForceGc(store: StateStore, options: GcOptions = {}): GcPlan {
  const now = options.now ?? nowNs();
  const awaits = options.awaitsReschedule ?? (() => false);
  // Jobs as Nomad would hold them (see awaitsReschedule).
  const view = new Map<string, Json>();
  for (const [key, job] of store.jobs) view.set(key, awaits(job.Namespace, job.ID) ? { ...job, Status: "pending" } : job);
  const byEval = groupBy(store.allocs.values(), (a) => a.EvalID);
  const jobOf = (ev: Json) => view.get(jobKey(ev.Namespace, ev.JobID));
  const decide = (ev: Json, allowBatch: boolean) => gcEval(ev, jobOf(ev), byEval.get(ev.ID) ?? [], allowBatch, now);

  // jobGC: a candidate job goes with all its evaluations, each collectable as a batch job's would be.
  const jobs: Json[] = [];
  const jobReap: Reap = { evals: [], allocs: [] };
  candidates: for (const [key, job] of store.jobs) {
    if (!jobGcCandidate(view.get(key)!)) continue;
    const reap: Reap = { evals: [], allocs: [] };
    for (const ev of store.evalsOfJob(job.Namespace, job.ID)) {
      const d = decide(ev, true);
      if (!d.gc) continue candidates;
      reap.evals.push(ev.ID);
      reap.allocs.push(...d.allocs);
    }
    jobs.push(job);
    jobReap.evals.push(...reap.evals);
    jobReap.allocs.push(...reap.allocs);
  }

  // evalGC: every collectable evaluation, and the collectable allocations of every terminal one.
  const evalReap: Reap = { evals: [], allocs: [] };
  for (const ev of store.evals.values()) {
    const d = decide(ev, false);
    if (d.gc) evalReap.evals.push(ev.ID);
    evalReap.allocs.push(...d.allocs);
  }

  // deploymentGC: every deployment that is over and that no live allocation refers to. Newest or not does not matter.
  const byDeployment = groupBy(store.allocs.values(), (a) => a.DeploymentID);
  const deployments: string[] = [];
  for (const d of store.deployments.values()) {
    if (isActive(d)) continue;
    if ((byDeployment.get(d.ID) ?? []).every(allocTerminal)) deployments.push(d.ID);
  }
  return { jobs, jobReap, evalReap, deployments };
}

/** Eval.Reap (state DeleteEval): deletes what is still there and recomputes the status of the evaluations' jobs. */
function reapEvals(store: StateStore, reap: Reap): void {
  store.write((txn) => {
    const jobs = new Set<string>();
    for (const id of reap.evals) {
      const ev = store.evals.get(id);
      if (!ev) continue;
      store.evals.delete(id);
      txn.touch("evals");
      jobs.add(jobKey(ev.Namespace, ev.JobID));
    }
    for (const id of reap.allocs) {
      if (store.allocs.delete(id)) txn.touch("allocs");
    }
    for (const key of jobs) {
      const job = store.jobs.get(key);
      if (!job) continue;
      const status = jobStatus(job, store.allocsOfJob(job.Namespace, job.ID), store.evalsOfJob(job.Namespace, job.ID), true);
      if (status === job.Status) continue;
      job.Status = status;
      job.ModifyIndex = txn.index;
      txn.touch("jobs");
    }
  });
}

/** Job.BatchDeregister with purge: the jobs go, a pending job-deregister evaluation comes for each ordinary one. */
function reapJobs(store: StateStore, jobs: Json[]): Json[] {
  return store.write((txn) => {
    const evals: Json[] = [];
    for (const job of jobs) {
      store.deleteJob(txn, job.Namespace, job.ID);
      if (job.Periodic || parameterized(job)) continue;
      // BatchDeregister's evaluation carries the job's namespace, priority and type, and no JobModifyIndex.
      const ev = newEvaluation(txn, job, "job-deregister", { JobModifyIndex: 0 });
      store.evals.set(ev.ID, ev);
      evalEvent(txn, ev, "JobBatchDeregistered");
      evals.push(ev);
    }
    return evals;
  });
}

/** Deployment.Reap (state DeleteDeployment). */
function reapDeployments(store: StateStore, ids: string[]): void {
  store.write((txn) => {
    for (const id of ids) store.deployments.delete(id);
    txn.touch("deployments");
  });
}

const nonEmpty = (r: Reap) => r.evals.length > 0 || r.allocs.length > 0;

/** Runs Nomad's forced garbage collection to the end (the job-deregister evaluations processed). */
export function forceGarbageCollect(store: StateStore, scheduler: Scheduler): GcPlan {
  const plan = planForceGc(store, { awaitsReschedule: (namespace, jobId) => scheduler.awaitsReschedule(namespace, jobId) });
  if (nonEmpty(plan.jobReap)) reapEvals(store, plan.jobReap);
  const deregistered = plan.jobs.length ? reapJobs(store, plan.jobs) : [];
  if (nonEmpty(plan.evalReap)) reapEvals(store, plan.evalReap);
  if (plan.deployments.length) reapDeployments(store, plan.deployments);
  scheduler.forgetAllocs(new Set([...plan.jobReap.allocs, ...plan.evalReap.allocs]));
  for (const ev of deregistered) scheduler.process(ev.Namespace, ev.JobID, ev.ID);
  return plan;
}
