// Typed calls of Nomad's evaluation endpoints: a registration's evaluation says whether placement failed.

import type { NomadHttp } from "./nomad-http.js";
import type { Evaluation } from "./types.js";
import type { CallOptions } from "./jobs.js";

/** GET /v1/evaluation/:id. NOT_FOUND when absent. */
export async function readEvaluation(nomad: NomadHttp, evalId: string, options: CallOptions = {}): Promise<Evaluation> {
  const res = await nomad.request<Evaluation>("GET", `/v1/evaluation/${encodeURIComponent(evalId)}`, {
    signal: options.signal,
    what: `read evaluation ${evalId}`,
  });
  return res.body;
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
export function placementFailure(evaluation: Evaluation): string {
  const failed = evaluation.FailedTGAllocs ?? {};
  const queued = evaluation.QueuedAllocations ?? {};
  const parts: string[] = [];
  for (const [group, metric] of Object.entries(failed)) {
    const reasons = [
      ...(metric.NodesEvaluated === 0 ? ["no node in the job's datacenters is eligible"] : []),
      ...Object.keys(metric.ConstraintFiltered ?? {}),
      ...Object.keys(metric.ClassFiltered ?? {}).map((c) => `node class ${c} filtered`),
      ...Object.keys(metric.DimensionExhausted ?? {}).map((d) => `resources exhausted: ${d}`),
    ];
    const count = queued[group] ?? 1 + (metric.CoalescedFailures ?? 0);
    parts.push(`cannot place ${count} allocation(s) of group ${group}: ${reasons.join(", ") || "no eligible node"}`);
  }
  return parts.join("; ");
}
