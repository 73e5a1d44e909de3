// Dry runs of Deploy and Scale: the exact job the call would register goes to Nomad's plan (/v1/job/:id/plan with
// its diff), nothing is registered, and Nomad's answer becomes a ChangePreview: per group the desired-update
// annotations, every changed field as a flat list, placement failures in Nomad's words, warnings, and the job modify
// index the preview was made against.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ChangePreviewSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { planJob } from "../nomad/jobs.js";
import { placementReasons } from "../nomad/evaluations.js";
import type { DiffNode, Job, JobPlanResponse } from "../nomad/types.js";
import type { NomadHttp } from "../nomad/nomad-http.js";

export type ChangePreview = MessageInitShape<typeof ChangePreviewSchema>;

/** Nomad's plan of registering `job`, as a preview. */
export async function previewJob(nomad: NomadHttp, job: Job, signal: AbortSignal): Promise<ChangePreview> {
  return previewFromPlan(await planJob(nomad, job, { signal }));
}

export function previewFromPlan(plan: JobPlanResponse): ChangePreview {
  const desired = plan.Annotations?.DesiredTGUpdates ?? {};
  const n = (v: number | undefined) => BigInt(v ?? 0);
  return {
    groups: Object.entries(desired)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([group, u]) => ({
        group,
        place: n(u.Place),
        destroy: n(u.Stop),
        inPlaceUpdate: n(u.InPlaceUpdate),
        destructiveUpdate: n(u.DestructiveUpdate),
        canary: n(u.Canary),
        migrate: n(u.Migrate),
        ignore: n(u.Ignore),
        preemptions: n(u.Preemptions),
      })),
    changes: plan.Diff ? flattenDiff(plan.Diff) : [],
    placementFailures: Object.entries(plan.FailedTGAllocs ?? {}).map(([group, metric]) => ({
      group,
      reasons: placementReasons(metric).length ? placementReasons(metric) : ["no eligible node"],
      unplaced: 1 + (metric.CoalescedFailures ?? 0),
    })),
    warnings: plan.Warnings ?? "",
    jobModifyIndex: BigInt(plan.JobModifyIndex ?? 0),
  };
}

/** Every changed field of a Nomad job diff, depth first: "TaskGroups[g].Tasks[t].Config.image". */
export function flattenDiff(root: DiffNode): { path: string; type: string; oldValue: string; newValue: string }[] {
  const out: { path: string; type: string; oldValue: string; newValue: string }[] = [];
  const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);
  const walk = (node: DiffNode, prefix: string) => {
    for (const f of node.Fields ?? []) {
      if (f.Type !== "None") out.push({ path: join(prefix, f.Name ?? ""), type: f.Type, oldValue: f.Old ?? "", newValue: f.New ?? "" });
    }
    for (const o of node.Objects ?? []) if (o.Type !== "None") walk(o, join(prefix, o.Name ?? ""));
    for (const g of node.TaskGroups ?? []) if (g.Type !== "None") walk(g, join(prefix, `TaskGroups[${g.Name}]`));
    for (const t of node.Tasks ?? []) if (t.Type !== "None") walk(t, join(prefix, `Tasks[${t.Name}]`));
  };
  walk(root, "");
  return out;
}

/** One line for the answer's message: the counts per group that are not zero. */
export function previewSummary(p: ChangePreview): string {
  const parts = (p.groups ?? []).map((g) => {
    const counts = Object.entries({
      place: g.place, destroy: g.destroy, "in-place": g.inPlaceUpdate, destructive: g.destructiveUpdate,
      canary: g.canary, migrate: g.migrate, ignore: g.ignore,
    }).filter(([, v]) => v && v > 0n);
    return `${g.group}: ${counts.map(([k, v]) => `${k} ${v}`).join(", ") || "no change"}`;
  });
  const failed = (p.placementFailures ?? []).map((f) => `cannot place ${f.unplaced} allocation(s) of group ${f.group}: ${(f.reasons ?? []).join(", ")}`);
  return [`dry run, nothing registered: ${parts.join("; ")}`, ...failed].join("; ");
}
