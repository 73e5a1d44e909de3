// The RPC families of this build. A family is listed here only when its RPCs work end to end against Nomad
// (and its tests prove it); its capabilities then appear in Capabilities automatically.

import type { RpcFamily } from "./provider-service.js";
import { infoFamily } from "./info.js";
import { healthCheckFamily } from "./health-check.js";
import { lifecycleFamily } from "./lifecycle-family.js";
import { releasesFamily } from "./releases-family.js";
import { execFamily, logsFamily } from "./observe-family.js";

export const families: RpcFamily[] = [infoFamily, healthCheckFamily, lifecycleFamily, releasesFamily, logsFamily, execFamily];
