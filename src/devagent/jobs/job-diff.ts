// Nomad's JobDiff (structs/diff.go) between two stored job versions, as GET /v1/job/:id/versions?diffs=true serves
// it: the job's, each group's and each task's primitive fields as FieldDiffs (Old/New rendered as Go prints them),
// nested blocks as ObjectDiffs ("Update", "RestartPolicy", "Config", "Resources", one "Service" per service, ...)
// that list every field of a changed block, unchanged ones as "None" (the endpoint asks for a contextual diff).
// Lists of blocks are matched by name where they have one (services, networks' ports, volumes), else by content,
// which is what Nomad does with its hashes. Empty lists are null, as Go's nil slices encode.

import { isDeepStrictEqual } from "node:util";
import type { Json } from "../state/state-store.js";

export type DiffType = "None" | "Added" | "Deleted" | "Edited";

export interface FieldDiff {
  Type: DiffType;
  Name: string;
  Old: string;
  New: string;
  Annotations: string[] | null;
}

export interface ObjectDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
}

export interface TaskDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  Annotations: string[] | null;
}

export interface TaskGroupDiff {
  Type: DiffType;
  Name: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  Tasks: TaskDiff[] | null;
  Updates: Record<string, number> | null;
}

export interface JobDiff {
  Type: DiffType;
  ID: string;
  Fields: FieldDiff[] | null;
  Objects: ObjectDiff[] | null;
  TaskGroups: TaskGroupDiff[] | null;
}

type Flat = Record<string, string>;

/** Job fields Nomad leaves out of a diff: they change with every version. */
const jobIgnored = new Set(["ID", "Status", "StatusDescription", "Version", "Stable", "CreateIndex", "ModifyIndex", "JobModifyIndex", "Update", "SubmitTime", "NomadTokenID", "VaultToken", "TaskGroups"]);
/** Maps of strings that diff as fields ("Meta[owner]"), not as objects. */
const stringMaps = new Set(["Meta", "Env"]);
/** Group fields that are Go pointers to durations: diffed as fields, "" when unset. */
const groupDurationPointers = ["ShutdownDelay", "StopAfterClientDisconnect", "MaxClientDisconnect"];
/** Nomad's names for the objects of a list field. */
const objectNames: Record<string, string> = {
  Constraints: "Constraint",
  Affinities: "Affinity",
  Spreads: "Spread",
  Networks: "Network",
  Services: "Service",
  Checks: "Check",
  Templates: "Template",
  Artifacts: "Artifact",
  DynamicPorts: "Dynamic Port",
  ReservedPorts: "Static Port",
  Devices: "Device",
  Volumes: "Volume",
  VolumeMounts: "VolumeMount",
  ScalingPolicies: "ScalingPolicy",
};
const stringSets = new Set(["Datacenters", "Tags", "CanaryTags", "Args", "Capabilities"]);

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isPrimitive = (v: unknown) => typeof v === "string" || typeof v === "number" || typeof v === "boolean";

/** A value as Go's %v prints it. */
function goValue(v: unknown): string {
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v).toString();
  return String(v);
}

/** The primitive fields of a struct (and string maps as "Key[k]"), like flatmap.Flatten(obj, filter, true). */
function primitives(obj: Json | null | undefined, skip: Set<string> = new Set()): Flat | undefined {
  if (!isObject(obj)) return undefined;
  const out: Flat = {};
  for (const [k, v] of Object.entries(obj)) {
    if (skip.has(k)) continue;
    if (isPrimitive(v)) out[k] = goValue(v);
    else if (stringMaps.has(k) && isObject(v)) {
      for (const [mk, mv] of Object.entries(v)) if (isPrimitive(mv)) out[`${k}[${mk}]`] = goValue(mv);
    }
  }
  return out;
}

/** Every leaf of a free-form map (a task's Config), like flatmap.Flatten(obj, nil, false). */
function leaves(v: unknown, prefix: string, out: Flat): Flat {
  if (v === null || v === undefined) out[prefix] = "nil";
  else if (Array.isArray(v)) v.forEach((x, i) => leaves(x, `${prefix}[${i}]`, out));
  else if (isObject(v)) for (const [k, x] of Object.entries(v)) leaves(x, prefix ? `${prefix}[${k}]` : k, out);
  else out[prefix] = goValue(v);
  return out;
}

