// Status support: when the instance runs a version that Nomad's auto_revert produced after a failed release, the
// status message must say so (and to which release). The deployment list and version history are read only when
// the latest deployment could be part of such a revert, so an ordinary Status costs no extra calls.

import type { NomadHttp } from "../nomad/nomad-http.js";
import type { Deployment, Job } from "../nomad/types.js";
import { listJobDeployments } from "../nomad/deployments.js";
import { readJobVersions } from "../nomad/job-versions.js";
import { autoRevertNotice, rollbackVersion } from "./release-status.js";

/** Whether the latest deployment may belong to an auto-revert: the failed one itself, or a revert's rollout. */
export function mayFollowAutoRevert(job: Job, latest: Deployment | undefined): boolean {
  if (!latest) return false;
  if (rollbackVersion(latest) !== undefined) return true;
  // A revert needs a stable version, a failed one and the copy: at least version 2.
  return latest.JobVersion === job.Version && (job.Version ?? 0) >= 2 && latest.Status !== "failed";
}

/** The auto-revert sentence for Status, or undefined. Reads deployments and versions only when it may apply. */
export async function readAutoRevertNotice(
  nomad: NomadHttp,
  job: Job,
  latest: Deployment | undefined,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (!mayFollowAutoRevert(job, latest)) return undefined;
  const { value: deployments } = await listJobDeployments(nomad, job.ID, { signal });
  if (!deployments.some((d) => rollbackVersion(d) !== undefined && d.JobVersion < (job.Version ?? 0))) return undefined;
  const { value: versions } = await readJobVersions(nomad, job.ID, { signal });
  return autoRevertNotice(job, deployments, versions);
}

/**
 * readAutoRevertNotice with the job's deployments at hand (newest first, as GET /v1/job/:id/deployments lists them):
 * only the version history is read, and only when a revert is in the deployments.
 */
export async function autoRevertNoticeWith(
  nomad: NomadHttp,
  job: Job,
  latest: Deployment | undefined,
  deployments: readonly Deployment[],
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  if (!mayFollowAutoRevert(job, latest)) return undefined;
  if (!deployments.some((d) => rollbackVersion(d) !== undefined && d.JobVersion < (job.Version ?? 0))) return undefined;
  const { value: versions } = await readJobVersions(nomad, job.ID, { signal });
  return autoRevertNotice(job, deployments, versions);
}
