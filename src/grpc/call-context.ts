// Builds the CallContext of one gRPC call: its AbortSignal fires when the client cancels, the deadline passes or the
// server shuts down, with a ProviderError as the reason so Nomad calls aborted by it map to the right code; it also
// carries the caller's W3C trace context (traceparent/tracestate metadata) to every Nomad request of the call.

import type { Metadata } from "@grpc/grpc-js";
import type { EventEmitter } from "node:events";
import { Code, ProviderError } from "../errors.js";
import type { CallContext } from "./service-impl.js";
import { bindTrace, parseTraceContext } from "../trace-context.js";

interface GrpcCallLike extends EventEmitter {
  metadata: Metadata;
  getDeadline(): Date | number;
}

export interface LiveCallContext extends CallContext {
  /** Aborts the call's signal (server shutdown, transport failure). */
  abort(reason: ProviderError): void;
  /** Releases the deadline timer and listeners; call when the RPC is over. */
  dispose(): void;
}

const deadlineSlackMs = 100;

export function createCallContext(call: GrpcCallLike): LiveCallContext {
  const controller = new AbortController();
  const abort = (reason: ProviderError) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const deadline = toDate(call.getDeadline());
  const expire = () => abort(new ProviderError(Code.DeadlineExceeded, "the call's deadline passed"));
  // A client whose own deadline fires resets the stream a little before ours (the timeout travels as a duration):
  // a cancel that close to the deadline is the deadline.
  const onCancel = () =>
    deadline && Date.now() >= deadline.getTime() - deadlineSlackMs
      ? expire()
      : abort(new ProviderError(Code.Canceled, "the client canceled the call"));
  call.on("cancelled", onCancel);

  let timer: NodeJS.Timeout | undefined;
  if (deadline) {
    const ms = deadline.getTime() - Date.now();
    if (ms <= 0) expire();
    // setTimeout overflows past ~24.8 days; such deadlines are effectively none.
    else if (ms < 2 ** 31) timer = setTimeout(expire, ms);
  }

  const metadata = textMetadata(call.metadata);
  const trace = parseTraceContext(metadata.traceparent, metadata.tracestate);
  bindTrace(controller.signal, trace);

  return {
    signal: controller.signal,
    deadline,
    metadata,
    trace,
    abort,
    dispose() {
      if (timer) clearTimeout(timer);
      call.off("cancelled", onCancel);
    },
  };
}

function toDate(deadline: Date | number): Date | undefined {
  if (deadline instanceof Date) return Number.isFinite(deadline.getTime()) ? deadline : undefined;
  return Number.isFinite(deadline) ? new Date(deadline) : undefined;
}

function textMetadata(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.getMap())) {
    if (typeof value === "string") out[key.toLowerCase()] = value;
  }
  return out;
}
