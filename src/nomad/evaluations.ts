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

/** A human-readable reason why an evaluation could not place allocations, or "" when it placed everything. */
export function placementFailure(evaluation: Evaluation): string {
  const failed = evaluation.FailedTGAllocs ?? {};
  const parts: string[] = [];
  for (const [group, metric] of Object.entries(failed)) {
    const exhausted = Object.entries(metric.DimensionExhausted ?? {}).map(([d, n]) => `${d} exhausted on ${n} node(s)`);
    const filtered = Object.entries(metric.ConstraintFiltered ?? {}).map(([c, n]) => `${c} filtered ${n} node(s)`);
    const detail = [...exhausted, ...filtered].join(", ") || `${metric.NodesEvaluated ?? 0} node(s) evaluated`;
    parts.push(`group ${group}: cannot place (${detail})`);
  }
  return parts.join("; ");
}
