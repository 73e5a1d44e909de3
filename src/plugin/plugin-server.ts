// Everything the plugin serves once the handshake is out: ProviderService (loaded lazily on first use), health,
// reflection and go-plugin's controller/stdio/broker, over AutoMTLS when the host asked for it. Loaded with import()
// by plugin-mode.ts so none of grpc-js or protobuf-es is parsed before the handshake line.

import { ServerCredentials } from "@grpc/grpc-js";
import type { Duplex } from "node:stream";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { GRPCBroker } from "../../gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../../gen/plugin/grpc_stdio_pb.js";
import { lazyService } from "../grpc/lazy-service.js";
import type { Logger } from "../log.js";
import type { ProviderServiceImpl } from "../provider/provider-service.js";
import { brokerService, controllerService, stdioService } from "./plugin-services.js";
import { createProviderServer } from "./provider-server.js";

export interface PluginServerOptions {
  log: Logger;
  loadProvider: () => Promise<ProviderServiceImpl>;
  /** PEMs for AutoMTLS: ours, and the host's certificate that clients must present. */
  tls: { certPem: string; keyPem: string; hostCertPem: string } | undefined;
  /** Called when the host asks the plugin to exit (GRPCController/Shutdown). */
  requestShutdown: () => void;
}

export interface PluginServer {
  /** Serves one accepted connection: a socket, or a stream of a multiplexed one. */
  accept(connection: Duplex): void;
  stopServing(): void;
  shutdown(graceMs: number): Promise<void>;
}

export function createPluginServer(options: PluginServerOptions): PluginServer {
  const { server, health } = createProviderServer({
    provider: lazyService(ProviderService, options.loadProvider),
    log: options.log,
    healthNames: ["plugin"],
  });
  server.addService(GRPCController, controllerService(options.requestShutdown), { open: true });
  server.addService(GRPCStdio, stdioService(), { open: true });
  server.addService(GRPCBroker, brokerService(), { open: true });
  const credentials = options.tls
    ? // Requires a client certificate that chains to the host's own (self-signed, CA:true) certificate.
      ServerCredentials.createSsl(
        Buffer.from(options.tls.hostCertPem),
        [{ cert_chain: Buffer.from(options.tls.certPem), private_key: Buffer.from(options.tls.keyPem) }],
        true,
      )
    : ServerCredentials.createInsecure();
  return {
    accept: server.connectionSink(credentials),
    stopServing: () => health.stopServing(),
    shutdown: (graceMs) => server.shutdown(graceMs),
  };
}
