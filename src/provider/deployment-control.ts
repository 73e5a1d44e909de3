// PromoteDeployment and FailDeployment: the host's manual controls over a running release. Without an explicit
// deployment_id they act on the instance's active deployment; a deployment of another job is NOT_FOUND for this
// instance, never touched.

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

/** The deployment a control call acts on: the named one (it must belong to the instance) or the active one. */
async function targetDeployment(nomad: NomadHttp, instanceId: string, deploymentId: string, signal: AbortSignal): Promise<Deployment> {
  const jobId = jobIdFor(instanceId);
  if (deploymentId) {
    const { value } = await readDeployment(nomad, deploymentId, { signal });
    if (value.JobID !== jobId) {
      throw new ProviderError(Code.NotFound, `deployment ${deploymentId} does not belong to instance ${instanceId}`, { field: "deployment_id" });
    }
    return value;
  }
  const { value: latest } = await readLatestDeployment(nomad, jobId, { signal });
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
  const d = await targetDeployment(deps.nomad, req.instanceId, req.deploymentId, ctx.signal);
  const res = await promoteDeployment(deps.nomad, d.ID, { signal: ctx.signal });
  deps.log.info("deployment promoted", { job_id: d.JobID, deployment_id: d.ID });
  const answer = await settled(deps, d.JobID, d, res.EvalID, ctx);
  return { ...answer, message: `canaries promoted; ${answer.message}` };
}

export async function fail(deps: ProviderDeps, req: FailDeploymentRequest, ctx: CallContext): Promise<Control> {
  const d = await targetDeployment(deps.nomad, req.instanceId, req.deploymentId, ctx.signal);
  const res = await failDeployment(deps.nomad, d.ID, { signal: ctx.signal });
  deps.log.info("deployment marked failed", { job_id: d.JobID, deployment_id: d.ID, reverted_to: res.RevertedJobVersion ?? undefined });
  return settled(deps, d.JobID, d, res.EvalID, ctx);
}
