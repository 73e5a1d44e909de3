// What every RPC family handler needs: the Nomad transport, the provider's settings and a logger.
// Handlers call the typed functions of src/nomad with deps.nomad; they never build URLs themselves.

import type { NomadHttp } from "../nomad/nomad-http.js";
import type { Logger } from "../log.js";
import type { CallContext } from "../grpc/service-impl.js";

export interface ProviderSettings {
  /** Nomad datacenters jobs may be placed in; empty = ["*"] (all). */
  datacenters: string[];
  /** MHz of Nomad CPU per 1000 millicores (CP_NOMAD_CPU_MHZ_PER_CORE, default 1000). */
  cpuMhzPerCore: number;
  /** Plugin version reported by Info. */
  version: string;
}

export interface ProviderDeps {
  nomad: NomadHttp;
  settings: ProviderSettings;
  log: Logger;
}

/** The deps of one call: its log lines carry the caller's trace id when it sent a traceparent. */
export function forCall<D extends ProviderDeps>(deps: D, ctx: CallContext): D {
  return ctx.trace ? { ...deps, log: deps.log.with({ trace_id: ctx.trace.traceId }) } : deps;
}
