// Nomad's job version history: GET /v1/job/:id/versions and POST /v1/job/:id/revert. Nomad keeps only the last
// job_max_versions versions of a job (JobTrackedVersions, 6 by default), so an old version can age out.

import type { NomadHttp } from "./nomad-http.js";
import type { Job, JobVersionsResponse } from "./types.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";
import { Code, ProviderError } from "../errors.js";

const jobPath = (jobId: string) => `/v1/job/${encodeURIComponent(jobId)}`;

/** Nomad's default number of retained job versions (server job_max_versions). */
export const defaultTrackedVersions = 6;

/** Body of POST /v1/job/:id/revert. */
export interface JobRevertRequest {
  JobID: string;
  JobVersion: number;
  /** Revert only if the job is still at this version (else Nomad refuses; the call is ABORTED). */
  EnforcePriorVersion?: number;
}

export interface JobRevertResponse {
  EvalID: string;
  EvalCreateIndex: number;
  JobModifyIndex: number;
  Index?: number;
  [extra: string]: unknown;
}

/** GET /v1/job/:id/versions — the retained versions, newest first. NOT_FOUND when the job does not exist. */
export async function readJobVersions(nomad: NomadHttp, jobId: string, options: ReadOptions = {}): Promise<Indexed<Job[]>> {
  const res = await nomad.request<JobVersionsResponse>("GET", `${jobPath(jobId)}/versions`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `list versions of job ${jobId}`,
  });
  const versions = [...(res.body?.Versions ?? [])].sort((a, b) => (b.Version ?? 0) - (a.Version ?? 0));
  return { value: versions, index: res.index };
}

/** POST /v1/job/:id/revert — registers a copy of `version` as the job's next version. */
export async function revertJob(
  nomad: NomadHttp,
  jobId: string,
  version: number,
  options: { enforcePriorVersion?: number; signal?: AbortSignal } = {},
): Promise<JobRevertResponse> {
  const body: JobRevertRequest = { JobID: jobId, JobVersion: version };
  if (options.enforcePriorVersion !== undefined) body.EnforcePriorVersion = options.enforcePriorVersion;
  try {
    const res = await nomad.request<JobRevertResponse>("POST", `${jobPath(jobId)}/revert`, {
      body,
      signal: options.signal,
      what: `revert job ${jobId} to version ${version}`,
    });
    return res.body;
  } catch (err) {
    throw revertRefusal(err, jobId, version);
  }
}

/** Nomad refuses reverts with plain RPC errors; their texts say which refusal it was. */
function revertRefusal(err: unknown, jobId: string, version: number): unknown {
  if (!(err instanceof ProviderError) || err.code !== Code.Unavailable || err.httpStatus === undefined) return err;
  const options = { cause: err, httpStatus: err.httpStatus };
  if (/enforcing version|enforcing job modify index/i.test(err.message)) {
    return new ProviderError(Code.Aborted, `job ${jobId} changed while reverting (a new version registered meanwhile); retry`, options);
  }
  if (/can't revert to current version/i.test(err.message)) {
    return new ProviderError(Code.FailedPrecondition, `job ${jobId} is already at version ${version}`, options);
  }
  if (/at version \d+ not found/i.test(err.message)) {
    return new ProviderError(Code.NotFound, `job ${jobId} version ${version} is no longer retained by Nomad`, options);
  }
  if (/job .* not found/i.test(err.message)) return new ProviderError(Code.NotFound, `job ${jobId} not found`, options);
  return err;
}
