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
  // Which Nomad, where, and with what credentials (whether they are set, never their values).
  log.info("nomad-provider started", {
    version,
    nomad_address: nomad.address.origin,
    region: config.nomad.region || "(the agent's)",
    namespace: config.nomad.namespace,
    datacenters: config.datacenters.length > 0 ? config.datacenters.join(",") : "*",
    acl: config.nomad.token ? "token set" : "no token",
    tls: nomadTlsSummary(nomad.address.protocol === "https:", config.nomad.tls),
  });
  const settings = { datacenters: config.datacenters, cpuMhzPerCore: config.cpuMhzPerCore, version };
  return {
    impl: createProviderService({ nomad, settings, log }, families),
    async close() {
      await nomad.close();
      await devAgent?.close();
    },
  };
}

/** "off", or which parts of TLS to Nomad are configured: "ca+client-cert", "system-ca", "skip-verify". */
function nomadTlsSummary(https: boolean, tls: Config["nomad"]["tls"]): string {
  if (!tls) return https ? "system-ca" : "off";
  const parts = [tls.ca ? "ca" : "system-ca"];
  if (tls.cert) parts.push("client-cert");
  if (tls.serverName) parts.push("server-name");
  if (tls.skipVerify) parts.push("skip-verify");
  return parts.join("+");
}
