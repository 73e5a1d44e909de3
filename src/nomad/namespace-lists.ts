// Namespace-wide list endpoints (GET /v1/jobs, /v1/allocations, /v1/deployments) reduced to what change detection
// needs: which job each row belongs to and the row's ModifyIndex. As blocking queries they let one reader notice
// changes of any number of jobs over three connections, where per-job reads would need three connections per job.

import type { NomadHttp } from "./nomad-http.js";
import { blockingQuery, type Indexed, type ReadOptions } from "./blocking-query.js";
import { jobIdPrefixFilter } from "./filter-expression.js";

/** One row of a list: the job it belongs to and when it last changed. */
export interface ChangeRow {
  jobId: string;
  modifyIndex: number;
}

export type NamespaceList = "jobs" | "allocations" | "deployments";

interface Row {
  ID?: string;
  JobID?: string;
  ModifyIndex?: number;
}

/**
 * GET /v1/<list> in the transport's namespace, as change rows; only the rows of jobs whose ID starts with `jobPrefix`
 * (the servers filter: `prefix` for jobs, a `filter` expression for the others), all rows when it is "".
 */
export async function listChangeRows(
  nomad: NomadHttp,
  list: NamespaceList,
  options: ReadOptions = {},
  jobPrefix = "",
): Promise<Indexed<ChangeRow[]>> {
  // Allocation stubs carry every task's state and events by default; change detection needs none of that.
  const extra: Record<string, string> = list === "allocations" ? { task_states: "false" } : {};
  if (jobPrefix) {
    if (list === "jobs") extra.prefix = jobPrefix;
    else extra.filter = jobIdPrefixFilter(jobPrefix);
  }
  const res = await nomad.request<Row[] | null>("GET", `/v1/${list}`, {
    signal: options.signal,
    query: blockingQuery(options, extra),
    what: `list ${list}`,
  });
  const rows = (res.body ?? []).map((r) => ({
    jobId: (list === "jobs" ? r.ID : r.JobID) ?? "",
    modifyIndex: r.ModifyIndex ?? 0,
  }));
  return { value: rows, index: res.index };
}
