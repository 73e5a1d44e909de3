// GET /v1/agent/health: the agent's own view of its client and server halves. Nomad answers 200 when every half it
// runs is ok and 500 when one is not, with the same JSON body ({"client":{"ok":false,"message":"no known servers"}})
// written through its error path, so without a JSON content type.

import type { NomadHttp } from "./nomad-http.js";

export interface AgentHealthComponent {
  ok: boolean;
  message: string;
}

export interface AgentHealth {
  /** 200 or 500. */
  status: number;
  /** Absent when the agent does not run that half (a server-only agent has no client). */
  client: AgentHealthComponent | undefined;
  server: AgentHealthComponent | undefined;
  /** A 500 whose body is not the health JSON (e.g. an RPC error), as Nomad wrote it. */
  error: string | undefined;
}

export async function readAgentHealth(nomad: NomadHttp, signal: AbortSignal): Promise<AgentHealth> {
  const res = await nomad.request<unknown>("GET", "/v1/agent/health", {
    signal,
    what: "read agent health",
    acceptStatus: [500],
    // Region routes the call like every other; namespace means nothing to the agent endpoints.
    global: true,
    query: { region: nomad.region },
  });
  const body = res.body;
  if (typeof body !== "object" || body === null) {
    return { status: res.status, client: undefined, server: undefined, error: String(body ?? "").trim() || `HTTP ${res.status}` };
  }
  const record = body as Record<string, unknown>;
  return { status: res.status, client: component(record.client), server: component(record.server), error: undefined };
}

function component(value: unknown): AgentHealthComponent | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as { ok?: unknown; message?: unknown };
  return { ok: v.ok === true, message: typeof v.message === "string" ? v.message : "" };
}
