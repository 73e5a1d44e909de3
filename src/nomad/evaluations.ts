// Typed calls of Nomad's evaluation endpoints: a registration's evaluation says whether placement failed.

import type { NomadHttp } from "./nomad-http.js";
import type { AllocationMetric, Evaluation } from "./types.js";
import type { CallOptions } from "./jobs.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";

/**
 * GET /v1/evaluation/:id, blocking while `index` is given and the evaluation did not change: after a register, revert
 * or promote, the evaluation says when the scheduler has acted (and which deployment it created), without polling.
 * NOT_FOUND when absent.
 */
export async function readEvaluation(nomad: NomadHttp, evalId: string, options: ReadOptions = {}): Promise<Indexed<Evaluation>> {
  const res = await nomad.request<Evaluation>("GET", `/v1/evaluation/${encodeURIComponent(evalId)}`, {
    signal: options.signal,
    query: blockingQuery(options),
    what: `read evaluation ${evalId}`,
  });
  return { value: res.body, index: res.index };
}

/** Statuses after which the scheduler will not touch the evaluation again. */
export function evaluationDone(e: Pick<Evaluation, "Status">): boolean {
  return e.Status === "complete" || e.Status === "failed" || e.Status === "canceled" || e.Status === "cancelled";
}

/** GET /v1/job/:id/evaluations — every evaluation of the job Nomad still holds. */
export async function listJobEvaluations(nomad: NomadHttp, jobId: string, options: CallOptions = {}): Promise<Evaluation[]> {
  const res = await nomad.request<Evaluation[] | null>("GET", `/v1/job/${encodeURIComponent(jobId)}/evaluations`, {
    signal: options.signal,
    what: `list evaluations of job ${jobId}`,
  });
  return res.body ?? [];
}

/**
 * Why an evaluation could not place allocations, in Nomad's own words (the filter and dimension names of
 * FailedTGAllocs), e.g. "cannot place 1 allocation(s) of group workload: missing devices"; "" when it placed all.
 */
/** A failed placement's reasons in Nomad's words (filter and dimension names of an AllocationMetric). */
export function placementReasons(metric: AllocationMetric): string[] {
  return [
    ...(metric.NodesEvaluated === 0 ? ["no node in the job's datacenters is eligible"] : []),
    ...Object.keys(metric.ConstraintFiltered ?? {}),
    ...Object.keys(metric.ClassFiltered ?? {}).map((c) => `node class ${c} filtered`),
    ...Object.keys(metric.DimensionExhausted ?? {}).map((d) => `resources exhausted: ${d}`),
  ];
}

export function placementFailure(evaluation: Evaluation): string {
  const failed = evaluation.FailedTGAllocs ?? {};
  const queued = evaluation.QueuedAllocations ?? {};
  const parts: string[] = [];
  for (const [group, metric] of Object.entries(failed)) {
    const reasons = placementReasons(metric);
    const count = queued[group] ?? 1 + (metric.CoalescedFailures ?? 0);
    parts.push(`cannot place ${count} allocation(s) of group ${group}: ${reasons.join(", ") || "no eligible node"}`);
  }
  return parts.join("; ");
}