function fieldDiff(old: string, now: string, name: string, contextual: boolean): FieldDiff | undefined {
  if (old === now) return contextual ? { Type: "None", Name: name, Old: old, New: now, Annotations: null } : undefined;
  const type: DiffType = old === "" ? "Added" : now === "" ? "Deleted" : "Edited";
  return { Type: type, Name: name, Old: old, New: now, Annotations: null };
}

function fieldDiffs(old: Flat | undefined, now: Flat | undefined, contextual: boolean): FieldDiff[] {
  const names = new Set([...Object.keys(old ?? {}), ...Object.keys(now ?? {})]);
  const out: FieldDiff[] = [];
  for (const name of names) {
    const d = fieldDiff(old?.[name] ?? "", now?.[name] ?? "", name, contextual);
    if (d) out.push(d);
  }
  return out.sort((a, b) => cmp(a.Name, b.Name) || cmp(a.Old, b.Old) || cmp(a.New, b.New));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const typeRank: Record<DiffType, number> = { Edited: 0, Added: 1, Deleted: 2, None: 3 };

function sortObjects(list: ObjectDiff[]): ObjectDiff[] {
  return list.sort((a, b) => cmp(a.Name, b.Name) || typeRank[a.Type] - typeRank[b.Type] || (a.Fields?.length ?? 0) - (b.Fields?.length ?? 0));
}

const orNull = <T>(list: T[]): T[] | null => (list.length ? list : null);

/** Type of a block from the types of its fields, as primitiveObjectDiff decides it. */
function typeFromFields(fields: FieldDiff[]): DiffType | undefined {
  const has = (t: DiffType) => fields.some((f) => f.Type === t);
  if (has("Edited") || (has("Added") && has("Deleted"))) return "Edited";
  if (has("Added")) return "Added";
  if (has("Deleted")) return "Deleted";
  return undefined;
}

/** A nested block: its primitive fields and, recursively, its own blocks. undefined when nothing changed. */
function blockDiff(old: Json | null | undefined, now: Json | null | undefined, name: string, skip: Set<string> = new Set()): ObjectDiff | undefined {
  if (isDeepStrictEqual(old ?? null, now ?? null)) return undefined;
  const type: DiffType = !isObject(old) ? "Added" : !isObject(now) ? "Deleted" : "Edited";
  const fields = fieldDiffs(primitives(old, skip), primitives(now, skip), true);
  const objects = nestedDiffs(isObject(old) ? old : {}, isObject(now) ? now : {}, skip);
  if (type === "Edited" && !objects.length && !typeFromFields(fields)) return undefined;
  return { Type: type, Name: name, Fields: orNull(fields), Objects: orNull(objects) };
}

function stringSetDiff(old: unknown, now: unknown, name: string): ObjectDiff | undefined {
  const a = new Set((Array.isArray(old) ? old : []).map(String));
  const b = new Set((Array.isArray(now) ? now : []).map(String));
  const fields: FieldDiff[] = [];
  for (const v of a) fields.push(fieldDiff(v, b.has(v) ? v : "", name, true)!);
  for (const v of b) if (!a.has(v)) fields.push(fieldDiff("", v, name, true)!);
  if (!fields.length) return undefined;
  fields.sort((x, y) => cmp(x.Old, y.Old) || cmp(x.New, y.New));
  const type = typeFromFields(fields) ?? "None";
  return { Type: type, Name: name, Fields: fields, Objects: null };
}

/** Blocks of a list (or a map of named blocks), matched by Name/Label, else by content. */
function setDiff(old: unknown, now: unknown, name: string): ObjectDiff[] {
  const keyed = (v: unknown): Map<string, Json> => {
    const m = new Map<string, Json>();
    const items: [string | undefined, unknown][] = Array.isArray(v) ? v.map((x) => [undefined, x]) : isObject(v) ? Object.entries(v) : [];
    for (const [mapKey, item] of items) {
      if (!isObject(item)) continue;
      const id = mapKey ?? (typeof item.Name === "string" && item.Name ? item.Name : typeof item.Label === "string" && item.Label ? item.Label : JSON.stringify(item));
      m.set(id, item);
    }
    return m;
  };
  const a = keyed(old);
  const b = keyed(now);
  const out: ObjectDiff[] = [];
  for (const [k, v] of a) {
    const d = blockDiff(v, b.get(k), name);
    if (d) out.push(d);
  }
  for (const [k, v] of b) {
    if (a.has(k)) continue;
    const d = blockDiff(undefined, v, name);
    if (d) out.push(d);
  }
  return sortObjects(out);
}

/** Diffs of every non-primitive field of two structs (the blocks nested in them). */
function nestedDiffs(old: Json, now: Json, skip: Set<string>): ObjectDiff[] {
  const out: ObjectDiff[] = [];
  for (const key of new Set([...Object.keys(old), ...Object.keys(now)])) {
    if (skip.has(key) || stringMaps.has(key)) continue;
    const a = old[key];
    const b = now[key];
    if (isPrimitive(a) || isPrimitive(b)) continue;
    if (stringSets.has(key)) {
      const d = stringSetDiff(a, b, key);
      if (d && d.Type !== "None") out.push(d);
    } else if (Array.isArray(a) || Array.isArray(b) || key in objectNames) {
      out.push(...setDiff(a, b, objectNames[key] ?? key));
    } else {
      const d = blockDiff(a, b, key);
      if (d) out.push(d);
    }
  }
  return sortObjects(out);
}

function taskDiff(old: Json | undefined, now: Json | undefined): TaskDiff {
  const name = String((now ?? old)!.Name);
  const skip = new Set(["Name", "Config"]);
  const type: DiffType = !old ? "Added" : !now ? "Deleted" : isDeepStrictEqual(old, now) ? "None" : "Edited";
  const fields = fieldDiffs(primitives(old, skip), primitives(now, skip), false);
  const objects = nestedDiffs(old ?? {}, now ?? {}, skip);
  if (!isDeepStrictEqual(old?.Config ?? null, now?.Config ?? null)) {
    const config = fieldDiffs(old?.Config ? leaves(old.Config, "", {}) : undefined, now?.Config ? leaves(now.Config, "", {}) : undefined, true);
    const configType: DiffType = !old?.Config || !Object.keys(old.Config).length ? "Added" : !now?.Config || !Object.keys(now.Config).length ? "Deleted" : "Edited";
    objects.push({ Type: configType, Name: "Config", Fields: orNull(config), Objects: null });
    sortObjects(objects);
  }
  return { Type: type, Name: name, Fields: orNull(fields), Objects: orNull(objects), Annotations: null };
}

function byName<T extends Json>(list: unknown): Map<string, T> {
  return new Map((Array.isArray(list) ? list : []).filter(isObject).map((x) => [String(x.Name), x as T]));
}

function pairs<T extends Json, R>(old: unknown, now: unknown, diff: (a: T | undefined, b: T | undefined) => R): R[] {
  const a = byName<T>(old);
  const b = byName<T>(now);
  const names = [...new Set([...a.keys(), ...b.keys()])].sort(cmp);
  return names.map((n) => diff(a.get(n), b.get(n)));
}

function groupDiff(old: Json | undefined, now: Json | undefined): TaskGroupDiff {
  const name = String((now ?? old)!.Name);
  const skip = new Set(["Name", "Tasks", ...groupDurationPointers]);
  const type: DiffType = !old ? "Added" : !now ? "Deleted" : isDeepStrictEqual(old, now) ? "None" : "Edited";
  const oldFlat = primitives(old, skip);
  const newFlat = primitives(now, skip);
  if (oldFlat && newFlat) {
    for (const k of groupDurationPointers) {
      oldFlat[k] = typeof old![k] === "number" ? goValue(old![k]) : "";
      newFlat[k] = typeof now![k] === "number" ? goValue(now![k]) : "";
    }
  }
  const objects = nestedDiffs(old ?? {}, now ?? {}, new Set([...skip, "Update"]));
  // Stagger is a leftover of an old update stanza that Nomad leaves out.
  const update = blockDiff(old?.Update, now?.Update, "Update", new Set(["Stagger"]));
  const allObjects = update ? sortObjects([...objects, update]) : objects;
  return {
    Type: type,
    Name: name,
    Fields: orNull(fieldDiffs(oldFlat, newFlat, false)),
    Objects: orNull(allObjects),
    Tasks: orNull(pairs(old?.Tasks, now?.Tasks, taskDiff)),
    Updates: null,
  };
}

/** The diff from job version `old` to version `now` of the same job (Nomad: old.Diff(new, contextual=true)). */
export function jobDiff(old: Json, now: Json): JobDiff {
  const fields = fieldDiffs(primitives(old, jobIgnored), primitives(now, jobIgnored), false);
  const objects = nestedDiffs(old, now, jobIgnored);
  const groups = pairs(old.TaskGroups, now.TaskGroups, groupDiff);
  const changed = fields.some((f) => f.Type !== "None") || objects.some((o) => o.Type !== "None") || groups.some((g) => g.Type !== "None");
  return { Type: changed ? "Edited" : "None", ID: String(now.ID), Fields: orNull(fields), Objects: orNull(objects), TaskGroups: orNull(groups) };
}

/** Diffs of consecutive versions, newest first (versions[i+1] -> versions[i]); null with fewer than two versions. */
export function versionDiffs(versionsNewestFirst: Json[]): JobDiff[] | null {
  const out: JobDiff[] = [];
  for (let i = 0; i + 1 < versionsNewestFirst.length; i++) out.push(jobDiff(versionsNewestFirst[i + 1]!, versionsNewestFirst[i]!));
  return orNull(out);
}

/** Per group counts of a plan (Nomad's DesiredUpdates), as Annotate reads them. */
type PlanCounts = Record<string, { Ignore: number; Place: number; Migrate: number; Stop: number; Canary: number; InPlaceUpdate: number; DestructiveUpdate: number }>;

/**
 * Nomad's scheduler.Annotate for a plan's diff: each group's Updates map (non-zero counts by update type), the Count
 * field's "forces create"/"forces destroy", and each changed task's "forces create/destroy update" or "forces in-place
 * update" (only KillTimeout, services, constraints, affinities and spreads change in place).
 */
export function annotatePlanDiff(diff: JobDiff, desired: PlanCounts): void {
  for (const g of diff.TaskGroups ?? []) {
    const u = desired[g.Name];
    if (u) {
      const updates: Record<string, number> = {};
      const add = (key: string, n: number) => {
        if (n) updates[key] = n;
      };
      add("ignore", u.Ignore);
      add("create", u.Place);
      add("migrate", u.Migrate);
      add("destroy", u.Stop);
      add("canary", u.Canary);
      add("in-place update", u.InPlaceUpdate);
      add("create/destroy update", u.DestructiveUpdate);
      g.Updates = updates;
    }
    const count = g.Fields?.find((f) => f.Name === "Count");
    if (count) {
      const [o, n] = [Number(count.Old || 0), Number(count.New || 0)];
      if (o !== n) count.Annotations = [...(count.Annotations ?? []), o < n ? "forces create" : "forces destroy"];
    }
    for (const t of g.Tasks ?? []) {
      if (t.Type === "None") continue;
      if ((g.Type === "Added" || g.Type === "Deleted") && (t.Type === "Added" || t.Type === "Deleted")) {
        t.Annotations = [...(t.Annotations ?? []), t.Type === "Added" ? "forces create" : "forces destroy"];
        continue;
      }
      const inPlaceObjects = new Set(["Service", "Constraint", "Affinity", "Spread"]);
      const destructive =
        (t.Fields ?? []).some((f) => f.Type !== "None" && f.Name !== "KillTimeout") ||
        (t.Objects ?? []).some(
          (o) => o.Type !== "None" && !inPlaceObjects.has(o.Name) && (o.Name !== "LogConfig" || (o.Fields ?? []).some((f) => f.Name === "Disabled" && f.Type !== "None")),
        );
      t.Annotations = [...(t.Annotations ?? []), destructive ? "forces create/destroy update" : "forces in-place update"];
    }
  }
}
