// GET /v1/regions: the names of the regions the cluster's servers know (a bare JSON array; open without ACLs).

import type { NomadHttp } from "./nomad-http.js";

export async function listRegions(nomad: NomadHttp, signal: AbortSignal): Promise<string[]> {
  const res = await nomad.request<unknown>("GET", "/v1/regions", { signal, what: "list regions", global: true });
  return Array.isArray(res.body) ? res.body.filter((r): r is string => typeof r === "string") : [];
}
