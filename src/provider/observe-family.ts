// The RPC families of issue 7: Logs + Resources (capability "logs") and Exec + ExecStream (capability "exec").
// One log-follow hub and one allocation watch per service instance are shared by all calls, as is the plugin's
// instance cache (with lifecycleFamily's Status).

import type { RpcFamily } from "./provider-service.js";
import { AllocWatch } from "./alloc-watch.js";
import { LogFollowHub } from "./log-follow-hub.js";
import { streamLogs } from "./logs.js";
import { streamResources } from "./resources.js";
import { execOnce } from "./exec.js";
import { execStream } from "./exec-stream.js";
import { instanceCache } from "./instance-cache.js";

export const logsFamily: RpcFamily = {
  capabilities: ["logs"],
  handlers(deps) {
    // The plugin's one instance cache (instance-cache.ts) gives both their allocation lists while it is live.
    const cache = instanceCache(deps.nomad, deps.log);
    const logs = { deps, hub: new LogFollowHub(deps.nomad), cache, watch: new AllocWatch(deps.nomad, { cache }) };
    return {
      logs: (req, ctx) => streamLogs(logs, req, ctx),
      resources: (req, ctx) => streamResources(deps, cache, req, ctx),
    };
  },
};

export const execFamily: RpcFamily = {
  capabilities: ["exec"],
  handlers(deps) {
    return {
      exec: (req, ctx) => execOnce(deps, req, ctx),
      execStream: (reqs, ctx) => execStream(deps, reqs, ctx),
    };
  },
};
