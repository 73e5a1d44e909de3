// --dev-agent: the repository's Nomad-API-compatible dev agent, started in this process on an ephemeral loopback
// port, so `npm start` works without a Nomad installation. It follows the plugin's region, namespace and first
// datacenter so jobs land where the plugin will look for them.

import { startDevAgent } from "../devagent/index.js";
import type { Config } from "../config.js";
import type { Logger } from "../log.js";

export interface EmbeddedDevAgent {
  address: string;
  close(): Promise<void>;
}

export async function startEmbeddedDevAgent(config: Config, log: Logger): Promise<EmbeddedDevAgent> {
  const datacenter = config.datacenters.find((dc) => !dc.includes("*"));
  const agent = await startDevAgent({
    host: "127.0.0.1",
    port: 0,
    region: config.nomad.region ?? "global",
    ...(datacenter ? { datacenter } : {}),
    ...(config.nomad.namespace !== "default" ? { namespaces: [config.nomad.namespace] } : {}),
    logger: log.child("devagent"),
  });
  return { address: agent.address, close: () => agent.close() };
}
