// A blocking read of one evaluation: after a register, revert or promote, the evaluation says when the scheduler
// has acted (and which deployment it created), without polling.

import type { NomadHttp } from "./nomad-http.js";
import type { Evaluation } from "./types.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";

/** GET /v1/evaluation/:id, blocking while `index` is given and the evaluation did not change. */
export async function readEvaluationIndexed(nomad: NomadHttp, evalId: string, options: ReadOptions = {}): Promise<Indexed<Evaluation>> {
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
