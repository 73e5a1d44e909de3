// Namespace-wide list reads that prime the instance cache (src/provider/instance-cache.ts): the jobs of a prefix,
// every allocation (with its allocated resources, so ports need no per-allocation read), deployment and evaluation
// of the transport's namespace, each with its X-Nomad-Index.

import type { NomadHttp } from "./nomad-http.js";
import type { AllocListStub, Deployment, Evaluation } from "./types.js";
import type { Indexed } from "./blocking-query.js";

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

/** GET /v1/jobs?prefix= */
export function listJobStubs(nomad: NomadHttp, prefix: string, signal?: AbortSignal): Promise<Indexed<JobListStub[]>> {
  return list(nomad, "/v1/jobs", { prefix }, signal);
}

/** GET /v1/allocations?resources=true: stubs with AllocatedResources (the ports). */
export function listAllocationStubs(nomad: NomadHttp, signal?: AbortSignal): Promise<Indexed<AllocListStub[]>> {
  return list(nomad, "/v1/allocations", { resources: "true" }, signal);
}

/** GET /v1/deployments */
export function listDeployments(nomad: NomadHttp, signal?: AbortSignal): Promise<Indexed<Deployment[]>> {
  return list(nomad, "/v1/deployments", {}, signal);
}

/** GET /v1/evaluations */
export function listEvaluations(nomad: NomadHttp, signal?: AbortSignal): Promise<Indexed<Evaluation[]>> {
  return list(nomad, "/v1/evaluations", {}, signal);
}
