// go-plugin's own services, plugin side: Shutdown answers at once and then triggers the graceful exit; the stdio and
// broker streams are accepted and held open (hosts open them at start and read until they end) but carry nothing:
// logs go to the real stderr, and this plugin brokers no extra connections.

import { GRPCBroker } from "../../gen/plugin/grpc_broker_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../../gen/plugin/grpc_stdio_pb.js";
import type { ServiceImpl } from "../grpc/service-impl.js";

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener("abort", () => resolve(), { once: true });
  });
}

export function controllerService(shutdown: () => void): ServiceImpl<typeof GRPCController> {
  return {
    async shutdown() {
      // After the answer is on its way: the host calls without a deadline and waits for the reply before its 2 s timer.
      setImmediate(shutdown);
      return {};
    },
  };
}

export function stdioService(): ServiceImpl<typeof GRPCStdio> {
  return {
    // Ends with OK when the server shuts down, which the host reads as a clean end of output.
    async *streamStdio(_req, ctx) {
      await untilAborted(ctx.signal);
    },
  };
}

export function brokerService(): ServiceImpl<typeof GRPCBroker> {
  return {
    async *startStream(requests, ctx) {
      try {
        for await (const _ of requests) void _;
      } catch (err) {
        if (!ctx.signal.aborted) throw err;
      }
    },
  };
}

export const pluginServices = { GRPCController, GRPCStdio, GRPCBroker };
