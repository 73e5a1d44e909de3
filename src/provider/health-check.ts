// HealthCheck: probes the Nomad agent and reports, never throws, about Nomad's state: an unreachable or unhealthy
// Nomad is healthy=false with the reason. Only the caller's own cancel or deadline ends the call with an error.

import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { ProviderError } from "../errors.js";
import { readAgentHealth, type AgentHealth } from "../nomad/agent.js";
import type { ComponentHealthSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { RpcFamily } from "./provider-service.js";

type Component = MessageInitShape<typeof ComponentHealthSchema>;

export const healthCheckFamily: RpcFamily = {
  capabilities: [],
  handlers: (deps) => ({
    async healthCheck(_req, ctx) {
      const checkedAt = new Date();
      const started = performance.now();
      let components: Component[];
      try {
        components = describe(await readAgentHealth(deps.nomad, ctx.signal));
      } catch (err) {
        if (ctx.signal.aborted) throw err;
        const reason = ProviderError.from(err).message;
        deps.log.debug("nomad health probe failed", { error: reason });
        components = [{ name: "api", healthy: false, message: reason }];
      }
      const latency = durationFromMs(Math.round(performance.now() - started));
      const unhealthy = components.filter((c) => !c.healthy);
      return {
        healthy: unhealthy.length === 0,
        message: unhealthy.length === 0 ? `nomad at ${deps.nomad.address.origin} is healthy` : unhealthy.map((c) => `${c.name}: ${c.message}`).join("; "),
        latency,
        checkedAt: timestampFromDate(checkedAt),
        components,
      };
    },
  }),
};

function describe(health: AgentHealth): Component[] {
  const components: Component[] = [{ name: "api", healthy: true, message: `reachable (HTTP ${health.status})` }];
  if (health.error !== undefined) components.push({ name: "agent", healthy: false, message: health.error });
  for (const name of ["client", "server"] as const) {
    const c = health[name];
    if (c) components.push({ name, healthy: c.ok, message: c.message || (c.ok ? "ok" : "unhealthy") });
  }
  // A 500 that named no unhealthy half is still a failure the user must see.
  if (health.status !== 200 && components.every((c) => c.healthy)) {
    components.push({ name: "agent", healthy: false, message: `agent health answered HTTP ${health.status}` });
  }
  return components;
}
