// The job write operations of Nomad's Job RPC endpoint (register, deregister, revert, scale, stability), with the
// same checks and error texts, each ending in an evaluation the scheduler processes at once.

import { HttpError, badRequest, notFound, serverError } from "../http/http-error.js";
import { jobKey, type Json, type StateStore, type Txn } from "../state/state-store.js";
import { newId, nowNs } from "../state/nomad-time.js";
import { evalJson, newEvaluation } from "../sched/evaluations.js";
import type { Scheduler } from "../sched/scheduler.js";
import { isActive } from "../sched/deployments.js";
import { canonicalizeJob } from "./job-canonicalize.js";
import { annotatePlanDiff, jobDiff } from "./job-diff.js";
import { JsonDecodeError, expectType } from "./json-decode-error.js";
import { formatErrors, formatWarnings, jobWarnings, validateJob } from "./job-validate.js";

/** Nomad keeps this many versions of a job (JobTrackedVersions). */
const trackedVersions = 6;

export interface RegisterResult {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Warnings: string;
  Index: number;
  LastContact: number;
  KnownLeader: boolean;
  NextToken: string;
}

export interface JobServiceOptions {
  region: string;
  namespaces: Set<string>;
}

const specFields = ["Status", "StatusDescription", "Stable", "Version", "SubmitTime", "CreateIndex", "ModifyIndex", "JobModifyIndex"];

export function specOf(job: Json): string {
  const copy: Json = { ...job };
  for (const k of specFields) delete copy[k];
  return JSON.stringify(copy);
}

export class JobService {
  constructor(
    private readonly store: StateStore,
    private readonly scheduler: Scheduler,
    private readonly options: JobServiceOptions,
  ) {
    scheduler.revertHook = (ns, id, version) => {
      try {
        this.revert(ns, id, { JobID: id, JobVersion: version });
      } catch {
        // The job changed under the failed deployment (e.g. was stopped); nothing to roll back then.
      }
    };
  }

