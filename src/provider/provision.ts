// Provision: validate, build the job, create it atomically (EnforceIndex with JobModifyIndex 0: an existing job,
// maybe another tenant's, is never overwritten), then wait within the call's deadline for the allocations to be
// placed and running. Endpoints come only from allocations Nomad really placed.

import { InstanceState, type ProvisionRequest, type ProvisionResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProvisionResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import { findJob, registerJob } from "../nomad/jobs.js";
import type { Job, JobRegisterResponse } from "../nomad/types.js";
import { removeSecrets, writeSecrets } from "./secrets.js";
import type { ProviderDeps } from "./provider-deps.js";
import { validateProvisionRequest } from "./validation.js";
import { buildJob } from "./job-builder.js";
import { waitUntil } from "./call-budget.js";
import { waitForInstance } from "./wait-for.js";
import { processedEvaluation } from "./placement-outcome.js";

/** Without a deadline Provision waits this long for placement before answering PROVISIONING. */
const defaultWaitMs = 30_000;

export type ProvisionResult = MessageInitShape<typeof ProvisionResponseSchema>;

export async function provision(deps: ProviderDeps, req: ProvisionRequest, ctx: CallContext): Promise<ProvisionResult> {
  validateProvisionRequest(req);
  const { nomad } = deps;
  const job = buildJob(req, { region: nomad.region, namespace: nomad.namespace, settings: deps.settings });
  const registered = await registerWithSecrets(deps, req, job, ctx);
  deps.log.info("job registered", { job_id: job.ID, eval_id: registered.EvalID, tenant: req.tenantId });

  const metadata: Record<string, string> = {
    "nomad.namespace": nomad.namespace,
    ...(nomad.region ? { "nomad.region": nomad.region } : {}),
    "nomad.eval_id": registered.EvalID,
    "nomad.job_modify_index": String(registered.JobModifyIndex),
  };
  const response: ProvisionResult = {
    providerRef: job.ID,
    serviceRefs: Object.fromEntries(req.services.map((s) => [s.name, s.name])),
    metadata,
    state: InstanceState.PROVISIONING,
  };
  try {
    const { snapshot } = await waitForInstance(
      nomad,
      job.ID,
      // Nomad will not place what it blocked until capacity changes: no point in waiting out the deadline.
      (s) => s.status.state === InstanceState.RUNNING || s.status.state === InstanceState.FAILED || s.placementBlocked !== "",
      { signal: ctx.signal, until: await evaluated(deps, registered.EvalID, waitUntil(ctx, defaultWaitMs), ctx.signal) },
    );
    const { status } = snapshot;
    metadata["nomad.job_version"] = String(snapshot.job.Version ?? 0);
    response.endpoints = status.endpoints;
    if (status.state === InstanceState.RUNNING || status.state === InstanceState.FAILED) response.state = status.state;
    if (status.message) metadata["ctrlplane.message"] = status.message;
  } catch (err) {
    // The job exists now; a failure while watching it converge is not a failed Provision.
    if (ctx.signal.aborted) throw err;
    deps.log.warn("provision: waiting for placement failed", { job_id: job.ID, error: err });
    metadata["ctrlplane.message"] = `job registered; status unknown: ${(err as Error).message}`;
  }
  return response;
}

/**
 * Secrets are written before the job exists, so its tasks find them at their first start; a registration that
 * fails takes them away again (unless the job turns out to exist after all), so nothing is left half-created.
 */
async function registerWithSecrets(deps: ProviderDeps, req: ProvisionRequest, job: Job, ctx: CallContext): Promise<JobRegisterResponse> {
  const { nomad, log } = deps;
  if (!req.services.some((s) => s.secrets.length > 0)) return registerJob(nomad, job, { enforceIndex: 0, signal: ctx.signal });
  // Another tenant's job may own this ID: its variables must not even be touched.
  if (await findJob(nomad, job.ID, { signal: ctx.signal })) throw new ProviderError(Code.AlreadyExists, `job ${job.ID} already exists`);
  const written = await writeSecrets(nomad, job.ID, req.services, ctx.signal, log);
  log.info("secret variables written", { job_id: job.ID, variables: written.map((w) => w.path) });
  try {
    return await registerJob(nomad, job, { enforceIndex: 0, signal: ctx.signal });
  } catch (err) {
    if (!(await jobMayExist(nomad, job.ID, err))) await removeSecrets(nomad, written, log);
    else log.warn("registration outcome unknown; secret variables kept for the job", { job_id: job.ID });
    throw err;
  }
}

/**
 * Waits (blocking query) until the registration's evaluation is processed, so a blocked placement is seen at once
 * rather than at the deadline; returns the deadline for the rest of the wait.
 */
async function evaluated(deps: ProviderDeps, evalId: string, until: number, signal: AbortSignal): Promise<number> {
  await processedEvaluation(deps, evalId, until, signal);
  return until;
}

/** After a failed register: did the job get created anyway (the answer was lost), or can we not tell? */
async function jobMayExist(nomad: ProviderDeps["nomad"], jobId: string, err: unknown): Promise<boolean> {
  const definite = err instanceof ProviderError && [Code.InvalidArgument, Code.AlreadyExists, Code.PermissionDenied, Code.Aborted].includes(err.code);
  if (definite) return false;
  try {
    return (await findJob(nomad, jobId, { signal: AbortSignal.timeout(5_000) })) !== undefined;
  } catch {
    return true;
  }
}

export type { ProvisionResponse };
