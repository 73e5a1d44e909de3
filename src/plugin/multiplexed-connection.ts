// go-plugin 1.6+ multiplexing, plugin side: the host dials the plugin's socket once and runs a yamux client on that
// connection; every gRPC connection it makes afterwards (the main one, and any broker connection) is a yamux stream.
// Like go-plugin's GRPCServerMuxer, only the first connection becomes the session; each stream the host opens is
// served by the gRPC server exactly as an accepted socket would be (TLS, with AutoMTLS, runs inside each stream, as
// go-plugin puts its TLS credentials on the gRPC server, not on the listener). This plugin brokers no services of its
// own, so the broker's knocks never name a listener here and every stream goes to the one gRPC server.

import type { Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Logger } from "../log.js";
import { YamuxSession } from "./yamux-session.js";

export function multiplexedSink(serve: (connection: Duplex) => void, log: Logger): (socket: Socket) => void {
  let session: YamuxSession | undefined;
  return (socket) => {
    if (session) {
      // go-plugin's muxer accepts one connection only; a second one would never be served there either.
      log.warn("refusing a second connection: the host multiplexes over its first one (PLUGIN_MULTIPLEX_GRPC)");
      socket.destroy();
      return;
    }
    session = new YamuxSession(socket, {
      role: "server",
      onStream: (stream) => serve(stream),
      onClose: (error) => log.debug("multiplexed host connection closed", error ? { error: error.message } : {}),
    });
    log.debug("host connection multiplexed (yamux)");
  };
}
