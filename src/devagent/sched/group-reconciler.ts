// Decides, for one task group of one job, which allocations to stop, which to update in place and which to place:
// a small version of Nomad's reconciler (scheduler/reconcile.go) for a single node. It is pure; the scheduler applies
// the plan. Rolling updates, canaries and blue/green all fall out of the group's deployment state.

import type { Json } from "../state/state-store.js";
import { rescheduleDecision } from "./reschedule-policy.js";

export const descNotNeeded = "alloc not needed due to job update";
export const descUpdating = "alloc is being updated due to job update";
export const descRescheduled = "alloc was rescheduled because it failed";
export const descMigrating = "alloc is being migrated";

export interface Placement {
  index: number;
  canary: boolean;
  previous?: Json;
  /** Set when the placement replaces a failed allocation (RescheduleTracker event delay). */
  rescheduleDelayNs?: number;
}

export interface GroupPlan {
  stops: { alloc: Json; description: string }[];
  inPlace: Json[];
  places: Placement[];
  /** Unix ms when a failed allocation becomes eligible for rescheduling. */
  rescheduleAt?: number;
}

export interface GroupInput {
  job: Json;
  group: Json;
  /** Every allocation of this job's group, terminal ones included. */
  allocs: Json[];
  /** Unpromoted canaries of failed, cancelled or superseded deployments: stopped, never counted. */
  cancelledCanaries: Set<string>;
  /** The active deployment of the current job version, when the group rolls out through one. */
  deployment?: Json;
  /** True when the latest deployment of this version failed: no further destructive updates. */
  deploymentFailed: boolean;
  rolling: boolean;
  now: number;
  destructive(alloc: Json): boolean;
  failedAtMs(alloc: Json): number;
}

export function allocIndex(alloc: Json): number {
  const m = /\[(\d+)\]$/.exec(alloc.Name);
  return m ? Number(m[1]) : 0;
}

const byIndexDesc = (a: Json, b: Json) => allocIndex(b) - allocIndex(a);

export function planGroup(input: GroupInput): GroupPlan {
  const { job, group, deployment } = input;
  const plan: GroupPlan = { stops: [], inPlace: [], places: [] };
  const slotted = collectSlotted(input, plan);
  const state = deployment?.TaskGroups?.[group.Name];
  const isUnpromotedCanary = (a: Json) =>
    !!state && !state.Promoted && a.DeploymentID === deployment!.ID && a.DeploymentStatus?.Canary === true;

  const current: Json[] = [];
  const old: Json[] = [];
  for (const a of slotted) {
    if (a.Job.Version === job.Version && a.Job.JobModifyIndex === job.JobModifyIndex) current.push(a);
    else if (input.destructive(a)) old.push(a);
    else {
      plan.inPlace.push(a);
      current.push(a);
    }
  }
  const canaries = current.filter(isUnpromotedCanary);
  const regular = current.filter((a) => !isUnpromotedCanary(a));
  const count: number = group.Count;
  const used = new Set(slotted.map(allocIndex));
  plan.places.forEach((p) => used.add(p.index));

  // Too many: drop pending placements, then stop old versions, then the highest indexes.
  let excess = regular.length + old.length + plan.places.length - count;
  while (excess > 0 && plan.places.length) plan.places.pop(), excess--;
  for (const a of [...old].sort(byIndexDesc)) {
    if (excess <= 0) break;
    plan.stops.push({ alloc: a, description: descNotNeeded });
    old.splice(old.indexOf(a), 1);
    excess--;
  }
  for (const a of [...regular].sort(byIndexDesc)) {
    if (excess <= 0) break;
    plan.stops.push({ alloc: a, description: descNotNeeded });
    excess--;
  }
  for (const a of excess > 0 ? [...canaries].sort(byIndexDesc).slice(0, excess) : []) {
    plan.stops.push({ alloc: a, description: descNotNeeded });
  }

  // Too few: place the missing ones; max_parallel only limits destructive updates.
  const missing = count - (regular.length + old.length + plan.places.length);
  for (let i = 0; i < missing; i++) plan.places.push({ index: freeIndex(used), canary: false });

  replaceOld(input, plan, { old, canaries, state, count });
  return plan;
}

function collectSlotted(input: GroupInput, plan: GroupPlan): Json[] {
  const slotted: Json[] = [];
  const batch = input.job.Type === "batch" || input.job.Type === "sysbatch";
  for (const a of input.allocs) {
    if (a.DesiredStatus !== "run") continue;
    if (input.cancelledCanaries.has(a.ID)) {
      plan.stops.push({ alloc: a, description: descNotNeeded });
      continue;
    }
    if (a.DesiredTransition?.Migrate && a.ClientStatus !== "failed") {
      plan.stops.push({ alloc: a, description: descMigrating });
      plan.places.push({ index: allocIndex(a), canary: false, previous: a });
      continue;
    }
    if (a.ClientStatus === "failed") {
      if (a.NextAllocation) continue;
      const d = rescheduleDecision(a, input.group.ReschedulePolicy, input.failedAtMs(a));
      if (d.eligible && d.at <= input.now) {
        plan.stops.push({ alloc: a, description: descRescheduled });
        plan.places.push({ index: allocIndex(a), canary: false, previous: a, rescheduleDelayNs: d.delayNs });
        continue;
      }
      if (d.eligible) plan.rescheduleAt = Math.min(plan.rescheduleAt ?? Infinity, d.at);
      slotted.push(a);
      continue;
    }
    if (a.ClientStatus === "complete") {
      if (batch) slotted.push(a);
      continue;
    }
    if (a.ClientStatus === "lost") continue;
    slotted.push(a);
  }
  return slotted;
}

function replaceOld(
  input: GroupInput,
  plan: GroupPlan,
  ctx: { old: Json[]; canaries: Json[]; state: Json | undefined; count: number },
): void {
  const { old, state } = ctx;
  if (!old.length) return;
  const replace = (a: Json) => {
    plan.stops.push({ alloc: a, description: descUpdating });
    plan.places.push({ index: allocIndex(a), canary: false, previous: a });
  };
  if (!input.rolling) {
    old.forEach(replace);
    return;
  }
  if (input.deploymentFailed || !input.deployment || !state) return;
  const sorted = [...old].sort((a, b) => allocIndex(a) - allocIndex(b));
  if (state.DesiredCanaries > 0 && !state.Promoted) {
    const need = state.DesiredCanaries - ctx.canaries.length;
    for (let i = 0; i < need; i++) plan.places.push({ index: allocIndex(sorted[i % sorted.length]!), canary: true });
    return;
  }
  const inFlight = input.allocs.filter(
    (a) => a.DeploymentID === input.deployment!.ID && a.DesiredStatus === "run" && a.DeploymentStatus?.Healthy !== true,
  ).length;
  let budget = input.group.Update.MaxParallel - inFlight - plan.places.length;
  for (const a of sorted) {
    if (budget-- <= 0) break;
    replace(a);
  }
}

function freeIndex(used: Set<number>): number {
  let i = 0;
  while (used.has(i)) i++;
  used.add(i);
  return i;
}
