// ServiceSpec.secrets on Nomad: each service's resolved values are written to one Nomad Variable at the task's
// implicit workload-identity path (nomad/jobs/<job>/<group>/<task>), which the task may read without any ACL
// policy, and a template (Envvars=true) turns that variable into environment variables when the task starts.
// The values exist only in the variable: never in the job, its Meta, a log line or an error.

import { withTraceOf } from "../trace-context.js";
import type { ServiceSpec } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Code, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { Job, Template } from "../nomad/types.js";
import { deleteVariable, listVariables, putVariable } from "../nomad/variables.js";
import { taskGroupName } from "./instance-id.js";
import { secretEnvName } from "./validation.js";

/** Where the rendered env file lands (the task's secrets dir, not readable through the fs API). */
export const secretsDestPath = "secrets/ctrlplane.env";

export function secretsVariablePath(jobId: string, task: string): string {
  return `nomad/jobs/${jobId}/${taskGroupName}/${task}`;
}

/** Every secret variable of one instance lives under this prefix (the trailing "/" keeps cp-a apart from cp-ab). */
export function instanceVariablePrefix(jobId: string): string {
  return `nomad/jobs/${jobId}/`;
}

/** Variable items of a service: env variable name -> value. */
export function secretItems(svc: Pick<ServiceSpec, "secrets">): Record<string, string> {
  return Object.fromEntries(svc.secrets.map((s) => [secretEnvName(s.key, s.envKey), s.value]));
}

/**
 * An env-file line per secret. The value is written double-quoted with exactly the escapes Nomad's env-file parser
 * undoes (\\ \" \n \t); validation refuses values with other control characters, which an env file cannot carry.
 */
export function secretsTemplate(jobId: string, svc: Pick<ServiceSpec, "name" | "secrets">): Template {
  const escape = ['replaceAll "\\\\" "\\\\\\\\"', 'replaceAll "\\"" "\\\\\\""', 'replaceAll "\\n" "\\\\n"', 'replaceAll "\\t" "\\\\t"'].join(" | ");
  const lines = Object.keys(secretItems(svc)).map((name) => `${name}="{{ .${name}.Value | ${escape} }}"`);
  return {
    EmbeddedTmpl: `{{ with nomadVar "${secretsVariablePath(jobId, svc.name)}" }}\n${lines.join("\n")}\n{{ end }}\n`,
    DestPath: secretsDestPath,
    ChangeMode: "restart",
    Envvars: true,
  };
}

export interface WrittenSecret {
  path: string;
  /** ModifyIndex of our write: a rollback deletes only what is still ours. */
  index: number;
}

/**
 * Writes the instance's secret variables (creating or replacing them: the paths are the instance's own, and Provision
 * has checked the job is absent or this instance's). removeOnFailure: when one write fails, whatever this call wrote
 * is removed again — for a Provision that creates the instance, never for one that updates a live job's secrets.
 */
export async function writeSecrets(
  nomad: NomadHttp,
  jobId: string,
  services: ServiceSpec[],
  signal: AbortSignal,
  log: Logger,
  options: { removeOnFailure: boolean } = { removeOnFailure: true },
): Promise<WrittenSecret[]> {
  const written: WrittenSecret[] = [];
  try {
    for (const svc of services) {
      if (svc.secrets.length === 0) continue;
      const path = secretsVariablePath(jobId, svc.name);
      const res = await putVariable(nomad, path, secretItems(svc), { signal });
      if (!res.ok) throw new ProviderError(Code.Aborted, `Nomad Variable ${path} changed concurrently; retry`);
      written.push({ path, index: res.index });
    }
    return written;
  } catch (err) {
    if (options.removeOnFailure) await removeSecrets(nomad, written, log, signal);
    throw err;
  }
}

/** Deletes variables this Provision wrote, unless someone changed them since. Never throws: it is cleanup. */
export async function removeSecrets(nomad: NomadHttp, written: WrittenSecret[], log: Logger, callSignal?: AbortSignal): Promise<void> {
  for (const w of written) {
    try {
      // The call's own signal may be the reason we are cleaning up; cleanup gets its own short budget.
      const res = await deleteVariable(nomad, w.path, { cas: w.index, signal: withTraceOf(AbortSignal.timeout(5_000), callSignal) });
      if (!res.ok) log.warn("secret variable changed since provision wrote it; left in place", { path: w.path });
    } catch (err) {
      log.warn("could not delete secret variable; Deprovision removes it", { path: w.path, error: (err as Error).message });
    }
  }
}

/** Paths of the secret variables the job's templates read (what Provision wrote for it). */
function pathsReadBy(job: Job | undefined): string[] {
  const tasks = job?.TaskGroups.flatMap((g) => g.Tasks) ?? [];
  return tasks.filter((t) => (t.Templates ?? []).some((tmpl) => tmpl.DestPath === secretsDestPath)).map((t) => secretsVariablePath(job!.ID, t.Name));
}

/**
 * Deletes every secret variable of the instance: the ones its job reads plus any left under its prefix. A token
 * that may not list variables is fine for an instance whose job reads none.
 */
export async function deleteInstanceSecrets(nomad: NomadHttp, jobId: string, job: Job | undefined, signal: AbortSignal): Promise<number> {
  const paths = new Set(pathsReadBy(job));
  try {
    for (const v of await listVariables(nomad, instanceVariablePrefix(jobId), { signal })) paths.add(v.Path);
  } catch (err) {
    // Without the list capability (or on a Nomad without variables) there is nothing this plugin could have written.
    const unlistable = err instanceof ProviderError && (err.code === Code.PermissionDenied || err.code === Code.NotFound);
    if (!unlistable || paths.size > 0) throw err;
  }
  for (const path of paths) await deleteVariable(nomad, path, { signal });
  return paths.size;
}
