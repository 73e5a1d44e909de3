// grpc-js writes its own diagnostics to stderr as plain text ("E No address added out of total 1 resolved"). On a
// go-plugin host every stderr line should be an hclog JSON record, so grpc-js's logger is pointed at ours: its
// errors become warn lines of module "nomad-provider.grpc", its info and debug lines debug and trace.

import { setLogger } from "@grpc/grpc-js";
import { format } from "node:util";
import type { Logger } from "../log.js";

let routed = false;

/** Sends grpc-js's log lines to `log` (process-wide, as grpc-js's logger is; the first server's logger wins). */
export function routeGrpcLogs(log: Logger): void {
  if (routed) return;
  routed = true;
  const grpc = log.child("grpc");
  setLogger({
    error: (message?: unknown, ...rest: unknown[]) => grpc.warn(format(message, ...rest)),
    info: (message?: unknown, ...rest: unknown[]) => grpc.debug(format(message, ...rest)),
    debug: (message?: unknown, ...rest: unknown[]) => grpc.trace(format(message, ...rest)),
  } as Partial<Console>);
}
