// go-plugin server mode: check the cookie, negotiate the protocol, serve on a fresh unix socket (TCP in the host's
// port range where there are no unix sockets), AutoMTLS when the host asks for it, print the handshake line, then
// live until Shutdown, SIGTERM or the host's death.

import { ServerCredentials } from "@grpc/grpc-js";
import { rmSync } from "node:fs";
import { GRPCBroker } from "../../gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../../gen/plugin/grpc_stdio_pb.js";
import type { GrpcServer } from "../grpc/grpc-server.js";
import type { Logger } from "../log.js";
import { autoMtlsCredentials, createServerCertificate, parseHostCertificate } from "./auto-mtls.js";
import { checkMagicCookie, handshakeLine, HandshakeError, negotiateProtocol, tcpPortRange, unixSocketPath } from "./handshake.js";
import { watchParent } from "./parent-watch.js";
import { brokerService, controllerService, stdioService } from "./plugin-services.js";
import { createProviderServer, type ProviderServerOptions } from "./provider-server.js";
import { onTermination } from "./termination.js";

export interface PluginModeOptions extends Omit<ProviderServerOptions, "authorize" | "healthNames"> {
  env: Readonly<Record<string, string | undefined>>;
  magicCookieKey: string;
  magicCookieValue: string;
  /** Releases what the server does not own (the Nomad transport, a dev agent). */
  cleanup: () => Promise<void>;
}

/** Runs the plugin until it exits. Throws HandshakeError before anything is printed when the host is not one. */
export async function runPluginMode(options: PluginModeOptions): Promise<void> {
  const { env, log } = options;
  checkMagicCookie(env, options.magicCookieKey, options.magicCookieValue);
  negotiateProtocol(env.PLUGIN_PROTOCOL_VERSIONS);
  const hostCert = env.PLUGIN_CLIENT_CERT;
  if (hostCert) {
    try {
      parseHostCertificate(hostCert);
    } catch (err) {
      throw new HandshakeError(`PLUGIN_CLIENT_CERT is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  const serverCert = hostCert ? createServerCertificate() : undefined;
  const credentials = serverCert && hostCert ? autoMtlsCredentials(serverCert, hostCert) : ServerCredentials.createInsecure();

  const { server, health } = createProviderServer({ ...options, healthNames: ["plugin"] });
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= shutdown(server, health.stopServing.bind(health), options.cleanup, reason, log, socketPath);
  };
  server.addService(GRPCController, controllerService(() => stop("the host called Shutdown")), { open: true });
  server.addService(GRPCStdio, stdioService(), { open: true });
  server.addService(GRPCBroker, brokerService(), { open: true });

  const { network, address, socketPath } = await bind(server, env, credentials);
  // The one and only write to stdout.
  process.stdout.write(handshakeLine({ network, address, cert: serverCert?.handshakeField }));
  log.debug("plugin serving", { network, address, auto_mtls: serverCert !== undefined });

  // go-plugin plugins ignore SIGINT: a Ctrl-C in the host's terminal reaches the whole process group, and the host
  // decides when its plugins stop.
  process.on("SIGINT", () => log.debug("ignoring SIGINT; the host stops the plugin"));
  onTermination(() => stop("SIGTERM"));
  watchParent(() => stop("the host process exited"));
  await new Promise<never>(() => {});
}

async function bind(server: GrpcServer, env: PluginModeOptions["env"], credentials: ServerCredentials) {
  if (process.platform !== "win32") {
    const socketPath = unixSocketPath(env);
    await server.listen(`unix:${socketPath}`, credentials);
    return { network: "unix" as const, address: socketPath, socketPath };
  }
  const { min, max } = tcpPortRange(env);
  for (let port = min; port <= max; port++) {
    try {
      await server.listen(`127.0.0.1:${port}`, credentials);
      return { network: "tcp" as const, address: `127.0.0.1:${port}`, socketPath: undefined };
    } catch {
      // Taken; try the next one.
    }
  }
  throw new HandshakeError(`no free TCP port between PLUGIN_MIN_PORT ${min} and PLUGIN_MAX_PORT ${max}`);
}

/** Ends streams, lets unary calls finish, and exits 0 — always within go-plugin's 2 s kill timer. */
async function shutdown(
  server: GrpcServer,
  stopServing: () => void,
  cleanup: () => Promise<void>,
  reason: string,
  log: Logger,
  socketPath: string | undefined,
): Promise<void> {
  log.info("shutting down", { reason });
  setTimeout(() => process.exit(0), 1700).unref();
  stopServing();
  await server.shutdown(1000);
  await Promise.race([cleanup().catch(() => {}), new Promise((r) => setTimeout(r, 300).unref())]);
  if (socketPath) rmSync(socketPath, { force: true });
  process.exit(0);
}
