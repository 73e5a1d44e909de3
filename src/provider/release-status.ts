// Human-readable release outcomes from Nomad's own records: which release a job version carried, and what a
// failed deployment did (Nomad's auto_revert writes "... - rolling back to job version N" into the deployment's
// status description). Pure functions, shared by Deploy/FailDeployment answers and Status.

import type { Deployment, Job } from "../nomad/types.js";
import { metaKeys } from "./job-builder.js";

/** The release recorded in a job version's Meta, or undefined. */
export function releaseOf(job: Pick<Job, "Meta"> | undefined): string | undefined {
  return job?.Meta?.[metaKeys.release] || undefined;
}

/** The job version Nomad rolled back to after a failed deployment, from its status description. */
export function rollbackVersion(deployment: Pick<Deployment, "Status" | "StatusDescription">): number | undefined {
  if (deployment.Status !== "failed") return undefined;
  const m = /rolling back to job version (\d+)/i.exec(deployment.StatusDescription ?? "");
  return m ? Number(m[1]) : undefined;
}

function versionLabel(version: number, versions: readonly Job[]): string {
  const release = releaseOf(versions.find((v) => v.Version === version));
  return release ? `job version ${version} (release ${release})` : `job version ${version}`;
}

/**
 * One sentence about a deployment: its status and reason, and for a failed one whether Nomad reverted and to
 * which release. `versions` are the job's retained versions (GET /v1/job/:id/versions); missing ones are named
 * by number only.
 */
export function deploymentMessage(deployment: Deployment, versions: readonly Job[]): string {
  const subject = `deployment ${deployment.ID.slice(0, 8)} of ${versionLabel(deployment.JobVersion, versions)}`;
  const reason = (deployment.StatusDescription ?? "").replace(/\s*-\s*rolling back to job version \d+\s*$/i, "");
  const base = `${subject} ${deployment.Status}${reason ? `: ${reason}` : ""}`;
  const target = rollbackVersion(deployment);
  if (target !== undefined) return `${base}; Nomad reverted the instance to ${versionLabel(target, versions)}`;
  if (deployment.Status === "failed" && /no stable job version/i.test(deployment.StatusDescription ?? "")) {
    return `${base}; nothing was reverted (no earlier version had deployed successfully)`;
  }
  return base;
}

/**
 * For Status: when the instance runs a version that Nomad's auto-revert produced, the message that says so.
 * The newest failed deployment that rolled back counts while the job still runs the release it rolled back to
 * and no newer deployment has started a different release. `deployments` newest first.
 */
export function autoRevertNotice(job: Job, deployments: readonly Deployment[], versions: readonly Job[]): string | undefined {
  const failed = deployments.find((d) => rollbackVersion(d) !== undefined);
  if (!failed || (job.Version ?? 0) <= failed.JobVersion) return undefined;
  const target = rollbackVersion(failed)!;
  const targetRelease = releaseOf(versions.find((v) => v.Version === target));
  if (targetRelease !== undefined && targetRelease !== releaseOf(job)) return undefined;
  const newer = deployments.filter((d) => d.CreateIndex > failed.CreateIndex);
  if (newer.some((d) => releaseOf(versions.find((v) => v.Version === d.JobVersion)) !== releaseOf(job))) return undefined;
  return deploymentMessage(failed, versions);
}
