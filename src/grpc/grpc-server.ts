// A grpc-js server that serves protobuf-es services through the bridge, tracks calls in flight and shuts down
// gracefully: streams end at once, unary calls get a grace period, connections close, then the caller may exit.

import { Server, ServerCredentials } from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { Duplex } from "node:stream";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Logger } from "../log.js";
import { bridgeService } from "./grpc-bridge.js";
import { CallRegistry } from "./call-registry.js";
import { FailureLog } from "./failure-log.js";
import { routeGrpcLogs } from "./grpc-logging.js";
import type { CallContext, ServiceImpl } from "./service-impl.js";

export interface GrpcServerOptions {
  log: Logger;
  /** Runs before every call; throw a ProviderError to refuse it (used for the standalone bearer token). */
  authorize?: (ctx: CallContext, method: DescMethod) => void;
  /** Log fields identifying what a request is about, on the lines of failed calls (e.g. instance_id). */
  describe?: (request: unknown) => Record<string, unknown>;
}

export class GrpcServer {
  readonly registry = new CallRegistry();
  readonly #server: Server;
  readonly #options: GrpcServerOptions;
  readonly #services: DescService[] = [];
  readonly #failures: FailureLog;
  #shutdown: Promise<void> | undefined;

  constructor(options: GrpcServerOptions) {
    this.#options = options;
    this.#failures = new FailureLog(options.log);
    routeGrpcLogs(options.log);
    this.#server = new Server({
      // ExecStream stdin chunks and Exec output can be large; 16 MiB leaves room over Exec's 4 MiB default per stream.
      "grpc.max_receive_message_length": 16 * 1024 * 1024,
      "grpc.max_send_message_length": 16 * 1024 * 1024,
      // Channelz bookkeeping: per-call counters and traces for a channelz service this server does not offer. Off, a
      // Status was 0-0.3 ms faster at p50 in three interleaved runs (two plugins against one agent).
      "grpc.enable_channelz": 0,
    });
  }

  /** The services added so far (reflection serves their files). */
  get services(): readonly DescService[] {
    return this.#services;
  }

  addService<S extends GenService<GenServiceMethods>>(service: S, impl: ServiceImpl<S>, options: { open?: boolean } = {}): void {
    const { definition, implementation } = bridgeService(service, impl, {
      registry: this.registry,
      log: this.#options.log,
      failures: this.#failures,
      describe: this.#options.describe,
      // Infrastructure services (health, reflection, go-plugin's own) stay reachable without the bearer token.
      authorize: options.open ? undefined : this.#options.authorize,
    });
    this.#server.addService(definition, implementation);
    this.#services.push(service);
  }

  /** Binds e.g. "127.0.0.1:0" or "unix:/tmp/x.sock"; resolves with the bound port (0 for unix sockets). */
  listen(address: string, credentials: ServerCredentials = ServerCredentials.createInsecure()): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#server.bindAsync(address, credentials, (err, port) => (err ? reject(err) : resolve(port)));
    });
  }

  /** Serves connections accepted elsewhere, e.g. on a socket bound before grpc-js was even loaded. */
  connectionSink(credentials: ServerCredentials): (connection: Duplex) => void {
    const injector = this.#server.createConnectionInjector(credentials);
    return (connection) => {
      injector.injectConnection(connection);
      // A socket accepted paused (so no byte is read before the gRPC stack owns it) starts reading only now that
      // http2 (or TLS) has taken over its handle; without this a plaintext connection would never be read.
      if (connection.isPaused()) connection.resume();
    };
  }

  /** Graceful shutdown, bounded by graceMs; safe to call more than once. */
  shutdown(graceMs = 1000): Promise<void> {
    this.#shutdown ??= this.#stop(graceMs);
    return this.#shutdown;
  }

  async #stop(graceMs: number): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.tryShutdown(() => resolve()));
    await this.registry.drain(graceMs);
    // Handlers have returned; give grpc-js a moment to flush their final statuses before cutting connections.
    const flushed = await Promise.race([closed.then(() => true), delay(200).then(() => false)]);
    if (!flushed) this.#server.forceShutdown();
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
