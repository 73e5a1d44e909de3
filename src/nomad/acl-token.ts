// GET /v1/acl/token/self: what Nomad makes of the configured token. Its answers differ by Nomad version, so each is
// read into one verdict here:
//   Nomad 1.6 (ACL.ResolveToken): ACLs off -> 400 "ACL support disabled"; unknown or missing secret -> 404
//     "ACL token not found"; a known one -> 200 with the token.
//   Nomad 1.7+ (ACL.WhoAmI behind Authenticate): ACLs off -> 200 with the "acls-disabled" pseudo token; no secret ->
//     200 with the "anonymous" token; an unknown secret -> 403 "Permission denied" (or "ACL token not found",
//     "ACL token expired", "ACL token is invalid").
// The verdict never carries the secret: Nomad's answer holds it (SecretID), so only name and type are kept.

import type { NomadHttp } from "./nomad-http.js";

export type TokenVerdict =
  | { kind: "acls-disabled" }
  | { kind: "anonymous" }
  | { kind: "accepted"; name: string; type: string }
  /** Nomad refused the secret; `reason` is Nomad's own text (e.g. "ACL token not found"). */
  | { kind: "refused"; reason: string }
  /** Any other answer (e.g. 500 "No path to region"), as Nomad wrote it. */
  | { kind: "unexpected"; status: number; reason: string };

const refusal = /ACL token not found|ACL token expired|ACL token is invalid|Permission denied/i;

export async function readTokenSelf(nomad: NomadHttp, signal: AbortSignal): Promise<TokenVerdict> {
  const res = await nomad.request<unknown>("GET", "/v1/acl/token/self", {
    signal,
    what: "read the ACL token",
    global: true,
    query: { region: nomad.region || undefined },
    acceptStatus: [400, 403, 404, 500],
  });
  if (res.status === 200 && typeof res.body === "object" && res.body !== null) {
    const t = res.body as { AccessorID?: unknown; Name?: unknown; Type?: unknown };
    if (t.AccessorID === "acls-disabled") return { kind: "acls-disabled" };
    if (t.AccessorID === "anonymous") return { kind: "anonymous" };
    return { kind: "accepted", name: typeof t.Name === "string" ? t.Name : "", type: typeof t.Type === "string" ? t.Type : "" };
  }
  const text = typeof res.body === "string" ? res.body.trim() : JSON.stringify(res.body ?? "");
  if (res.status === 400 && /ACL support disabled/i.test(text)) return { kind: "acls-disabled" };
  if ((res.status === 403 || res.status === 404) && refusal.test(text)) return { kind: "refused", reason: text };
  return { kind: "unexpected", status: res.status, reason: text || `HTTP ${res.status}` };
}
