// Rollback: return the instance to the job version that carried a release (job Meta "ctrlplane.release"), with
// Nomad's revert (a copy of that version registered as the next one). EnforcePriorVersion pins the version the
// decision was made on, so a concurrent deploy makes the call ABORTED instead of being reverted blindly. Nomad
// keeps only a limited history of versions, so a release can have aged out: NOT_FOUND then says so.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { RollbackRequest, RollbackResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { defaultTrackedVersions, readJobVersions, revertJob } from "../nomad/job-versions.js";
import { readJob } from "../nomad/jobs.js";
import type { Job } from "../nomad/types.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdFor } from "./instance-id.js";
import { releaseOf, deploymentMessage } from "./release-status.js";
import { waitUntil } from "./call-budget.js";
import { deploymentOfVersion, followDeployment } from "./deployment-follow.js";

const defaultFollowMs = 60_000;

export type RollbackAnswer = MessageInitShape<typeof RollbackResponseSchema>;

/** The newest retained version carrying `release`. `versions` newest first. */
export function versionOfRelease(versions: readonly Job[], release: string): Job | undefined {
  return versions.find((v) => releaseOf(v) === release);
}

export function releaseAgedOut(jobId: string, release: string, versions: readonly Job[]): ProviderError {
  const numbers = versions.map((v) => v.Version ?? 0);
  const retained = numbers.length > 0 ? `versions ${Math.min(...numbers)}-${Math.max(...numbers)}` : "no versions";
  const releases = [...new Set(versions.map(releaseOf).filter((r): r is string => r !== undefined))];
  return new ProviderError(
    Code.NotFound,
    `no retained version of job ${jobId} carries release ${release} (Nomad retains ${retained}` +
      `${releases.length > 0 ? `, releases ${releases.join(", ")}` : ""}). Nomad keeps only the last job_max_versions ` +
      `versions of a job (JobTrackedVersions, ${defaultTrackedVersions} by default), so an older release may have aged out`,
    { field: "release_id" },
  );
}

export async function rollback(deps: ProviderDeps, req: RollbackRequest, ctx: CallContext): Promise<RollbackAnswer> {
  const jobId = jobIdFor(req.instanceId);
  if (!req.releaseId) throw invalidArgument("release_id", "required");
  const { nomad } = deps;
  const { value: versions } = await readJobVersions(nomad, jobId, { signal: ctx.signal });
  const current = versions[0];
  const target = versionOfRelease(versions, req.releaseId);
  if (!current || !target) throw releaseAgedOut(jobId, req.releaseId, versions);
  const currentVersion = current.Version ?? 0;
  const targetVersion = target.Version ?? 0;
  if (targetVersion === currentVersion) {
    return {
      providerRef: jobId,
      revertedToVersion: BigInt(targetVersion),
      jobVersion: BigInt(currentVersion),
      deploymentId: "",
      message: `job version ${currentVersion} already runs release ${req.releaseId}; nothing to revert`,
    };
  }

  const res = await revertJob(nomad, jobId, targetVersion, { enforcePriorVersion: currentVersion, signal: ctx.signal });
  const { value: after } = await readJob(nomad, jobId, { signal: ctx.signal });
  const newVersion = after.Version ?? currentVersion;
  deps.log.info("job reverted", { job_id: jobId, release: req.releaseId, reverted_to: targetVersion, job_version: newVersion });
  const base = `reverted to job version ${targetVersion} (release ${req.releaseId})`;
  if (newVersion === currentVersion) {
    return {
      providerRef: jobId,
      revertedToVersion: BigInt(targetVersion),
      jobVersion: BigInt(newVersion),
      deploymentId: "",
      message: `${base}: its spec equals the current one, so Nomad registered no new version`,
    };
  }

  const budget = { signal: ctx.signal, until: waitUntil(ctx, defaultFollowMs) };
  const { deployment } = await deploymentOfVersion(nomad, jobId, res.EvalID, newVersion, budget);
  let detail = `job version ${newVersion} registered`;
  if (deployment) {
    // A release deployed as canaries reverts with the same canary stanza: promote once healthy, as Deploy would.
    const followed = await followDeployment(nomad, deployment, budget, { promote: true });
    const { value: all } = await readJobVersions(nomad, jobId, { signal: ctx.signal });
    detail = `${detail}; ${deploymentMessage(followed.deployment, all)}`;
  }
  return {
    providerRef: jobId,
    revertedToVersion: BigInt(targetVersion),
    jobVersion: BigInt(newVersion),
    deploymentId: deployment?.ID ?? "",
    message: `${base}; ${detail}`,
  };
}
