// Whether moving an allocation from one job version to another needs a new allocation (Nomad's "destructive update")
// or can be done in place. Count, update/migrate/reschedule policies and placement preferences change in place;
// anything about what runs (tasks, networks, services, volumes, meta, restart policy) replaces the allocation.

import type { Json } from "../state/state-store.js";

const inPlaceGroupKeys = new Set(["Count", "Update", "Migrate", "ReschedulePolicy", "Scaling", "Spreads", "Affinities", "Constraints"]);

function groupSpec(job: Json, name: string): string | undefined {
  const g = job.TaskGroups?.find((x: Json) => x.Name === name);
  if (!g) return undefined;
  const out: Json = {};
  for (const [k, v] of Object.entries(g)) if (!inPlaceGroupKeys.has(k)) out[k] = v;
  return JSON.stringify([out, job.Meta ?? null]);
}

export function destructiveChange(oldJob: Json, newJob: Json, groupName?: string): boolean {
  const names = groupName ? [groupName] : newJob.TaskGroups.map((g: Json) => g.Name);
  return names.some((n: string) => groupSpec(oldJob, n) !== groupSpec(newJob, n));
}
