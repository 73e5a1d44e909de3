// An instance is one Nomad job named "cp-<instance_id>"; the id must be safe inside a job ID and a URL path.

import { invalidArgument } from "../errors.js";

const instanceIdPattern = /^[A-Za-z0-9_-]{1,120}$/;

/** The one task group every instance job has. */
export const taskGroupName = "workload";

/** Validates an instance id (INVALID_ARGUMENT at `field`) and returns its Nomad job ID. */
export function jobIdFor(instanceId: string, field = "instance_id"): string {
  if (!instanceId) throw invalidArgument(field, "required");
  if (!instanceIdPattern.test(instanceId)) {
    throw invalidArgument(field, "must be 1-120 letters, digits, '_' or '-'");
  }
  return jobIdOf(instanceId);
}

/** What every instance's job ID starts with. */
export const jobIdPrefix = "cp-";

/** The Nomad job ID of an (already validated) instance id. */
export function jobIdOf(instanceId: string): string {
  return `${jobIdPrefix}${instanceId}`;
}
