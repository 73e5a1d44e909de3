// GET /v1/namespace/:name: whether the namespace exists (404 "Namespace not found") and the token may see it (a token
// with no capability in it gets 403 "Permission denied").

import type { NomadHttp } from "./nomad-http.js";

export type NamespaceVerdict =
  | { kind: "exists" }
  | { kind: "missing"; reason: string }
  | { kind: "denied"; reason: string }
  | { kind: "unexpected"; status: number; reason: string };

export async function readNamespace(nomad: NomadHttp, name: string, signal: AbortSignal): Promise<NamespaceVerdict> {
  const res = await nomad.request<unknown>("GET", `/v1/namespace/${encodeURIComponent(name)}`, {
    signal,
    what: `read namespace ${name}`,
    global: true,
    query: { region: nomad.region || undefined },
    acceptStatus: [403, 404, 500],
  });
  if (res.status === 200) return { kind: "exists" };
  const reason = typeof res.body === "string" ? res.body.trim() || `HTTP ${res.status}` : JSON.stringify(res.body);
  if (res.status === 404) return { kind: "missing", reason };
  if (res.status === 403) return { kind: "denied", reason };
  return { kind: "unexpected", status: res.status, reason };
}
