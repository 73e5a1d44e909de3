// W3C trace context (https://www.w3.org/TR/trace-context/) carried from a gRPC call to every Nomad request it makes.
// The plugin is no tracer: it opens no spans and needs no OpenTelemetry SDK, it forwards the caller's `traceparent`
// and `tracestate` unchanged so Nomad's side of the work joins the caller's trace, and logs the trace id.
//
// The context rides on the call's AbortSignal, which every Nomad request already receives: bindTrace attaches it,
// traceOf reads it, and linkedSignal/withTraceOf carry it over to the signals derived from the call's own.

export interface TraceContext {
  /** The header as received (validated). */
  readonly traceparent: string;
  /** Forwarded only together with a valid traceparent. */
  readonly tracestate: string | undefined;
  /** 32 lower-case hex digits, for log lines. */
  readonly traceId: string;
}

const traceparentPattern = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-[^\s]*)?$/;
const zeroTraceId = "0".repeat(32);
const zeroParentId = "0".repeat(16);

/**
 * The trace context of a call's metadata, or undefined when there is no valid traceparent: an invalid one is
 * dropped with its tracestate, as the spec asks (a vendor must not forward what it cannot parse).
 */
export function parseTraceContext(traceparent: string | undefined, tracestate: string | undefined): TraceContext | undefined {
  if (traceparent === undefined) return undefined;
  const value = traceparent.trim();
  const m = traceparentPattern.exec(value);
  if (!m) return undefined;
  const [, version, traceId, parentId, , rest] = m;
  // Version ff is forbidden; version 00 has exactly four fields; later versions may append fields after a dash.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (traceId === zeroTraceId || parentId === zeroParentId) return undefined;
  return { traceparent: value, tracestate: validTracestate(tracestate), traceId: traceId! };
}

/** At most 32 list members of key=value, 512 characters in all (longer ones may be cut; dropping is allowed). */
function validTracestate(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === "" || v.length > 512 || !/^[\x20-\x7e]*$/.test(v)) return undefined;
  const members = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (members.length > 32) return undefined;
  const member = /^[a-z0-9][a-z0-9_\-*/@]{0,255}=[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;
  return members.every((m) => member.test(m)) ? members.join(",") : undefined;
}

const traces = new WeakMap<AbortSignal, TraceContext>();

/** Attaches a call's trace context to its signal (the gRPC layer does this once per call). */
export function bindTrace(signal: AbortSignal, trace: TraceContext | undefined): void {
  if (trace) traces.set(signal, trace);
}

/** The trace context of the call a signal belongs to, if its caller sent one. */
export function traceOf(signal: AbortSignal | undefined): TraceContext | undefined {
  return signal ? traces.get(signal) : undefined;
}

/** AbortSignal.any that keeps the trace context of the first signal carrying one. */
export function linkedSignal(signals: AbortSignal[]): AbortSignal {
  const linked = AbortSignal.any(signals);
  for (const s of signals) {
    const trace = traces.get(s);
    if (trace) {
      traces.set(linked, trace);
      break;
    }
  }
  return linked;
}

/** `signal` (e.g. a cleanup's own timeout) carrying the trace context of `from` (the call's signal). */
export function withTraceOf<S extends AbortSignal>(signal: S, from: AbortSignal | undefined): S {
  bindTrace(signal, traceOf(from));
  return signal;
}

/** The headers a Nomad request carries for a traced call. */
export function traceHeaders(trace: TraceContext): Record<string, string> {
  return trace.tracestate ? { traceparent: trace.traceparent, tracestate: trace.tracestate } : { traceparent: trace.traceparent };
}
