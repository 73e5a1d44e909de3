// Builds the real ProviderService (Nomad transport, dev agent, RPC families) behind dynamic imports, so this code is
// loaded after the server is up rather than before the handshake line (see bench/startup.mjs).

import type { Config } from "../config.js";
import type { Logger } from "../log.js";
import type { ProviderServiceImpl } from "../provider/provider-service.js";

export interface LoadedProvider {
  impl: ProviderServiceImpl;
  close(): Promise<void>;
}

export async function loadProvider(config: Config, version: string, log: Logger): Promise<LoadedProvider> {
  const [{ NomadHttp }, { families }, { createProviderService }] = await Promise.all([
    import("../nomad/nomad-http.js"),
    import("../provider/families.js"),
    import("../provider/provider-service.js"),
  ]);
  let devAgent: { address: string; close(): Promise<void> } | undefined;
  if (config.standalone?.devAgent) {
    const { startEmbeddedDevAgent } = await import("./embedded-dev-agent.js");
    devAgent = await startEmbeddedDevAgent(config, log);
    log.info("embedded dev agent started", { address: devAgent.address });
  }
  const nomad = new NomadHttp({ ...config.nomad, address: devAgent?.address ?? config.nomad.address });
  const settings = { datacenters: config.datacenters, cpuMhzPerCore: config.cpuMhzPerCore, version };
  return {
    impl: createProviderService({ nomad, settings, log }, families),
    async close() {
      await nomad.close();
      await devAgent?.close();
    },
  };
}
