// A go-plugin 1.6+ host's multiplexed transport for tests: one connection to the plugin's socket with a yamux client
// on it, and a local socket as the host's dialer whose every accepted connection is piped into a fresh yamux stream,
// so grpc-js dials streams as go-plugin's dialer does (TLS inside each stream, with AutoMTLS).

import { connect, createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { YamuxSession } from "../../src/plugin/yamux-session.js";
import type { PluginProcess } from "./plugin-process.js";

export interface MultiplexingHost {
  /** A gRPC target whose every connection is one yamux stream of the host's single connection to the plugin. */
  target: string;
  session: YamuxSession;
  close(): void;
}

export async function multiplexingHost(plugin: PluginProcess): Promise<MultiplexingHost> {
  const conn = connect(plugin.handshake.address);
  await new Promise<void>((resolve, reject) => conn.once("connect", resolve).once("error", reject));
  const session = new YamuxSession(conn, { role: "client" });
  const dir = mkdtempSync(join(tmpdir(), "mux-host-"));
  const dialer: Server = createServer((local: Socket) => {
    const stream = session.openStream();
    local.pipe(stream).pipe(local);
    local.on("error", () => stream.destroy());
    stream.on("error", () => local.destroy());
  });
  const path = join(dir, "dial.sock");
  await new Promise<void>((resolve) => dialer.listen(path, resolve));
  return {
    target: `unix:${path}`,
    session,
    close: () => {
      dialer.close();
      session.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
