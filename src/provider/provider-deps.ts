// What every RPC family handler needs: the Nomad transport, the provider's settings and a logger.
// Handlers call the typed functions of src/nomad with deps.nomad; they never build URLs themselves.

import type { NomadHttp } from "../nomad/nomad-http.js";
import type { Logger } from "../log.js";

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
