// Nomad Variables in the dev agent's store: set, check-and-set and delete with Nomad's rules (nomad/structs/variables.go
// validation, state_store_variables.go CAS semantics). Values are kept in memory only and are never logged.

import { HttpError } from "../http/http-error.js";
import { nowNs } from "./nomad-time.js";
import { jobKey, type Json, type StateStore } from "./state-store.js";

const validPath = /^[a-zA-Z0-9-_~/]{1,128}$/;
const maxItemsBytes = 65536;

/** A variable as Nomad serves it: metadata fields in Go's declaration order, then Items. */
export function variableJson(v: Json, withItems = true): Json {
  const meta = {
    Namespace: v.Namespace,
    Path: v.Path,
    CreateIndex: v.CreateIndex,
    CreateTime: v.CreateTime,
    ModifyIndex: v.ModifyIndex,
    ModifyTime: v.ModifyTime,
  };
  return withItems ? { ...meta, Items: v.Items ?? null } : meta;
}

/** VariableDecrypted.Validate and validatePath; Nomad answers these as RPC errors (HTTP 500). */
function validate(namespace: string, path: string, items: Record<string, string>): void {
  if (namespace === "*") throw new HttpError(500, 'can not target wildcard ("*")namespace');
  if (Object.keys(items).length === 0) throw new HttpError(500, "empty variables are invalid");
  let size = 0;
  for (const [k, v] of Object.entries(items)) size += Buffer.byteLength(k) + Buffer.byteLength(v);
  if (size > maxItemsBytes) throw new HttpError(500, "variables are limited to 64KiB in total size");
  if (!validPath.test(path)) throw new HttpError(500, `invalid path ${JSON.stringify(path)}`);
  const parts = path.split("/");
  if (parts[0] !== "nomad") return;
  if (parts.length === 1) {
    throw new HttpError(500, '"nomad" is a reserved top-level directory path, but you may write variables to "nomad/jobs", "nomad/job-templates", or below');
  }
  if (parts[1] === "jobs" || (parts[1] === "job-templates" && parts.length === 3)) return;
  if (parts[1] === "job-templates") {
    throw new HttpError(500, '"nomad/job-templates" is a reserved directory path, but you may write variables at the level below it, for example, "nomad/job-templates/template-name"');
  }
  throw new HttpError(500, 'only paths at "nomad/jobs" or "nomad/job-templates" and below are valid paths under the top-level "nomad" directory');
}

export type ApplyResult = { ok: true; index: number; variable?: Json } | { ok: false; conflict: Json };

/** The "conflict" Nomad reports when a CAS names an index but nothing exists: only the identity is known. */
function absent(namespace: string, path: string): Json {
  return { Namespace: namespace, Path: path, CreateIndex: 0, CreateTime: 0, ModifyIndex: 0, ModifyTime: 0, Items: null };
}

/** PUT /v1/var/:path: creates or replaces; with `cas` only if ModifyIndex matches (0 = only if absent). */
export function setVariable(store: StateStore, namespace: string, path: string, items: Record<string, string>, cas?: number): ApplyResult {
  validate(namespace, path, items);
  const key = jobKey(namespace, path);
  const existing = store.variables.get(key);
  if (cas !== undefined) {
    if (cas === 0 && existing) return { ok: false, conflict: existing };
    if (cas !== 0 && !existing) return { ok: false, conflict: absent(namespace, path) };
    if (existing && existing.ModifyIndex !== cas) return { ok: false, conflict: existing };
  }
  return store.write((txn) => {
    const now = nowNs();
    const v: Json = {
      Namespace: namespace,
      Path: path,
      CreateIndex: existing?.CreateIndex ?? txn.index,
      CreateTime: existing?.CreateTime ?? now,
      ModifyIndex: txn.index,
      ModifyTime: now,
      Items: { ...items },
    };
    store.variables.set(key, v);
    txn.touch("variables");
    return { ok: true as const, index: txn.index, variable: v };
  });
}

/** DELETE /v1/var/:path: removing an absent variable succeeds; with `cas` only if ModifyIndex matches. */
export function deleteVariable(store: StateStore, namespace: string, path: string, cas?: number): ApplyResult {
  const key = jobKey(namespace, path);
  const existing = store.variables.get(key);
  if (cas !== undefined) {
    if (cas !== 0 && !existing) return { ok: false, conflict: absent(namespace, path) };
    if (existing && existing.ModifyIndex !== cas) return { ok: false, conflict: existing };
  }
  return store.write((txn) => {
    if (store.variables.delete(key)) txn.touch("variables");
    return { ok: true as const, index: txn.index };
  });
}

/** Variables whose path starts with `prefix`, in one namespace or all ("*"), ordered like Nomad's index. */
export function listVariables(store: StateStore, namespace: string, prefix: string): Json[] {
  return [...store.variables.values()]
    .filter((v) => (namespace === "*" || v.Namespace === namespace) && String(v.Path).startsWith(prefix))
    .sort((a, b) => (a.Namespace === b.Namespace ? cmp(a.Path, b.Path) : cmp(a.Namespace, b.Namespace)));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** The variables a task's workload identity may read without any ACL policy (Nomad's implicit policy). */
export function implicitlyReadable(path: string, job: string, group: string, task: string): boolean {
  const base = `nomad/jobs/${job}`;
  return path === base || path === `${base}/${group}` || path === `${base}/${group}/${task}`;
}
