// The plugin's socket, bound before the gRPC stack is loaded. go-plugin only needs the address to accept
// connections when the handshake line appears; accepted connections wait here (paused, no byte read, so TLS can
// still take them over) until the gRPC server exists, then are handed to it in arrival order.

import { createServer, type Server, type Socket } from "node:net";
import { rmSync } from "node:fs";

export class EarlyListener {
  readonly #server: Server;
  readonly socketPath: string | undefined;
  #waiting: Socket[] = [];
  #sink: ((socket: Socket) => void) | undefined;

  private constructor(server: Server, socketPath: string | undefined) {
    this.#server = server;
    this.socketPath = socketPath;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Listens on a unix socket path, or on host:port (default host 127.0.0.1). Rejects when the address is taken. */
  static listen(address: { path: string } | { port: number; host?: string }): Promise<EarlyListener> {
    const server = createServer({ pauseOnConnect: true });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      const ready = () => {
        server.off("error", reject);
        resolve(new EarlyListener(server, "path" in address ? address.path : undefined));
      };
      if ("path" in address) server.listen(address.path, ready);
      else server.listen(address.port, address.host ?? "127.0.0.1", ready);
    });
  }

  /** The TCP port bound (the free one chosen for port 0); 0 for a unix socket. */
  get port(): number {
    const a = this.#server.address();
    return typeof a === "object" && a ? a.port : 0;
  }

  /** From now on every connection (and those already waiting) goes to sink. */
  handOver(sink: (socket: Socket) => void): void {
    this.#sink = sink;
    const waiting = this.#waiting;
    this.#waiting = [];
    for (const socket of waiting) this.#deliver(socket);
  }

  /** Stops accepting and removes the socket file; connections already handed over are not touched. */
  close(): void {
    this.#server.close();
    for (const socket of this.#waiting) socket.destroy();
    this.#waiting = [];
    if (this.socketPath) rmSync(this.socketPath, { force: true });
  }

  #accept(socket: Socket): void {
    if (this.#sink) {
      this.#deliver(socket);
      return;
    }
    // A client that gives up while waiting must not crash the plugin with an unhandled 'error'.
    socket.on("error", ignore);
    this.#waiting.push(socket);
  }

  #deliver(socket: Socket): void {
    socket.off("error", ignore);
    if (socket.destroyed) return;
    this.#sink!(socket);
  }
}

function ignore(): void {}
