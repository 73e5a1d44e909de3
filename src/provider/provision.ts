// Provision: validate, build the job, create it atomically (EnforceIndex with JobModifyIndex 0: an existing job,
// maybe another tenant's, is never overwritten), then wait within the call's deadline for the allocations to be
// placed and running. Endpoints come only from allocations Nomad really placed.

import { InstanceState, type ProvisionRequest, type ProvisionResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProvisionResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import { registerJob } from "../nomad/jobs.js";
import type { ProviderDeps } from "./provider-deps.js";
import { validateProvisionRequest } from "./validation.js";
import { buildJob } from "./job-builder.js";
import { waitUntil } from "./call-budget.js";
import { waitForInstance } from "./wait-for.js";

/** Without a deadline Provision waits this long for placement before answering PROVISIONING. */
const defaultWaitMs = 30_000;

export type ProvisionResult = MessageInitShape<typeof ProvisionResponseSchema>;

/** Secrets need Nomad Variables written next to the job; until that exists they are refused, never embedded. */
function refuseSecrets(req: ProvisionRequest): void {
  req.services.forEach((svc, i) => {
    if (svc.secrets.length > 0) {
      throw new ProviderError(
        Code.Unimplemented,
        "secret injection (Nomad Variables + templates) is not implemented by this build; secrets were not stored",
        { field: `services[${i}].secrets` },
      );
    }
  });
}

export async function provision(deps: ProviderDeps, req: ProvisionRequest, ctx: CallContext): Promise<ProvisionResult> {
  validateProvisionRequest(req);
  refuseSecrets(req);
  const { nomad } = deps;
  const job = buildJob(req, { region: nomad.region, namespace: nomad.namespace, settings: deps.settings });
  const registered = await registerJob(nomad, job, { enforceIndex: 0, signal: ctx.signal });
  deps.log.info("job registered", { job_id: job.ID, eval_id: registered.EvalID, tenant: req.tenantId });

  const metadata: Record<string, string> = {
    "nomad.namespace": nomad.namespace,
    "nomad.region": nomad.region,
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
      (s) => s.status.state === InstanceState.RUNNING || s.status.state === InstanceState.FAILED,
      { signal: ctx.signal, until: waitUntil(ctx, defaultWaitMs) },
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

export type { ProvisionResponse };