  /** Decodes + canonicalizes + validates a register body's job. Throws HttpError as the agent would answer. */
  prepare(body: any, query: URLSearchParams, pathJobId?: string): { job: Json; warnings: string[] } {
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw badRequest(`json: cannot unmarshal ${Array.isArray(body) ? "array" : typeof body} into Go value of type api.JobRegisterRequest`);
    }
    const api = body.Job;
    if (api === undefined || api === null) throw badRequest("Job must be specified");
    if (typeof api !== "object" || Array.isArray(api)) {
      throw badRequest(`json: cannot unmarshal ${Array.isArray(api) ? "array" : typeof api} into Go struct field JobRegisterRequest.Job of type api.Job`);
    }
    if (api.ID === undefined || api.ID === null) throw badRequest("Job ID hasn't been provided");
    if (pathJobId !== undefined && api.ID !== pathJobId) throw badRequest("Job ID does not match name");
    let job: Json;
    try {
      expectType(body.EnforceIndex, "bool", "JobRegisterRequest.EnforceIndex");
      expectType(body.JobModifyIndex, "uint64", "JobRegisterRequest.JobModifyIndex");
      expectType(body.PreserveCounts, "bool", "JobRegisterRequest.PreserveCounts");
      job = canonicalizeJob(api);
    } catch (err) {
      if (err instanceof JsonDecodeError) throw badRequest(err.message);
      throw err;
    }
    // Nomad's regionForJob: the body's Region wins over ?region=, the job's own Region comes next, and "global" (or
    // nothing) means the agent's region; the request is forwarded to that region.
    let region = body.Region || query.get("region") || api.Region || "";
    if (region === "" || region === "global") region = this.options.region;
    if (region !== this.options.region) throw serverError("No path to region");
    job.Region = region;
    job.Namespace = query.get("namespace") || body.Namespace || api.Namespace || "default";
    return { job, warnings: jobWarnings(job) };
  }

  validate(job: Json): string[] {
    return validateJob(job);
  }

  register(body: any, query: URLSearchParams, pathJobId?: string): RegisterResult {
    const { job, warnings } = this.prepare(body, query, pathJobId);
    const errors = validateJob(job);
    if (errors.length) throw serverError(formatErrors(errors));
    const existing = this.store.jobs.get(jobKey(job.Namespace, job.ID));
    if (body.EnforceIndex) this.enforceIndex(existing, body.JobModifyIndex ?? 0);
    if (body.PreserveCounts && existing) {
      for (const g of job.TaskGroups) {
        const old = existing.TaskGroups.find((o: Json) => o.Name === g.Name);
        if (old) g.Count = old.Count;
      }
    }
    return this.upsert(job, "job-register", warnings);
  }

  /**
   * Nomad's Job.Plan: validates like register, then asks the scheduler what registering the job would do, writing
   * nothing. JobModifyIndex is the stored job's (0 for a new job): a later register can enforce it.
   */
  plan(body: any, query: URLSearchParams, pathJobId: string): Json {
    if (typeof body === "object" && body !== null && body.Job && typeof body.Job === "object" && (body.Job.ID === undefined || body.Job.ID === null)) {
      throw badRequest("Job must have a valid ID");
    }
    if (typeof body === "object" && body !== null && body.Job && typeof body.Job === "object" && body.Job.ID !== pathJobId) throw badRequest("Job ID does not match");
    const { job, warnings } = this.prepare(body, query);
    const errors = validateJob(job);
    if (errors.length) throw serverError(formatErrors(errors));
    if (!this.options.namespaces.has(job.Namespace)) throw serverError(`job "${job.ID}" is in nonexistent namespace "${job.Namespace}"`);
    const existing = this.store.jobs.get(jobKey(job.Namespace, job.ID));
    if (existing && existing.Type !== job.Type) throw serverError(`cannot update job from type "${existing.Type}" to "${job.Type}"`);
    const changed = !existing || specOf(existing) !== specOf(job);
    job.CreateIndex = existing?.CreateIndex ?? 0;
    job.Version = existing ? (changed ? existing.Version + 1 : existing.Version) : 0;
    // As Nomad's Job.Plan: an unchanged job keeps its index (its allocations are current), a changed one gets the next.
    job.JobModifyIndex = existing ? (changed ? existing.JobModifyIndex + 1 : existing.JobModifyIndex) : 0;
    job.Stop = job.Stop === true;
    const { desired, failed } = this.scheduler.plan(job);
    const diff = body.Diff === true ? (existing ? jobDiff(existing, job) : { ...jobDiff({ TaskGroups: [] }, job), Type: "Added" as const }) : null;
    if (diff) annotatePlanDiff(diff, desired);
    const index = existing?.JobModifyIndex ?? 0;
    return {
      Annotations: { DesiredTGUpdates: desired, PreemptedAllocs: null },
      FailedTGAllocs: Object.keys(failed).length ? failed : null,
      JobModifyIndex: index,
      // Like Nomad's plan harness: the blocked evaluation the scheduler would create for what it cannot place.
      CreatedEvals: Object.keys(failed).length
        ? [
            evalJson(
              newEvaluation({ index: 0 } as Txn, job, "queued-allocs", {
                Status: "blocked",
                StatusDescription: "created to place remaining allocations",
                PreviousEval: newId(),
                FailedTGAllocs: failed,
              }),
            ),
          ]
        : null,
      Diff: diff,
      NextPeriodicLaunch: "0001-01-01T00:00:00Z",
      Warnings: formatWarnings(warnings),
      Index: index,
    };
  }

  private enforceIndex(existing: Json | undefined, jmi: number): void {
    const prefix = "Enforcing job modify index";
    if (existing) {
      if (jmi === 0) throw serverError(`${prefix} 0: job already exists`);
      if (jmi !== existing.JobModifyIndex) {
        throw serverError(`${prefix} ${jmi}: job exists with conflicting job modify index: ${existing.JobModifyIndex}`);
      }
    } else if (jmi !== 0) throw serverError(`${prefix} ${jmi}: job does not exist`);
  }

  /** Stores a (canonical, valid) job as Nomad's upsertJob does and evaluates it. */
  upsert(job: Json, triggeredBy: string, warnings: string[] = []): RegisterResult {
    if (!this.options.namespaces.has(job.Namespace)) {
      throw serverError(`job "${job.ID}" is in nonexistent namespace "${job.Namespace}"`);
    }
    const key = jobKey(job.Namespace, job.ID);
    const existing = this.store.jobs.get(key);
    if (existing && existing.Type !== job.Type) {
      throw serverError(`cannot update job from type "${existing.Type}" to "${job.Type}"`);
    }
    const dispatchable = !!job.Periodic || !!job.ParameterizedJob;
    const result = this.store.write((txn) => {
      this.storeJob(txn, job, existing);
      const ev = dispatchable ? undefined : this.scheduler.createEval(txn, job, triggeredBy);
      return {
        EvalID: ev?.ID ?? "",
        EvalCreateIndex: ev ? txn.index : 0,
        JobModifyIndex: txn.index,
        Warnings: formatWarnings(warnings),
        Index: txn.index,
        LastContact: 0,
        KnownLeader: false,
        NextToken: "",
      };
    });
    if (result.EvalID) this.scheduler.process(job.Namespace, job.ID, result.EvalID);
    return result;
  }

  private storeJob(txn: Txn, job: Json, existing: Json | undefined): void {
    const key = jobKey(job.Namespace, job.ID);
    const changed = !existing || specOf(existing) !== specOf(job);
    job.CreateIndex = existing?.CreateIndex ?? txn.index;
    job.ModifyIndex = txn.index;
    job.SubmitTime = nowNs();
    job.Status = existing?.Status ?? "pending";
    if (changed) {
      job.Version = existing ? existing.Version + 1 : 0;
      job.JobModifyIndex = txn.index;
      job.Stable = false;
    } else {
      job.Version = existing.Version;
      job.JobModifyIndex = existing.JobModifyIndex;
      job.Stable = existing.Stable;
    }
    this.store.jobs.set(key, job);
    // Registering gives a summary its missing task groups back (updateSummaryWithJob).
    const reconciled = this.store.summariesReconciled.get(key);
    if (reconciled) reconciled.groupsCleared = false;
    const versions = (this.store.jobVersions.get(key) ?? []).filter((v) => v.Version !== job.Version);
    this.store.jobVersions.set(key, [job, ...versions].slice(0, trackedVersions));
    txn.touch("jobs", "job_versions");
    txn.event({ Topic: "Job", Type: "JobRegistered", Key: job.ID, Namespace: job.Namespace, FilterKeys: null, Payload: { Job: job } });
  }

  deregister(namespace: string, jobId: string, purge: boolean): Json {
    const key = jobKey(namespace, jobId);
    const existing = this.store.jobs.get(key);
    const empty = { EvalID: "", EvalCreateIndex: 0, JobModifyIndex: 0, VolumeEvalID: "", VolumeEvalIndex: 0, Index: 0, LastContact: 0, KnownLeader: false, NextToken: "" };
    if (!existing) return empty;
    if (!purge) {
      const stopped = { ...structuredClone(existing), Stop: true };
      const r = this.upsert(stopped, "job-deregister");
      return { ...empty, EvalID: r.EvalID, EvalCreateIndex: r.EvalCreateIndex, JobModifyIndex: r.JobModifyIndex, Index: r.Index };
    }
    const r = this.store.write((txn) => {
      this.store.deleteJob(txn, namespace, jobId);
      // Nomad 1.6.0-1.7.4 (this agent says 1.6.2) publish no Job event for a purge: nomad/state/events.go has no "jobs"
      // case for deleted rows until 1.7.5/1.8.0 (which publish the job as it was; 2.0 adds JobEvent.Deleted). The write
      // shows on the stream only as the job-deregister evaluation below. A stop publishes the job with Stop=true.
      const ev = this.scheduler.createEval(txn, existing, "job-deregister");
      return { ...empty, EvalID: ev.ID, EvalCreateIndex: txn.index, JobModifyIndex: txn.index, Index: txn.index };
    });
    this.scheduler.process(namespace, jobId, r.EvalID);
    return r;
  }

  revert(namespace: string, jobId: string, body: Json): RegisterResult {
    const cur = this.store.jobs.get(jobKey(namespace, jobId));
    if (!cur) throw serverError(`job "${jobId}" not found`);
    const version = body.JobVersion ?? 0;
    if (version === cur.Version) throw serverError("can't revert to current version");
    if (body.EnforcePriorVersion !== undefined && body.EnforcePriorVersion !== null && body.EnforcePriorVersion !== cur.Version) {
      throw serverError(`Current job has version ${cur.Version}; enforcing version ${body.EnforcePriorVersion}`);
    }
    const target = (this.store.jobVersions.get(jobKey(namespace, jobId)) ?? []).find((v) => v.Version === version);
    if (!target) throw serverError(`job "${jobId}" in namespace "${namespace}" at version ${version} not found`);
    return this.upsert(structuredClone(target), "job-register");
  }

  scale(namespace: string, jobId: string, body: Json): Json {
    const job = this.store.jobs.get(jobKey(namespace, jobId));
    if (!job) throw notFound(`job "${jobId}" not found`);
    if (job.Type === "system") throw badRequest(`cannot scale jobs of type "system"`);
    const groupName = body.Target?.Group ?? "";
    const group = job.TaskGroups.find((g: Json) => g.Name === groupName);
    if (!group) throw badRequest(`task group "${groupName}" specified for scaling does not exist in job`);
    const count = body.Count;
    let result: Json = { EvalCreateIndex: 0, EvalID: "", Index: 0, JobModifyIndex: job.ModifyIndex, KnownLeader: false, LastContact: 0, NextToken: "", Warnings: "" };
    if (count !== undefined && count !== null) {
      if (typeof count !== "number" || !Number.isInteger(count)) {
        throw badRequest(`json: cannot unmarshal ${typeof count} into Go struct field ScalingRequest.Count of type int64`);
      }
      if (group.Scaling && count < group.Scaling.Min) {
        throw badRequest(`group count was less than scaling policy minimum: ${count} < ${group.Scaling.Min}`);
      }
      if (group.Scaling && group.Scaling.Max !== null && group.Scaling.Max < count) {
        throw badRequest(`group count was greater than scaling policy maximum: ${count} > ${group.Scaling.Max}`);
      }
      const latest = this.store.deploymentsOfJob(namespace, jobId)[0];
      if (latest && isActive(latest) && latest.JobCreateIndex === job.CreateIndex) {
        throw badRequest("job scaling blocked due to active deployment");
      }
      const next = structuredClone(job);
      next.TaskGroups.find((g: Json) => g.Name === groupName).Count = count;
      const r = this.upsert(next, "job-scaling");
      result = { ...result, EvalCreateIndex: r.EvalCreateIndex, EvalID: r.EvalID, JobModifyIndex: r.JobModifyIndex };
    }
    result.Index = this.recordScalingEvent(job, groupName, group.Count, body, result.EvalID);
    return result;
  }

  private recordScalingEvent(job: Json, group: string, previous: number, body: Json, evalId: string): number {
    return this.store.write((txn) => {
      const key = jobKey(job.Namespace, job.ID);
      const events = this.store.scalingEvents.get(key) ?? {};
      const list = events[group] ?? [];
      list.unshift({
        Count: body.Count ?? null,
        PreviousCount: previous,
        Error: body.Error ?? false,
        Message: body.Message ?? "",
        Meta: body.Meta ?? null,
        EvalID: evalId || null,
        Time: nowNs(),
        CreateIndex: txn.index,
      });
      events[group] = list.slice(0, 20);
      this.store.scalingEvents.set(key, events);
      txn.touch("scaling_events");
      return txn.index;
    });
  }

  setStable(namespace: string, jobId: string, version: number, stable: boolean): number {
    const v = (this.store.jobVersions.get(jobKey(namespace, jobId)) ?? []).find((j) => j.Version === version);
    if (!v) throw serverError(`job "${jobId}" in namespace "${namespace}" at version ${version} not found`);
    return this.store.write((txn) => {
      v.Stable = stable;
      v.ModifyIndex = txn.index;
      txn.touch("jobs", "job_versions");
      return txn.index;
    });
  }
}

export { HttpError };
