// Whether Nomad could place what a registration or scale asked for: the call's evaluation is read (blocking until
// the scheduler processed it, within the call's budget) and a placement failure is put in Nomad's own words.

import { evaluationDone, placementFailure, readEvaluation } from "../nomad/evaluations.js";
import type { Evaluation } from "../nomad/types.js";
import type { ProviderDeps } from "./provider-deps.js";

/** The evaluation once the scheduler is done with it (or blocked it); undefined if that did not happen by `until`. */
export async function processedEvaluation(deps: ProviderDeps, evalId: string, until: number, signal: AbortSignal): Promise<Evaluation | undefined> {
  let index: bigint | undefined;
  while (evalId && Date.now() < until) {
    const { value, index: next } = await readEvaluation(deps.nomad, evalId, { signal, index, waitMs: until - Date.now() });
    if (evaluationDone(value) || value.Status === "blocked") return value;
    if (next !== undefined && index !== undefined && next <= index) return undefined; // the agent does not block: stop asking
    index = next;
  }
  return undefined;
}

/**
 * "" when the evaluation placed everything (or could not be read in time: not knowing is no failure), else why
 * not, e.g. "cannot place 1 allocation(s) of group workload: resources exhausted: cpu".
 */
export async function unplaced(deps: ProviderDeps, evalId: string, until: number, signal: AbortSignal): Promise<string> {
  try {
    const evaluation = await processedEvaluation(deps, evalId, until, signal);
    return evaluation ? placementFailure(evaluation) : "";
  } catch (err) {
    if (signal.aborted) throw err;
    deps.log.warn("could not read the evaluation", { eval_id: evalId, error: err });
    return "";
  }
}
