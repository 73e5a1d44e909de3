// Typed calls of Nomad's Variables API (/v1/var/:path, /v1/vars). Variables carry secret values, so nothing that
// could hold one leaves this module: conflicts are reported by metadata only, and any error whose text came from
// a response body that may hold Items is replaced by its status alone.

import type { NomadHttp } from "./nomad-http.js";
import type { CallOptions } from "./jobs.js";
import { ProviderError } from "../errors.js";

export interface VariableMetadata {
  Namespace: string;
  Path: string;
  CreateIndex: number;
  CreateTime: number;
  ModifyIndex: number;
  ModifyTime: number;
}

/** A write or delete either applied (at `index`) or lost a check-and-set to the variable described by `conflict`. */
export type VariableWrite = { ok: true; index: number } | { ok: false; conflict: VariableMetadata };

const varPath = (path: string) => `/v1/var/${path.split("/").map(encodeURIComponent).join("/")}`;

function metadataOf(body: unknown): VariableMetadata {
  const b = (body ?? {}) as Partial<VariableMetadata>;
  return {
    Namespace: b.Namespace ?? "",
    Path: b.Path ?? "",
    CreateIndex: b.CreateIndex ?? 0,
    CreateTime: b.CreateTime ?? 0,
    ModifyIndex: b.ModifyIndex ?? 0,
    ModifyTime: b.ModifyTime ?? 0,
  };
}

/**
 * Error texts of variable calls are Nomad's plain-text errors (no values), except where the transport quotes a
 * response body it could not parse: that body may be a variable, so only the status survives.
 */
function withoutBody(err: unknown, what: string): unknown {
  if (!(err instanceof ProviderError) || !/malformed JSON/.test(err.message)) return err;
  return new ProviderError(err.code, `nomad: ${what}: malformed answer (body withheld: it may hold secret values)`, { httpStatus: err.httpStatus });
}

/** PUT /v1/var/:path. `cas` = 0 creates only when absent; n updates only when ModifyIndex is still n. */
export async function putVariable(
  nomad: NomadHttp,
  path: string,
  items: Record<string, string>,
  options: CallOptions & { cas?: number } = {},
): Promise<VariableWrite> {
  const what = `write variable ${path}`;
  try {
    const res = await nomad.request<unknown>("PUT", varPath(path), {
      body: { Namespace: nomad.namespace, Path: path, Items: items },
      query: { cas: options.cas },
      signal: options.signal,
      what,
      acceptStatus: [409],
    });
    if (res.status === 409) return { ok: false, conflict: metadataOf(res.body) };
    return { ok: true, index: metadataOf(res.body).ModifyIndex };
  } catch (err) {
    throw withoutBody(err, what);
  }
}

/** DELETE /v1/var/:path. An absent variable is deleted already; `cas` deletes only at that ModifyIndex. */
export async function deleteVariable(nomad: NomadHttp, path: string, options: CallOptions & { cas?: number } = {}): Promise<VariableWrite> {
  const what = `delete variable ${path}`;
  try {
    const res = await nomad.request<unknown>("DELETE", varPath(path), {
      query: { cas: options.cas },
      signal: options.signal,
      what,
      acceptStatus: [409],
    });
    if (res.status === 409) return { ok: false, conflict: metadataOf(res.body) };
    return { ok: true, index: Number(res.index ?? 0n) };
  } catch (err) {
    throw withoutBody(err, what);
  }
}

/** GET /v1/vars?prefix= — metadata only (Nomad never lists Items). */
export async function listVariables(nomad: NomadHttp, prefix: string, options: CallOptions = {}): Promise<VariableMetadata[]> {
  const res = await nomad.request<unknown[] | null>("GET", "/v1/vars", {
    query: { prefix },
    signal: options.signal,
    what: `list variables under ${prefix}`,
  });
  return (res.body ?? []).map(metadataOf);
}
