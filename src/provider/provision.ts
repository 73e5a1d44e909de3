// Provision: validate, build the job, bring Nomad to it, then wait within the call's deadline for the allocations to
// be placed and running. Endpoints come only from allocations Nomad really placed.
//
// Provision converges, because ctrlplane's reconcilers call it again after any error (a deadline that expired while
// waiting for placement, a lost answer, a plugin restart): a job this plugin created for the same instance and tenant
// is brought to the request instead of refused. The same spec (by the digest in Meta, provision-digest.ts) leaves a
// running job untouched (no new version) and starts a stopped or dead one again; another spec registers a new version.
// Every register is guarded by the job's modify index, so concurrent Provisions of one instance cannot interleave: the
// loser re-reads and converges. A job that belongs to another instance or tenant is ALREADY_EXISTS and never touched.

import { withTraceOf } from "../trace-context.js";
import { InstanceState, type ProvisionRequest, type ProvisionResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProvisionResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import { findJob, registerJob } from "../nomad/jobs.js";
import { metaKeys } from "./job-builder.js";
import { specDigestKey, withSpecDigest } from "./provision-digest.js";
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
  const job = withSpecDigest(buildJob(req, { region: nomad.region, namespace: nomad.namespace, settings: deps.settings }));
  const outcome = await converge(deps, req, job, ctx);
  deps.log.info(outcome.action === "unchanged" ? "job already as requested" : "job registered", {
    job_id: job.ID,
    action: outcome.action,
    ...(outcome.evalId ? { eval_id: outcome.evalId } : {}),
    tenant: req.tenantId,
  });

  const metadata: Record<string, string> = {
    "nomad.namespace": nomad.namespace,
    ...(nomad.region ? { "nomad.region": nomad.region } : {}),
    ...(outcome.evalId ? { "nomad.eval_id": outcome.evalId } : {}),
    "nomad.job_modify_index": String(outcome.jobModifyIndex),
    "ctrlplane.provision": outcome.action,
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
      {
        signal: ctx.signal,
        until: outcome.evalId
          ? await evaluated(deps, outcome.evalId, waitUntil(ctx, defaultWaitMs), ctx.signal)
          : waitUntil(ctx, defaultWaitMs),
      },
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

interface Converged {
  /** created: no job before; updated: a new spec; started: the same spec, stopped or dead before; unchanged: nothing to do. */
  action: "created" | "updated" | "started" | "unchanged";
  evalId?: string;
  jobModifyIndex: number;
}

/** How often a Provision re-reads and tries again after losing a race to a concurrent write of the same job. */
const convergeAttempts = 3;

async function converge(deps: ProviderDeps, req: ProvisionRequest, job: Job, ctx: CallContext): Promise<Converged> {
  const { nomad } = deps;
  for (let attempt = 1; ; attempt++) {
    const existing = await findJob(nomad, job.ID, { signal: ctx.signal });
    if (existing && !ownedBy(existing, req)) {
      // Another instance's or tenant's job: its spec and variables must not even be touched.
      throw new ProviderError(Code.AlreadyExists, `job ${job.ID} already exists and belongs to another instance or tenant`);
    }
    const sameSpec = existing?.Meta?.[specDigestKey] === job.Meta?.[specDigestKey];
    const running = existing !== undefined && !existing.Stop && existing.Status !== "dead";
    if (existing && sameSpec && running) {
      // Secrets live outside the job: a retry with other values still updates them (tasks re-render their template).
      if (hasSecrets(req)) await writeSecrets(nomad, job.ID, req.services, ctx.signal, deps.log, { removeOnFailure: false });
      return { action: "unchanged", jobModifyIndex: existing.JobModifyIndex ?? 0 };
    }
    try {
      const registered = await registerWithSecrets(deps, req, job, existing, ctx);
      const action = !existing ? "created" : sameSpec ? "started" : "updated";
      return { action, evalId: registered.EvalID, jobModifyIndex: registered.JobModifyIndex };
    } catch (err) {
      const lostRace = err instanceof ProviderError && (err.code === Code.AlreadyExists || err.code === Code.Aborted);
      if (!lostRace) throw err;
      if (attempt >= convergeAttempts) {
        throw new ProviderError(Code.Aborted, `job ${job.ID} keeps changing concurrently (${attempt} attempts); retry`, { cause: err });
      }
      deps.log.debug("provision: the job changed concurrently; re-reading", { job_id: job.ID, attempt });
    }
  }
}

function ownedBy(job: Job, req: ProvisionRequest): boolean {
  return job.Meta?.[metaKeys.instance] === req.instanceId && job.Meta?.[metaKeys.tenant] === req.tenantId;
}

const hasSecrets = (req: ProvisionRequest) => req.services.some((s) => s.secrets.length > 0);

/**
 * Secrets are written before the job is registered, so its tasks find them at their first start. The register is
 * guarded by the modify index of the job we read (0: it must not exist yet). When there was no job and the register
 * fails, the variables go away again (unless the job turns out to exist after all), so nothing is left half-created.
 */
async function registerWithSecrets(
  deps: ProviderDeps,
  req: ProvisionRequest,
  job: Job,
  existing: Job | undefined,
  ctx: CallContext,
): Promise<JobRegisterResponse> {
  const { nomad, log } = deps;
  const enforceIndex = existing?.JobModifyIndex ?? 0;
  if (!hasSecrets(req)) return registerJob(nomad, job, { enforceIndex, signal: ctx.signal });
  const written = await writeSecrets(nomad, job.ID, req.services, ctx.signal, log, { removeOnFailure: !existing });
  log.info("secret variables written", { job_id: job.ID, variables: written.map((w) => w.path) });
  try {
    return await registerJob(nomad, job, { enforceIndex, signal: ctx.signal });
  } catch (err) {
    if (!existing && !(await jobMayExist(nomad, job.ID, err, ctx.signal))) await removeSecrets(nomad, written, log, ctx.signal);
    else log.warn("registration outcome unknown or the job exists; secret variables kept for it", { job_id: job.ID });
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
async function jobMayExist(nomad: ProviderDeps["nomad"], jobId: string, err: unknown, callSignal: AbortSignal): Promise<boolean> {
  const definite = err instanceof ProviderError && [Code.InvalidArgument, Code.AlreadyExists, Code.PermissionDenied, Code.Aborted].includes(err.code);
  if (definite) return false;
  try {
    return (await findJob(nomad, jobId, { signal: withTraceOf(AbortSignal.timeout(5_000), callSignal) })) !== undefined;
  } catch {
    return true;
  }
}

export type { ProvisionResponse };
