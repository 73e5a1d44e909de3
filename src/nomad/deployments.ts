// Typed calls of Nomad's deployment endpoints: read (blocking), list per job, promote canaries, mark failed.
// Nomad answers most refusals of a deployment write as a plain 500 RPC error; the texts it uses for "not found",
// "terminal" and "canaries not healthy" are recognised here, so they reach the caller as NOT_FOUND or
// FAILED_PRECONDITION instead of looking like an outage (UNAVAILABLE).

import type { NomadHttp } from "./nomad-http.js";
import type { Deployment } from "./types.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";
import { Code, ProviderError } from "../errors.js";

const jobPath = (jobId: string) => `/v1/job/${encodeURIComponent(jobId)}`;

/** Body of POST /v1/deployment/promote/:id. */
export interface DeploymentPromoteRequest {
  DeploymentID: string;
  All?: boolean;
  Groups?: string[];
}

/** Answer of the deployment write endpoints (promote, fail, pause). */
export interface DeploymentUpdateResponse {
  EvalID?: string;
  EvalCreateIndex?: number;
  DeploymentModifyIndex?: number;
  /** Set by fail when auto_revert rolled the job back. */
  RevertedJobVersion?: number | null;
  Index?: number;
  [extra: string]: unknown;
}

/** Nomad's "active" deployment statuses (Deployment.Active()): it may still place, promote or fail. */
export function isActiveDeployment(d: Pick<Deployment, "Status">): boolean {
  return ["running", "paused", "pending", "blocked", "unblocking", "initializing"].includes(d.Status);
}

/** GET /v1/deployment/:id — blocks while `index` is given and nothing changed. NOT_FOUND when absent. */
export async function readDeployment(nomad: NomadHttp, deploymentId: string, options: ReadOptions = {}): Promise<Indexed<Deployment>> {
  const res = await nomad.request<Deployment>("GET", `/v1/deployment/${encodeURIComponent(deploymentId)}`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `read deployment ${deploymentId}`,
  });
  return { value: res.body, index: res.index };
}

/** GET /v1/job/:id/deployment (blocking-capable) lives with the job endpoints; re-exported for deployment callers. */
export { readLatestDeployment } from "./jobs.js";

/** GET /v1/job/:id/deployments — every retained deployment of the job, newest first. */
export async function listJobDeployments(nomad: NomadHttp, jobId: string, options: ReadOptions = {}): Promise<Indexed<Deployment[]>> {
  const res = await nomad.request<Deployment[] | null>("GET", `${jobPath(jobId)}/deployments`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `list deployments of job ${jobId}`,
  });
  const list = [...(res.body ?? [])].sort((a, b) => b.CreateIndex - a.CreateIndex);
  return { value: list, index: res.index };
}

/** POST /v1/deployment/promote/:id with All=true: every group's canaries become the new version's allocations. */
export async function promoteDeployment(
  nomad: NomadHttp,
  deploymentId: string,
  options: { signal?: AbortSignal } = {},
): Promise<DeploymentUpdateResponse> {
  const body: DeploymentPromoteRequest = { DeploymentID: deploymentId, All: true };
  try {
    const res = await nomad.request<DeploymentUpdateResponse>("POST", `/v1/deployment/promote/${encodeURIComponent(deploymentId)}`, {
      body,
      signal: options.signal,
      what: `promote deployment ${deploymentId}`,
    });
    return res.body ?? {};
  } catch (err) {
    throw deploymentRefusal(err, deploymentId);
  }
}

/** POST /v1/deployment/fail/:id — marks an active deployment failed (auto_revert groups then roll back). */
export async function failDeployment(
  nomad: NomadHttp,
  deploymentId: string,
  options: { signal?: AbortSignal } = {},
): Promise<DeploymentUpdateResponse> {
  try {
    const res = await nomad.request<DeploymentUpdateResponse>("POST", `/v1/deployment/fail/${encodeURIComponent(deploymentId)}`, {
      body: { DeploymentID: deploymentId },
      signal: options.signal,
      what: `fail deployment ${deploymentId}`,
    });
    return res.body ?? {};
  } catch (err) {
    throw deploymentRefusal(err, deploymentId);
  }
}

/** Nomad's refusal texts (deployment endpoint, deployment watcher, state store) -> the codes they mean. */
export function deploymentRefusal(err: unknown, deploymentId: string): unknown {
  if (!(err instanceof ProviderError) || err.code !== Code.Unavailable || err.httpStatus === undefined) return err;
  const text = err.message;
  const options = { cause: err, httpStatus: err.httpStatus };
  if (/deployment not found|does not exist|deployment id not found/i.test(text)) {
    return new ProviderError(Code.NotFound, `deployment ${deploymentId} not found`, options);
  }
  if (/terminal (status|deployment)|not active/i.test(text)) {
    return new ProviderError(Code.FailedPrecondition, `deployment ${deploymentId} is no longer active: ${nomadText(text)}`, options);
  }
  if (/healthy allocations|no canaries to promote/i.test(text)) {
    return new ProviderError(Code.FailedPrecondition, `deployment ${deploymentId} cannot be promoted yet: ${nomadText(text)}`, options);
  }
  return err;
}

/** The part of a ProviderError message Nomad wrote (after "nomad: <what>: "). */
function nomadText(message: string): string {
  const m = /^nomad: [^:]+: ([\s\S]*)$/.exec(message);
  return (m ? m[1]! : message).trim();
}
