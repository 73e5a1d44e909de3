// go-plugin server mode: check the cookie, negotiate the protocol, bind a fresh unix socket (TCP in the host's port
// range where there are no unix sockets), AutoMTLS when the host asks for it, print the handshake line, then load
// and serve gRPC and live until Shutdown, SIGTERM or the host's death. Only node built-ins run before the handshake
// line: the host is waiting for it (see bench/startup.mjs).

import type { Logger } from "../log.js";
import type { ProviderServiceImpl } from "../provider/provider-service.js";
import { createServerCertificate, parseHostCertificate } from "./auto-mtls.js";
import { EarlyListener } from "./early-listener.js";
import {
  checkMagicCookie,
  handshakeLine,
  HandshakeError,
  multiplexRequest,
  negotiateProtocol,
  tcpPortRange,
  unixSocketPath,
} from "./handshake.js";
import { watchParent } from "./parent-watch.js";
import type { PluginServer } from "./plugin-server.js";
import { shareSocketWithGroup } from "./socket-group.js";
import { onTermination } from "./termination.js";

export interface PluginModeOptions {
  env: Readonly<Record<string, string | undefined>>;
  log: Logger;
  magicCookieKey: string;
  magicCookieValue: string;
  /** Builds ProviderService; called once, right after the handshake, and awaited by the first call. */
  loadProvider: () => Promise<ProviderServiceImpl>;
  /** Releases what the server does not own (the Nomad transport). */
  cleanup: () => Promise<void>;
}

/** Runs the plugin until it exits. Throws HandshakeError before anything is printed when the host is not one. */
export async function runPluginMode(options: PluginModeOptions): Promise<void> {
  const { env, log } = options;
  checkMagicCookie(env, options.magicCookieKey, options.magicCookieValue);
  negotiateProtocol(env.PLUGIN_PROTOCOL_VERSIONS);
  const hostCertPem = env.PLUGIN_CLIENT_CERT || undefined;
  if (hostCertPem) {
    try {
      parseHostCertificate(hostCertPem);
    } catch (err) {
      throw new HandshakeError(`PLUGIN_CLIENT_CERT is not a PEM certificate: ${(err as Error).message}`);
    }
  }
  const serverCert = hostCertPem ? createServerCertificate() : undefined;
  const mux = multiplexRequest(env);
  const { listener, network, address } = await bind(env);
  const group = env.PLUGIN_UNIX_SOCKET_GROUP;
  if (group && network === "unix") {
    try {
      shareSocketWithGroup(address, group);
    } catch (err) {
      listener.close();
      throw err;
    }
  }

  let server: PluginServer | undefined;
  let stopping: Promise<void> | undefined;
  const stop = (reason: string) => {
    stopping ??= shutdown(() => server, listener, options.cleanup, reason, log);
  };
  // Before the handshake: a signal sent the moment the host reads the line must meet our handlers, not the default.
  // go-plugin plugins ignore SIGINT: a Ctrl-C in the host's terminal reaches the whole process group, and the host
  // decides when its plugins stop.
  process.on("SIGINT", () => log.debug("ignoring SIGINT; the host stops the plugin"));
  onTermination(() => stop("SIGTERM"));
  watchParent(() => stop("the host process exited"));

  // The one and only write to stdout.
  process.stdout.write(handshakeLine({ network, address, cert: serverCert?.handshakeField, announceMultiplex: mux.announce }));

  let provider: Promise<ProviderServiceImpl> | undefined;
  const loadProvider = () => (provider ??= options.loadProvider());
  const { createPluginServer } = await import("./plugin-server.js");
  server = createPluginServer({
    log,
    loadProvider,
    tls: serverCert && hostCertPem ? { certPem: serverCert.certPem, keyPem: serverCert.keyPem, hostCertPem } : undefined,
    requestShutdown: () => stop("the host called Shutdown"),
  });
  // The yamux code is loaded only for a host that multiplexes (start-up budget).
  const sink = mux.multiplex ? (await import("./multiplexed-connection.js")).multiplexedSink(server.accept, log) : server.accept;
  if (stopping) return;
  listener.handOver(sink);
  log.debug("plugin serving", { network, address, auto_mtls: serverCert !== undefined, multiplexed: mux.multiplex });
  // Warm up once serving, so the host's first ProviderService call rarely waits for the load.
  loadProvider().catch((err: unknown) => log.error("loading the provider failed", { error: err }));
  await new Promise<never>(() => {});
}

async function bind(env: PluginModeOptions["env"]) {
  if (process.platform !== "win32") {
    const path = unixSocketPath(env);
    return { listener: await EarlyListener.listen({ path }), network: "unix" as const, address: path };
  }
  const { min, max } = tcpPortRange(env);
  for (let port = min; port <= max; port++) {
    try {
      return { listener: await EarlyListener.listen({ port }), network: "tcp" as const, address: `127.0.0.1:${port}` };
    } catch {
      // Taken; try the next one.
    }
  }
  throw new HandshakeError(`no free TCP port between PLUGIN_MIN_PORT ${min} and PLUGIN_MAX_PORT ${max}`);
}

/** Ends streams, lets unary calls finish, and exits 0 — always within go-plugin's 2 s kill timer. */
async function shutdown(
  server: () => PluginServer | undefined,
  listener: EarlyListener,
  cleanup: () => Promise<void>,
  reason: string,
  log: Logger,
): Promise<void> {
  log.info("shutting down", { reason });
  setTimeout(() => process.exit(0), 1700).unref();
  listener.close();
  server()?.stopServing();
  await server()?.shutdown(1000);
  await Promise.race([cleanup().catch(() => {}), new Promise((r) => setTimeout(r, 300).unref())]);
  process.exit(0);
}
