// PromoteDeployment and FailDeployment: the host's manual controls over a running release. Without an explicit
// deployment_id they act on the instance's active deployment; a deployment of another job is NOT_FOUND for this
// instance, never touched. Both are safe to retry: a deployment that is already promoted (or finished successfully)
// answers its state to a Promote, one that already failed answers its state to a Fail, with no second write.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  FailDeploymentRequest,
  FailDeploymentResponseSchema,
  PromoteDeploymentRequest,
  PromoteDeploymentResponseSchema,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import { failDeployment, isActiveDeployment, promoteDeployment, readDeployment, readLatestDeployment } from "../nomad/deployments.js";
import { readJobVersions } from "../nomad/job-versions.js";
import type { Deployment } from "../nomad/types.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdFor } from "./instance-id.js";
import { deploymentMessage } from "./release-status.js";
import { awaitEvaluation } from "./deployment-follow.js";
import { waitUntil } from "./call-budget.js";

type Control = MessageInitShape<typeof PromoteDeploymentResponseSchema> & MessageInitShape<typeof FailDeploymentResponseSchema>;

/** Whether a deployment already is where a Promote or a Fail would take it (a retry after a lost answer). */
function alreadyDone(d: Deployment, action: "promote" | "fail"): boolean {
  if (action === "fail") return d.Status === "failed";
  // Only a canary deployment can have been promoted; a rolling one has nothing a Promote could have done.
  const groups = Object.values(d.TaskGroups ?? {}).filter((g) => (g.DesiredCanaries ?? 0) > 0);
  const promoted = groups.length > 0 && groups.every((g) => g.Promoted === true);
  return promoted && (d.Status === "successful" || isActiveDeployment(d));
}

/**
 * The deployment a control call acts on: the named one (it must belong to the instance) or the active one — or,
 * when none is active, the latest one if it already is where the call would take it.
 */
async function targetDeployment(
  nomad: NomadHttp,
  instanceId: string,
  deploymentId: string,
  action: "promote" | "fail",
  signal: AbortSignal,
): Promise<Deployment> {
  const jobId = jobIdFor(instanceId);
  if (deploymentId) {
    const { value } = await readDeployment(nomad, deploymentId, { signal });
    if (value.JobID !== jobId) {
      throw new ProviderError(Code.NotFound, `deployment ${deploymentId} does not belong to instance ${instanceId}`, { field: "deployment_id" });
    }
    return value;
  }
  const { value: latest } = await readLatestDeployment(nomad, jobId, { signal });
  if (latest && alreadyDone(latest, action)) return latest;
  if (!latest || !isActiveDeployment(latest)) {
    const last = latest ? ` (the latest, ${latest.ID}, is ${latest.Status})` : "";
    throw new ProviderError(Code.FailedPrecondition, `instance ${instanceId} has no active deployment${last}`);
  }
  return latest;
}

/** After a control write, the deployment as Nomad then describes it (once the write's evaluation ran). */
async function settled(deps: ProviderDeps, jobId: string, d: Deployment, evalId: string | undefined, ctx: CallContext): Promise<Control> {
  if (evalId) await awaitEvaluation(deps.nomad, evalId, { signal: ctx.signal, until: waitUntil(ctx, 5_000) });
  const { value } = await readDeployment(deps.nomad, d.ID, { signal: ctx.signal });
  const { value: versions } = await readJobVersions(deps.nomad, jobId, { signal: ctx.signal });
  return { deploymentId: value.ID, status: value.Status, message: deploymentMessage(value, versions) };
}

export async function promote(deps: ProviderDeps, req: PromoteDeploymentRequest, ctx: CallContext): Promise<Control> {
  const d = await targetDeployment(deps.nomad, req.instanceId, req.deploymentId, "promote", ctx.signal);
  if (alreadyDone(d, "promote")) {
    const answer = await settled(deps, d.JobID, d, undefined, ctx);
    return { ...answer, message: `canaries already promoted; ${answer.message}` };
  }
  const res = await promoteDeployment(deps.nomad, d.ID, { signal: ctx.signal });
  deps.log.info("deployment promoted", { job_id: d.JobID, deployment_id: d.ID });
  const answer = await settled(deps, d.JobID, d, res.EvalID, ctx);
  return { ...answer, message: `canaries promoted; ${answer.message}` };
}

export async function fail(deps: ProviderDeps, req: FailDeploymentRequest, ctx: CallContext): Promise<Control> {
  const d = await targetDeployment(deps.nomad, req.instanceId, req.deploymentId, "fail", ctx.signal);
  if (alreadyDone(d, "fail")) return settled(deps, d.JobID, d, undefined, ctx);
  const res = await failDeployment(deps.nomad, d.ID, { signal: ctx.signal });
  deps.log.info("deployment marked failed", { job_id: d.JobID, deployment_id: d.ID, reverted_to: res.RevertedJobVersion ?? undefined });
  return settled(deps, d.JobID, d, res.EvalID, ctx);
}
