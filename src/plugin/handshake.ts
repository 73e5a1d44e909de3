// The go-plugin handshake, plugin side: the magic cookie proves a host launched us, PLUGIN_PROTOCOL_VERSIONS picks
// the app protocol, and one line on stdout tells the host where to connect:
//   CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL[|CERT[|MULTIPLEX]]

import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** go-plugin's core protocol version (the handshake format itself). */
export const coreProtocolVersion = 1;
/** The ctrlplane provider app protocol this build speaks. */
export const appProtocolVersion = 1;

export class HandshakeError extends Error {
  override readonly name = "HandshakeError";
}

/**
 * Missing: go-plugin's own wording, so a human who runs the binary knows what happened. Present with another value:
 * a host whose HandshakeConfig is not ours (the value it sent is not repeated: the cookie is the host's business).
 */
export function checkMagicCookie(env: Readonly<Record<string, string | undefined>>, key: string, value: string): void {
  const got = env[key];
  if (got === value) return;
  if (got !== undefined && got !== "") {
    throw new HandshakeError(
      `the magic cookie ${key} is set but has the wrong value: this plugin expects the host's HandshakeConfig to be ` +
        `MagicCookieKey "${key}", MagicCookieValue "${value}" (or start it with --magic-cookie-key/--magic-cookie-value ` +
        "to match the host's)",
    );
  }
  throw new HandshakeError(
    "This binary is a plugin. These are not meant to be executed directly.\n" +
      "Please execute the program that consumes these plugins, which will load any plugins automatically.\n" +
      `(Expected environment variable ${key} to be set by the host. To run it by hand for debugging, ` +
      "use --listen 127.0.0.1:50051, optionally with --dev-agent.)",
  );
}

/** The app protocol to speak. Without PLUGIN_PROTOCOL_VERSIONS the host is older than negotiation: it means ours. */
export function negotiateProtocol(offered: string | undefined): number {
  if (offered === undefined || offered.trim() === "") return appProtocolVersion;
  const versions = offered.split(",").map((v) => Number(v.trim()));
  if (versions.includes(appProtocolVersion)) return appProtocolVersion;
  throw new HandshakeError(
    `the host offers plugin protocol version(s) ${offered} (PLUGIN_PROTOCOL_VERSIONS), but this nomad-provider ` +
      `speaks only version ${appProtocolVersion}; upgrade the plugin or the host so they share a version`,
  );
}

/** A fresh unix socket path in PLUGIN_UNIX_SOCKET_DIR (newer hosts) or the temp dir (go-plugin 1.0.1 sets none). */
export function unixSocketPath(env: Readonly<Record<string, string | undefined>>): string {
  const dir = env.PLUGIN_UNIX_SOCKET_DIR || tmpdir();
  return join(dir, `plugin${randomBytes(6).toString("hex")}.sock`);
}

/** The TCP port range the host allows, for platforms without unix sockets. */
export function tcpPortRange(env: Readonly<Record<string, string | undefined>>): { min: number; max: number } {
  const min = Number(env.PLUGIN_MIN_PORT) || 10000;
  const max = Number(env.PLUGIN_MAX_PORT) || 25000;
  if (min > max) throw new HandshakeError(`PLUGIN_MIN_PORT (${min}) is above PLUGIN_MAX_PORT (${max})`);
  return { min, max };
}

/**
 * go-plugin 1.6+ hosts with GRPCBrokerMultiplex set PLUGIN_MULTIPLEX_GRPC. Whenever it is set at all, the line gets a
 * 7th field saying we support multiplexing (older hosts never set it, and split the line into six fields, so they would
 * glue a 7th onto the certificate); we then actually multiplex when its value is true in Go's strconv.ParseBool terms.
 */
export function multiplexRequest(env: Readonly<Record<string, string | undefined>>): { announce: boolean; multiplex: boolean } {
  const value = env.PLUGIN_MULTIPLEX_GRPC;
  if (value === undefined || value === "") return { announce: false, multiplex: false };
  return { announce: true, multiplex: ["1", "t", "T", "true", "TRUE", "True"].includes(value) };
}

export interface HandshakeLine {
  network: "unix" | "tcp";
  address: string;
  /** The AutoMTLS certificate field; only when the host sent PLUGIN_CLIENT_CERT (1.0.1 hosts crash otherwise). */
  cert?: string;
  /** Adds the 7th field (`true`: this plugin multiplexes gRPC over one connection); only when the host asked. */
  announceMultiplex?: boolean;
}

export function handshakeLine({ network, address, cert, announceMultiplex }: HandshakeLine): string {
  const fields: (string | number)[] = [coreProtocolVersion, appProtocolVersion, network, address, "grpc"];
  if (cert !== undefined || announceMultiplex) fields.push(cert ?? "");
  if (announceMultiplex) fields.push("true");
  return fields.join("|") + "\n";
}
