// The instance lifecycle family: Provision, Deprovision, Start, Stop, Restart, Status, WatchStatus, Scale.

import type { RpcFamily } from "./provider-service.js";
import { forCall } from "./provider-deps.js";
import { provision } from "./provision.js";
import { deprovision, restart, start, stop } from "./lifecycle.js";
import { AllocPortCache, readInstanceStatus } from "./status.js";
import { scale } from "./scale.js";
import { statusHub, watchInstanceStatus } from "./watch-status.js";
import { jobIdFor } from "./instance-id.js";
import { instanceCache } from "./instance-cache.js";

export const lifecycleFamily: RpcFamily = {
  // "volumes": host/CSI/ephemeral volumes map to Nomad volume requests and mounts (proven on the dev agent for host
  // and ephemeral ones). No "gpu": the request maps to a device ask, but no GPU job has ever been run by this build.
  capabilities: ["provision", "scale", "volumes", "dry-run:scale"],
  handlers: (deps) => {
    const log = deps.log.child("lifecycle");
    const d = { ...deps, log };
    // One event-fed cache per process answers Status and WatchStatus from memory once primed (instance-cache.ts).
    const cache = instanceCache(deps.nomad, deps.log);
    const hub = statusHub(deps.nomad, log);
    // Shared by every Status call: each allocation's ports are read from Nomad once, not on every call.
    const ports = new AllocPortCache();
    return {
      provision: (req, ctx) => provision(forCall(d, ctx), req, ctx),
      deprovision: (req, ctx) => deprovision(forCall(d, ctx), req.instanceId, ctx),
      start: (req, ctx) => start(forCall(d, ctx), req.instanceId, ctx),
      stop: (req, ctx) => stop(forCall(d, ctx), req.instanceId, ctx),
      restart: async (req, ctx) => {
        const r = await restart(forCall(d, ctx), req, ctx);
        return { state: r.state, restartedAllocations: r.restarted, message: r.message };
      },
      status: async (req, ctx) => {
        const jobId = jobIdFor(req.instanceId);
        const cached = req.uncached ? undefined : await cache.status(jobId, ctx.signal);
        return { status: cached ?? (await readInstanceStatus(deps.nomad, jobId, ctx.signal, ports)).status };
      },
      watchStatus: async function* (req, ctx) {
        const jobId = jobIdFor(req.instanceId);
        for await (const status of watchInstanceStatus(hub, deps.nomad, jobId, ctx.signal)) yield { status };
      },
      scale: (req, ctx) => scale(forCall(d, ctx), req, ctx),
    };
  },
};
