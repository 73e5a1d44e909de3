// Following a release through Nomad: find the deployment the scheduler created for a job version (via the
// registration's evaluation), then block on the deployment (Nomad blocking queries) until it is terminal or the
// caller's time is up, promoting canaries once they are all healthy when the strategy asks for it.

import { linkedSignal } from "../trace-context.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { Deployment, Evaluation } from "../nomad/types.js";
import { isActiveDeployment, promoteDeployment, readDeployment, readLatestDeployment } from "../nomad/deployments.js";
import { evaluationDone, readEvaluation } from "../nomad/evaluations.js";
import type { Indexed } from "../nomad/blocking-query.js";
import { Code, ProviderError } from "../errors.js";

export interface Budget {
  signal: AbortSignal;
  /** Epoch ms after which the caller stops waiting. */
  until: number;
}

/** Canary groups not yet promoted whose canaries are all healthy. */
export function canariesReady(d: Deployment): boolean {
  const waiting = Object.values(d.TaskGroups ?? {}).filter((g) => (g.DesiredCanaries ?? 0) > 0 && !g.Promoted);
  return waiting.length > 0 && waiting.every((g) => (g.HealthyAllocs ?? 0) >= (g.DesiredCanaries ?? 0));
}

/** Canary groups that still wait for a promotion. */
export function awaitingPromotion(d: Deployment): boolean {
  return Object.values(d.TaskGroups ?? {}).some((g) => (g.DesiredCanaries ?? 0) > 0 && !g.Promoted);
}

/**
 * Runs `read` as a blocking query for at most the remaining budget; undefined when the budget ran out first.
 * A server that answers without blocking cannot make the caller spin: an unchanged answer costs at least 100 ms.
 */
async function blockUntilChange<T>(
  budget: Budget,
  index: bigint | undefined,
  read: (opts: { index: bigint; waitMs: number; signal: AbortSignal }) => Promise<{ value: T; index: bigint | undefined }>,
): Promise<{ value: T; index: bigint | undefined } | undefined> {
  const remaining = budget.until - Date.now();
  if (remaining <= 0) return undefined;
  const started = Date.now();
  const timeout = AbortSignal.timeout(remaining);
  try {
    const res = await read({ index: index ?? 1n, waitMs: remaining, signal: linkedSignal([budget.signal, timeout]) });
    if (res.index === undefined || index === undefined || res.index <= index) {
      const pause = Math.min(100, budget.until - Date.now()) - (Date.now() - started);
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
    }
    return res;
  } catch (err) {
    if (budget.signal.aborted) throw err;
    if (timeout.aborted) return undefined;
    throw err;
  }
}

/** Waits for the evaluation to be processed; undefined when the budget ran out first. */
export async function awaitEvaluation(nomad: NomadHttp, evalId: string, budget: Budget): Promise<Evaluation | undefined> {
  let res: Indexed<Evaluation> = await readEvaluation(nomad, evalId, { signal: budget.signal });
  while (!evaluationDone(res.value)) {
    const next: Indexed<Evaluation> | undefined = await blockUntilChange(budget, res.index, (o) => readEvaluation(nomad, evalId, o));
    if (!next) return undefined;
    res = next;
  }
  return res.value;
}

export interface VersionDeployment {
  /** The deployment of that job version; undefined when Nomad created none. */
  deployment: Deployment | undefined;
  /** False when the evaluation was still unprocessed when the budget ran out. */
  evaluated: boolean;
}

/** The deployment Nomad created for `version` of the job, once the registration's evaluation was processed. */
export async function deploymentOfVersion(
  nomad: NomadHttp,
  jobId: string,
  evalId: string,
  version: number,
  budget: Budget,
): Promise<VersionDeployment> {
  const evaluation = evalId ? await awaitEvaluation(nomad, evalId, budget) : undefined;
  if (evaluation?.DeploymentID) {
    const { value } = await readDeployment(nomad, evaluation.DeploymentID, { signal: budget.signal });
    if (value.JobVersion === version) return { deployment: value, evaluated: true };
  }
  const { value: latest } = await readLatestDeployment(nomad, jobId, { signal: budget.signal });
  const mine = latest && latest.JobVersion === version ? latest : undefined;
  return { deployment: mine, evaluated: evaluation !== undefined || !evalId };
}

export interface FollowResult {
  deployment: Deployment;
  /** True when the deployment reached a terminal status within the budget. */
  terminal: boolean;
  /** True when this call promoted the canaries. */
  promoted: boolean;
}

/** Follows a deployment until terminal or the budget ends; with `promote`, promotes healthy canaries. */
export async function followDeployment(
  nomad: NomadHttp,
  start: Deployment,
  budget: Budget,
  options: { promote: boolean },
): Promise<FollowResult> {
  let deployment = start;
  let index: bigint | undefined = BigInt(start.ModifyIndex);
  let promoted = false;
  for (;;) {
    if (!isActiveDeployment(deployment)) return { deployment, terminal: true, promoted };
    if (options.promote && canariesReady(deployment)) {
      promoted = (await tryPromote(nomad, deployment.ID, budget.signal)) || promoted;
    }
    const id = deployment.ID;
    const next: Indexed<Deployment> | undefined = await blockUntilChange(budget, index, (o) => readDeployment(nomad, id, o));
    if (!next) return { deployment, terminal: false, promoted };
    deployment = next.value;
    index = next.index ?? BigInt(next.value.ModifyIndex);
  }
}

/** A promotion that loses a race (canary turned unhealthy, deployment ended) is not an error of the caller. */
async function tryPromote(nomad: NomadHttp, deploymentId: string, signal: AbortSignal): Promise<boolean> {
  try {
    await promoteDeployment(nomad, deploymentId, { signal });
    return true;
  } catch (err) {
    if (err instanceof ProviderError && err.code === Code.FailedPrecondition) return false;
    throw err;
  }
}
