// What Provision compares on a retry. Nomad fills defaults into every job it stores, so the stored job never equals
// the one we send; instead Provision records in job Meta a digest of the job exactly as it built it. A retry that
// builds the same job (same request, same plugin settings) finds the same digest and leaves the job alone; any
// difference in the spec (images, commands, ports, resources, config file contents...) registers a new version.
// Secret values never enter the job (they live in Nomad Variables), so they are not in the digest either.

import { createHash } from "node:crypto";
import type { Job } from "../nomad/types.js";

export const specDigestKey = "ctrlplane.spec_digest";

/** JSON with object keys sorted, so the digest does not depend on the order the builder set them in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The job with its spec digest in Meta (computed over everything else). */
export function withSpecDigest(job: Job): Job {
  const meta = { ...(job.Meta ?? {}) };
  delete meta[specDigestKey];
  const digest = createHash("sha256").update(canonical({ ...job, Meta: meta })).digest("hex").slice(0, 32);
  return { ...job, Meta: { ...meta, [specDigestKey]: digest } };
}
