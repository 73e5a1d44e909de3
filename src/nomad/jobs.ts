// Typed calls of Nomad's job endpoints. Every call carries the caller's AbortSignal; NomadHttp adds region,
// namespace and the token, and turns failures into ProviderErrors.

import type { NomadHttp } from "./nomad-http.js";
import type {
  AllocListStub,
  Deployment,
  Job,
  JobEvalResponse,
  JobPlanResponse,
  JobRegisterRequest,
  JobRegisterResponse,
  JobScaleRequest,
  JobVersionsResponse,
} from "./types.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";
import { Code, ProviderError } from "../errors.js";

export interface CallOptions {
  signal?: AbortSignal;
}

const jobPath = (jobId: string) => `/v1/job/${encodeURIComponent(jobId)}`;

/** GET /v1/job/:id — the full job as Nomad stores it. NOT_FOUND when absent. */
export async function readJob(nomad: NomadHttp, jobId: string, options: ReadOptions = {}): Promise<Indexed<Job>> {
  const res = await nomad.request<Job>("GET", jobPath(jobId), {
    signal: options.signal,
    query: blockingQuery(options),
    what: `read job ${jobId}`,
  });
  return { value: res.body, index: res.index };
}

/** Like readJob, but a missing job is `undefined` instead of NOT_FOUND. */
export async function findJob(nomad: NomadHttp, jobId: string, options: CallOptions = {}): Promise<Job | undefined> {
  try {
    return (await readJob(nomad, jobId, options)).value;
  } catch (err) {
    if (err instanceof ProviderError && err.code === Code.NotFound) return undefined;
    throw err;
  }
}

export interface RegisterOptions extends CallOptions {
  /**
   * Register only if the job is still at this JobModifyIndex; 0 = only if the job does not exist yet.
   * A lost race is ALREADY_EXISTS (for 0) or ABORTED (the job changed meanwhile).
   */
  enforceIndex?: number;
  preserveCounts?: boolean;
}

/** POST /v1/jobs — create or update a job. */
export async function registerJob(nomad: NomadHttp, job: Job, options: RegisterOptions = {}): Promise<JobRegisterResponse> {
  const body: JobRegisterRequest = { Job: job };
  if (options.enforceIndex !== undefined) {
    body.EnforceIndex = true;
    body.JobModifyIndex = options.enforceIndex;
  }
  if (options.preserveCounts) body.PreserveCounts = true;
  try {
    const res = await nomad.request<JobRegisterResponse>("POST", "/v1/jobs", {
      body,
      signal: options.signal,
      what: `register job ${job.ID}`,
    });
    return res.body;
  } catch (err) {
    throw enforceIndexConflict(err, job.ID, options.enforceIndex);
  }
}

/** Nomad's plan of registering `job` (with its diff against the stored job); registers nothing. */
export async function planJob(nomad: NomadHttp, job: Job, options: { signal?: AbortSignal } = {}): Promise<JobPlanResponse> {
  const res = await nomad.request<JobPlanResponse>("POST", `/v1/job/${encodeURIComponent(job.ID)}/plan`, {
    body: { Job: job, Diff: true },
    signal: options.signal,
    what: `plan job ${job.ID}`,
  });
  return res.body;
}

/**
 * Nomad reports a failed EnforceIndex check as a plain RPC error ("Enforcing job modify index 0: job already
 * exists", HTTP 500 on real agents): recognise it by its text so it is a conflict, not an outage.
 */
function enforceIndexConflict(err: unknown, jobId: string, enforced: number | undefined): unknown {
  if (enforced === undefined || !(err instanceof ProviderError)) return err;
  if (!/enforcing job modify index/i.test(err.message)) return err;
  if (enforced === 0) {
    return new ProviderError(Code.AlreadyExists, `job ${jobId} already exists`, { cause: err, httpStatus: err.httpStatus });
  }
  return new ProviderError(Code.Aborted, `job ${jobId} changed concurrently; retry`, { cause: err, httpStatus: err.httpStatus });
}

/** DELETE /v1/job/:id — stop the job (purge=false keeps it, stopped, for Start). */
export async function deregisterJob(
  nomad: NomadHttp,
  jobId: string,
  options: CallOptions & { purge: boolean },
): Promise<JobEvalResponse> {
  const res = await nomad.request<JobEvalResponse>("DELETE", jobPath(jobId), {
    query: { purge: options.purge },
    signal: options.signal,
    what: `${options.purge ? "purge" : "stop"} job ${jobId}`,
  });
  return res.body;
}

/** GET /v1/job/:id/allocations — the allocations of this incarnation of the job (all versions, terminal ones too). */
export async function listJobAllocations(
  nomad: NomadHttp,
  jobId: string,
  options: ReadOptions = {},
): Promise<Indexed<AllocListStub[]>> {
  const res = await nomad.request<AllocListStub[] | null>("GET", `${jobPath(jobId)}/allocations`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `list allocations of job ${jobId}`,
  });
  return { value: res.body ?? [], index: res.index };
}

/** GET /v1/job/:id/deployment — the most recent deployment, or undefined when the job has none. */
export async function latestDeployment(
  nomad: NomadHttp,
  jobId: string,
  options: CallOptions = {},
): Promise<Deployment | undefined> {
  return (await readLatestDeployment(nomad, jobId, options)).value;
}

/** latestDeployment with the index, for blocking on deployment changes. */
export async function readLatestDeployment(
  nomad: NomadHttp,
  jobId: string,
  options: ReadOptions = {},
): Promise<Indexed<Deployment | undefined>> {
  const res = await nomad.request<Deployment | null>("GET", `${jobPath(jobId)}/deployment`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `read deployment of job ${jobId}`,
  });
  return { value: res.body ?? undefined, index: res.index };
}

/** GET /v1/job/:id/versions — the retained versions, newest first. */
export async function listJobVersions(nomad: NomadHttp, jobId: string, options: CallOptions = {}): Promise<Job[]> {
  const res = await nomad.request<JobVersionsResponse>("GET", `${jobPath(jobId)}/versions`, {
    signal: options.signal,
    what: `list versions of job ${jobId}`,
  });
  return res.body?.Versions ?? [];
}

/** POST /v1/job/:id/scale — set one group's count without a new job version. */
export async function scaleJobGroup(
  nomad: NomadHttp,
  jobId: string,
  group: string,
  count: number,
  options: CallOptions & { message?: string } = {},
): Promise<JobEvalResponse> {
  const body: JobScaleRequest = { Count: count, Target: { Group: group }, Message: options.message ?? "ctrlplane scale" };
  try {
    const res = await nomad.request<JobEvalResponse>("POST", `${jobPath(jobId)}/scale`, {
      body,
      signal: options.signal,
      what: `scale job ${jobId} group ${group}`,
    });
    return res.body;
  } catch (err) {
    if (err instanceof ProviderError && /active deployment/i.test(err.message)) {
      throw new ProviderError(Code.FailedPrecondition, `job ${jobId}: scaling is blocked by an active deployment`, {
        cause: err,
        httpStatus: err.httpStatus,
      });
    }
    throw err;
  }
}
