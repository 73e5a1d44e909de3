// Deploy: a release becomes a new version of the instance's job. The full job is read, only the named services
// are patched (release-patch.ts), the strategy becomes the group's update stanza, and the job is registered with
// EnforceIndex at the read JobModifyIndex, so a concurrent change fails (ABORTED) instead of being overwritten.
// Unless no_wait, the call then follows Nomad's deployment until it is terminal or the call's time is up, and
// promotes canaries itself (CANARY) once they are all healthy. The answer carries Nomad's deployment status.
// Safe to retry: a Deploy of the release the job already carries (same release_id, same services) registers nothing
// and answers that version's deployment as the first call would have (following it, unless no_wait).

import { DeployStrategy, type DeployRequest, type DeployResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import { readJob, registerJob } from "../nomad/jobs.js";
import { isActiveDeployment, readDeployment, readLatestDeployment } from "../nomad/deployments.js";
import { readJobVersions } from "../nomad/job-versions.js";
import type { Deployment, Job } from "../nomad/types.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdFor } from "./instance-id.js";
import { patchJobForRelease } from "./release-patch.js";
import { metaKeys } from "./job-builder.js";
import { strategyName } from "./update-strategy.js";
import { waitUntil } from "./call-budget.js";
import { awaitingPromotion, deploymentOfVersion, followDeployment, type Budget } from "./deployment-follow.js";
import { deploymentMessage } from "./release-status.js";
import { previewJob, previewSummary } from "./plan-preview.js";

/** Without a call deadline, Deploy follows the deployment this long before answering "running". */
const defaultFollowMs = 5 * 60_000;

export type DeployAnswer = MessageInitShape<typeof DeployResponseSchema>;

export async function deploy(deps: ProviderDeps, req: DeployRequest, ctx: CallContext): Promise<DeployAnswer> {
  const jobId = jobIdFor(req.instanceId);
  const { nomad } = deps;
  const { value: current } = await readJob(nomad, jobId, { signal: ctx.signal });
  if (current.Stop) {
    throw new ProviderError(Code.FailedPrecondition, `instance ${req.instanceId} is stopped; Start it before deploying`);
  }
  const { job, changed } = patchJobForRelease(current, req);
  const expected = req.expectedJobModifyIndex;
  if (expected > 0n && BigInt(current.JobModifyIndex ?? 0) !== expected) {
    throw new ProviderError(
      Code.Aborted,
      `instance ${req.instanceId} changed since job modify index ${expected} (now ${current.JobModifyIndex ?? 0}); nothing was registered — preview and deploy again`,
    );
  }
  const version = current.Version ?? 0;
  if (req.dryRun) {
    // Nomad's plan of exactly the job the real call registers; nothing is registered.
    const preview = await previewJob(nomad, job, ctx.signal);
    const unchanged = changed ? "" : `; release ${req.releaseId} changes nothing`;
    return { providerRef: jobId, status: "preview", deploymentId: "", jobVersion: BigInt(version), message: previewSummary(preview) + unchanged, preview };
  }
  if (!changed && current.Meta?.[metaKeys.release] === req.releaseId) return answerDeployed(deps, req, jobId, version, ctx);
  if (!changed) {
    return {
      providerRef: jobId,
      status: "unchanged",
      deploymentId: "",
      jobVersion: BigInt(version),
      message: `release ${req.releaseId} changes nothing: job version ${version} already runs these images, env and checks`,
    };
  }

  const { value: prior } = await readLatestDeployment(nomad, jobId, { signal: ctx.signal });
  const registered = await registerJob(nomad, job, { enforceIndex: current.JobModifyIndex ?? 0, signal: ctx.signal }).catch(
    (err: unknown) => {
      throw concurrentChange(err, req.instanceId, current.JobModifyIndex ?? 0);
    },
  );
  const newVersion = await registeredVersion(nomad, jobId, registered.JobModifyIndex, version + 1, ctx.signal);
  deps.log.info("release registered", {
    job_id: jobId,
    release: req.releaseId,
    job_version: newVersion,
    strategy: strategyName(req.strategy),
    eval_id: registered.EvalID,
  });

  const budget: Budget = { signal: ctx.signal, until: waitUntil(ctx, defaultFollowMs) };
  const notes: string[] = [];
  const found = await deploymentOfVersion(nomad, jobId, registered.EvalID, newVersion, budget);
  notes.push(...(await supersededNote(nomad, prior, newVersion, ctx.signal)));
  const answer = (status: string, deploymentId: string, message: string): DeployAnswer => ({
    providerRef: jobId,
    status,
    deploymentId,
    jobVersion: BigInt(newVersion),
    message: [message, ...notes].join("; "),
  });

  if (!found.deployment) {
    return found.evaluated
      ? answer("successful", "", `job version ${newVersion} registered; Nomad needed no deployment (nothing to replace)`)
      : answer("pending", "", `job version ${newVersion} registered; Nomad has not evaluated it yet`);
  }
  if (req.options?.noWait) return answer(found.deployment.Status, found.deployment.ID, await describe(nomad, jobId, found.deployment, ctx));

  const followed = await followDeployment(nomad, found.deployment, budget, { promote: req.strategy === DeployStrategy.CANARY });
  const d = followed.deployment;
  if (followed.promoted) notes.unshift("canaries were healthy and promoted");
  if (!followed.terminal && awaitingPromotion(d)) {
    notes.push("the canaries are waiting for promotion: call PromoteDeployment, or FailDeployment to roll back");
  }
  return answer(d.Status, d.ID, await describe(nomad, jobId, d, ctx));
}

/** A retry of a Deploy that already registered: the deployment of the running version, followed as the first call would. */
async function answerDeployed(deps: ProviderDeps, req: DeployRequest, jobId: string, version: number, ctx: CallContext): Promise<DeployAnswer> {
  const { nomad } = deps;
  const answer = (status: string, deploymentId: string, message: string): DeployAnswer => ({
    providerRef: jobId,
    status,
    deploymentId,
    jobVersion: BigInt(version),
    message: `release ${req.releaseId} is already job version ${version}; ${message}`,
  });
  const { value: latest } = await readLatestDeployment(nomad, jobId, { signal: ctx.signal });
  if (!latest || latest.JobVersion !== version) return answer("successful", "", "Nomad needed no deployment (nothing to replace)");
  if (req.options?.noWait || !isActiveDeployment(latest)) return answer(latest.Status, latest.ID, await describe(nomad, jobId, latest, ctx));
  const budget: Budget = { signal: ctx.signal, until: waitUntil(ctx, defaultFollowMs) };
  const followed = await followDeployment(nomad, latest, budget, { promote: req.strategy === DeployStrategy.CANARY });
  const d = followed.deployment;
  const notes = followed.promoted ? ["canaries were healthy and promoted"] : [];
  if (!followed.terminal && awaitingPromotion(d)) notes.push("the canaries are waiting for promotion: call PromoteDeployment, or FailDeployment to roll back");
  return answer(d.Status, d.ID, [await describe(nomad, jobId, d, ctx), ...notes].join("; "));
}

/** The version number Nomad gave this registration (a concurrent writer may already have registered another). */
async function registeredVersion(nomad: NomadHttp, jobId: string, jobModifyIndex: number, guess: number, signal: AbortSignal): Promise<number> {
  const { value: after } = await readJob(nomad, jobId, { signal });
  if (after.JobModifyIndex === jobModifyIndex) return after.Version ?? guess;
  const { value: versions } = await readJobVersions(nomad, jobId, { signal });
  return versions.find((v) => v.JobModifyIndex === jobModifyIndex)?.Version ?? guess;
}

function concurrentChange(err: unknown, instanceId: string, index: number): unknown {
  if (!(err instanceof ProviderError) || err.code !== Code.Aborted) return err;
  return new ProviderError(
    Code.Aborted,
    `instance ${instanceId} changed while the release was prepared (job modify index is no longer ${index}); nothing was registered — retry the deploy`,
    { cause: err, httpStatus: err.httpStatus },
  );
}

/** Nomad cancels a running deployment when a newer job version registers: say which one. */
async function supersededNote(nomad: NomadHttp, prior: Deployment | undefined, version: number, signal: AbortSignal): Promise<string[]> {
  if (!prior || !isActiveDeployment(prior) || prior.JobVersion >= version) return [];
  const { value: now } = await readDeployment(nomad, prior.ID, { signal });
  const what = `deployment ${prior.ID} of job version ${prior.JobVersion} was still ${prior.Status}`;
  return now.Status === "cancelled"
    ? [`${what}; Nomad cancelled it when job version ${version} registered`]
    : [`${what} (now ${now.Status}${now.StatusDescription ? `: ${now.StatusDescription}` : ""})`];
}

async function describe(nomad: NomadHttp, jobId: string, d: Deployment, ctx: CallContext): Promise<string> {
  let versions: Job[] = [];
  try {
    versions = (await readJobVersions(nomad, jobId, { signal: ctx.signal })).value;
  } catch (err) {
    if (ctx.signal.aborted) throw err;
  }
  return deploymentMessage(d, versions);
}
