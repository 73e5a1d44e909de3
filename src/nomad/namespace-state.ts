// Namespace-wide list reads that prime the instance cache (src/provider/instance-cache.ts): the jobs of a prefix and
// the allocations (with their allocated resources, so ports need no per-allocation read), deployments and blocked
// evaluations of those jobs in the transport's namespace, each with its X-Nomad-Index.
//
// Only the prefix's objects are asked for: Nomad's list endpoints take a `filter` expression (all four since Nomad
// 1.3) and evaluate it on the servers, so a namespace shared with many other jobs and thousands of evaluations costs
// the servers' encoding and the network only what the cache keeps. The index in the answer is still the whole
// table's (the blocking-query index the event stream opens at), filtered or not. An older Nomad ignores the
// parameter and answers everything; the cache checks each object's job ID itself as well.

import type { NomadHttp } from "./nomad-http.js";
import type { AllocListStub, Deployment, Evaluation } from "./types.js";
import type { Indexed } from "./blocking-query.js";
import { jobIdPrefixFilter } from "./filter-expression.js";

/** An element of GET /v1/jobs. */
export interface JobListStub {
  ID: string;
  Status?: string;
  Stop?: boolean;
  CreateIndex: number;
  ModifyIndex: number;
  JobModifyIndex: number;
  [extra: string]: unknown;
}

async function list<T>(nomad: NomadHttp, path: string, query: Record<string, string>, signal: AbortSignal | undefined): Promise<Indexed<T[]>> {
  const res = await nomad.request<T[] | null>("GET", path, { query, signal, what: `list ${path.slice(4)}` });
  return { value: res.body ?? [], index: res.index };
}

/** ?filter= for the objects of jobs whose ID starts with `jobPrefix`, and-ed with `also`; none for all jobs. */
function filterQuery(jobPrefix: string, also?: string): Record<string, string> {
  const parts = [...(also ? [also] : []), ...(jobPrefix ? [jobIdPrefixFilter(jobPrefix)] : [])];
  return parts.length ? { filter: parts.join(" and ") } : {};
}

/** GET /v1/jobs?prefix= */
export function listJobStubs(nomad: NomadHttp, prefix: string, signal?: AbortSignal): Promise<Indexed<JobListStub[]>> {
  return list(nomad, "/v1/jobs", { prefix }, signal);
}

/** GET /v1/allocations?resources=true: stubs with AllocatedResources (the ports) of the prefix's jobs. */
export function listAllocationStubs(nomad: NomadHttp, jobPrefix: string, signal?: AbortSignal): Promise<Indexed<AllocListStub[]>> {
  return list(nomad, "/v1/allocations", { resources: "true", ...filterQuery(jobPrefix) }, signal);
}

/** GET /v1/deployments of the prefix's jobs. */
export function listDeployments(nomad: NomadHttp, jobPrefix: string, signal?: AbortSignal): Promise<Indexed<Deployment[]>> {
  return list(nomad, "/v1/deployments", filterQuery(jobPrefix), signal);
}

/**
 * GET /v1/evaluations: the blocked evaluations of the prefix's jobs. Nomad's older `status=` parameter would select
 * blocked ones too, but Nomad refuses it together with `filter` (400), so the status is part of the expression.
 */
export function listBlockedEvaluations(nomad: NomadHttp, jobPrefix: string, signal?: AbortSignal): Promise<Indexed<Evaluation[]>> {
  return list(nomad, "/v1/evaluations", filterQuery(jobPrefix, 'Status == "blocked"'), signal);
}
