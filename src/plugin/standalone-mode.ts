// Standalone mode: serve ProviderService directly on --listen for polyglot clients and debugging (h2c on loopback,
// TLS or an explicit --insecure elsewhere), with reflection so buf curl and grpcurl can discover everything.
// The address is bound before anything else starts (the provider, the embedded dev agent): a port already taken
// fails at once, in our words, and the connections that arrive meanwhile wait for the server.

import { ServerCredentials } from "@grpc/grpc-js";
import { ConfigError, type StandaloneConfig } from "../config.js";
import type { Logger } from "../log.js";
import { bearerAuth } from "./bearer-auth.js";
import { EarlyListener } from "./early-listener.js";
import type { LoadedProvider } from "./provider-loader.js";
import { createProviderServer } from "./provider-server.js";
import { onTermination } from "./termination.js";

export interface StandaloneModeOptions {
  log: Logger;
  listen: StandaloneConfig;
  /** Builds the provider (and the dev agent) once the address is ours. */
  loadProvider: () => Promise<LoadedProvider>;
}

export async function runStandaloneMode(options: StandaloneModeOptions): Promise<void> {
  const { listen, log } = options;
  const host = listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const listener = await bindListen(listen, `${host}:${listen.port}`);
  const loaded = await options.loadProvider();
  const { server, health } = createProviderServer({
    provider: loaded.impl,
    log,
    authorize: listen.authToken ? bearerAuth(listen.authToken) : undefined,
  });
  const credentials = listen.tls
    ? ServerCredentials.createSsl(
        listen.tls.clientCa ? Buffer.from(listen.tls.clientCa) : null,
        [{ cert_chain: Buffer.from(listen.tls.cert), private_key: Buffer.from(listen.tls.key) }],
        listen.tls.clientCa !== undefined,
      )
    : ServerCredentials.createInsecure();
  listener.handOver(server.connectionSink(credentials));
  const port = listener.port;
  if (!listen.loopback && !listen.tls) {
    log.warn("serving plaintext gRPC on a non-loopback address (--insecure): anyone who can reach it controls Nomad jobs", {
      address: `${host}:${port}`,
    });
  }
  process.stderr.write(curlExamples(`${host}:${port}`, listen));
  // Last: scripts and tests wait for this line to know the port.
  log.info("listening", { address: `${host}:${port}`, tls: listen.tls !== undefined, mtls: listen.tls?.clientCa !== undefined, auth: listen.authToken !== undefined });

  let stopping = false;
  onTermination(
    () => {
      if (stopping) return;
      stopping = true;
      log.info("shutting down");
      // A client holding a call open past the grace period (and the dev agent's tasks) must not keep us alive.
      setTimeout(() => process.exit(0), 5000).unref();
      health.stopServing();
      listener.close();
      void server
        .shutdown(2000)
        .then(() => loaded.close())
        .finally(() => process.exit(0));
    },
    ["SIGTERM", "SIGINT"],
  );
  await new Promise<never>(() => {});
}

async function bindListen(listen: StandaloneConfig, shown: string): Promise<EarlyListener> {
  try {
    return await EarlyListener.listen({ host: listen.host, port: listen.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE") {
      throw new ConfigError("--listen", `${shown} is already in use (another nomad-provider or \`npm start\`?); stop it or choose another port`);
    }
    if (code === "EADDRNOTAVAIL") throw new ConfigError("--listen", `${shown}: no such address on this machine`);
    if (code === "EACCES") throw new ConfigError("--listen", `${shown}: permission denied (ports below 1024 need privileges)`);
    throw err;
  }
}

/** Ready-to-paste commands for the human who just started the server. */
export function curlExamples(address: string, listen: StandaloneConfig): string {
  const base = listen.tls ? `https://${address}` : `http://${address}`;
  const flags = ["--protocol grpc", ...(listen.tls ? [] : ["--http2-prior-knowledge"])].join(" ");
  const auth = listen.authToken ? ' -H "authorization: Bearer $CP_PLUGIN_AUTH_TOKEN"' : "";
  const tls = listen.tls ? ` --cacert <server-cert.pem>${listen.tls.clientCa ? " --cert <client-cert.pem> --key <client-key.pem>" : ""}` : "";
  return [
    "",
    "nomad-provider is serving ctrlplane.provider.v1.ProviderService. Try:",
    `  npx buf curl ${flags}${auth} ${base}/ctrlplane.provider.v1.ProviderService/Info${tls}`,
    `  npx buf curl ${flags} --list-methods ${base}${tls}`,
    `  npx buf curl ${flags}${auth} ${base}/ctrlplane.provider.v1.ProviderService/HealthCheck${tls}`,
    "",
    "",
  ].join("\n");
}
