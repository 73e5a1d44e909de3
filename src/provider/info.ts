// Info: static metadata from configuration. Never calls Nomad, so a host can ask it even while Nomad is down.

import type { RpcFamily } from "./provider-service.js";

export const infoFamily: RpcFamily = {
  // Info is part of every provider, not a ctrlplane capability.
  capabilities: [],
  handlers: (deps) => ({
    async info() {
      return {
        name: "nomad",
        version: deps.settings.version,
        // Empty when no region is configured: jobs then go to the region of the agent the plugin talks to.
        region: deps.nomad.region ?? "",
        namespace: deps.nomad.namespace,
        datacenters: deps.settings.datacenters,
      };
    },
  }),
};
