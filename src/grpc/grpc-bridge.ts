// Turns a protobuf-es GenService plus a handwritten ServiceImpl into what grpc-js serves: one MethodDefinition per
// method (path /pkg.Service/Method, protobuf-es binary codec) and one grpc-js handler that gives the implementation
// a CallContext, writes streams with backpressure and maps every failure to a status through status-mapping.ts.

import type {
  handleBidiStreamingCall,
  handleClientStreamingCall,
  handleServerStreamingCall,
  handleUnaryCall,
  MethodDefinition,
  ServiceDefinition,
  UntypedHandleCall,
  UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { create, fromBinary, ScalarType, toBinary, type DescMessage, type DescMethod, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Writable } from "node:stream";
import type { Logger } from "../log.js";
import { Code, ProviderError } from "../errors.js";
import { createCallContext, type LiveCallContext } from "./call-context.js";
import type { CallKind, CallRegistry } from "./call-registry.js";
import type { CallContext, ServiceImpl } from "./service-impl.js";
import { isClientFacing, toGrpcStatus, type GrpcStatusError } from "./status-mapping.js";
import { incoming } from "./incoming-messages.js";
import { headroomOf, recycle } from "./spliced-bytes.js";
import { FailureLog } from "./failure-log.js";

export interface BridgeOptions {
  registry: CallRegistry;
  log: Logger;
  /** Runs before every handler; throw a ProviderError (e.g. UNAUTHENTICATED) to refuse the call. */
  authorize?: (ctx: CallContext, method: DescMethod) => void;
  /** Rate-limits the log lines of failed calls (one per server, shared by its services). */
  failures?: FailureLog;
  /** Log fields that identify what a request is about (e.g. its instance id). */
  describe?: (request: unknown) => Record<string, unknown>;
}

export interface BridgedService {
  definition: ServiceDefinition;
  implementation: UntypedServiceImplementation;
}

/** The grpc-js path of a method: /package.Service/Method. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

export function bridgeService<S extends GenService<GenServiceMethods>>(
  service: S,
  impl: ServiceImpl<S>,
  options: BridgeOptions,
): BridgedService {
  const definition: Record<string, MethodDefinition<unknown, unknown>> = {};
  const implementation: UntypedServiceImplementation = {};
  const handlers = impl as Record<string, (...args: never[]) => unknown>;
  for (const method of service.methods) {
    const handler = handlers[method.localName];
    if (!handler) throw new Error(`bridgeService: ${method.parent.typeName} has no handler for ${method.localName}`);
    definition[method.localName] = methodDefinition(method);
    implementation[method.localName] = grpcHandler(method, handler.bind(impl) as AnyHandler, options);
  }
  return { definition: definition as ServiceDefinition, implementation };
}

function methodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  const responseStream = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return {
    path: methodPath(method),
    requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
    responseStream,
    requestSerialize: serializerFor(method.input),
    requestDeserialize: (bytes: Buffer) => decodeRequest(method, bytes),
    // Streamed responses reach grpc-js already encoded: writeAll encodes them to count their bytes.
    responseSerialize: responseStream ? (bytes: unknown) => bytes as Buffer : serializerFor(method.output),
    responseDeserialize: (bytes: Buffer) => fromBinary(method.output, bytes),
    originalName: method.localName,
  };
}

/** Bytes that are no valid encoding of the request message. Left to grpc-js, a decode failure would be INTERNAL; the
 *  contract calls a malformed request INVALID_ARGUMENT, so decoding never throws and the handler refuses it instead. */
class UndecodableRequest {
  constructor(readonly error: ProviderError) {}
}

function decodeRequest(method: DescMethod, bytes: Buffer): unknown {
  try {
    return fromBinary(method.input, bytes);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return new UndecodableRequest(new ProviderError(Code.InvalidArgument, `not a valid ${method.input.typeName} encoding (${why})`, { field: "request" }));
  }
}

function decoded<T>(message: T): T {
  if (message instanceof UndecodableRequest) throw message.error;
  return message;
}

async function* decodedAll(messages: AsyncIterable<unknown>): AsyncGenerator<unknown> {
  for await (const message of messages) yield decoded(message);
}

/** Bytes fields at least this large skip protobuf-es's growing write buffer (see serializer). */
const spliceBytesFrom = 16 * 1024;

/** The serializer of a message type, made once. */
function serializerFor(schema: DescMessage): (value: unknown) => Buffer {
  let serialize = serializers.get(schema);
  if (!serialize) serializers.set(schema, (serialize = serializer(schema)));
  return serialize;
}

const serializers = new WeakMap<DescMessage, (value: unknown) => Buffer>();

/**
 * toBinary, without copying a large `bytes` field (a batch of log lines) more than once: protobuf-es's writer would
 * copy it several times as its buffer grows, so it is placed after the rest of the encoding instead (protobuf parsers
 * accept fields in any order). Bytes from allocSplicedBytes are not copied at all: the rest goes in front of them.
 */
function serializer(schema: DescMessage) {
  const spliceable = schema.fields.filter(
    (f) => f.fieldKind === "scalar" && f.scalar === ScalarType.BYTES && f.oneof === undefined && f.presence === FeatureSet_FieldPresence.IMPLICIT,
  );
  return (value: unknown) => {
    const message = create(schema, value as MessageShape<DescMessage>) as Record<string, unknown>;
    const field = spliceable.find((f) => {
      const bytes = message[f.localName] as Uint8Array;
      return bytes.byteLength >= spliceBytesFrom || headroomOf(bytes) > 0;
    });
    if (!field) return asBuffer(toBinary(schema, message as MessageShape<DescMessage>));
    const data = message[field.localName] as Uint8Array;
    const rest = toBinary(schema, { ...message, [field.localName]: new Uint8Array(0) } as MessageShape<DescMessage>);
    const prefix = new BinaryWriter().tag(field.number, WireType.LengthDelimited).uint32(data.byteLength).finish();
    const front = rest.byteLength + prefix.byteLength;
    if (headroomOf(data) < front) return Buffer.concat([rest, prefix, data], front + data.byteLength);
    const out = Buffer.from(data.buffer, data.byteOffset - front, front + data.byteLength);
    out.set(rest, 0);
    out.set(prefix, rest.byteLength);
    return out;
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

type AnyHandler = (input: unknown, ctx: CallContext) => unknown;

function grpcHandler(method: DescMethod, handler: AnyHandler, options: BridgeOptions): UntypedHandleCall {
  switch (method.methodKind) {
    case "unary":
      return ((call, callback) => {
        void runCall(call, "unary", method, options, call.request, async (ctx) => {
          const out = await (handler(decoded(call.request), ctx) as Promise<unknown>);
          callback(null, out);
        }, (status) => callback(status));
      }) satisfies handleUnaryCall<unknown, unknown>;
    case "server_streaming":
      return ((call) => {
        streamResponses(call, method, options, call.request, (ctx) => handler(decoded(call.request), ctx));
      }) satisfies handleServerStreamingCall<unknown, unknown>;
    case "client_streaming":
      return ((call, callback) => {
        void runCall(call, "stream", method, options, undefined, async (ctx) => {
          const out = await (handler(decodedAll(incoming(call, ctx.signal)), ctx) as Promise<unknown>);
          callback(null, out);
        }, (status) => callback(status));
      }) satisfies handleClientStreamingCall<unknown, unknown>;
    case "bidi_streaming":
      return ((call) => {
        streamResponses(call, method, options, undefined, (ctx) => handler(decodedAll(incoming(call, ctx.signal)), ctx));
      }) satisfies handleBidiStreamingCall<unknown, unknown>;
  }
}

/** Runs a handler whose answer is a stream: writes every response, then ends the call (or sends the failure). */
function streamResponses(
  call: Writable & Parameters<typeof createCallContext>[0],
  method: DescMethod,
  options: BridgeOptions,
  request: unknown,
  responses: (ctx: LiveCallContext) => unknown,
): void {
  void runCall(call, "stream", method, options, request, async (ctx) => {
    await writeAll(call, responses(ctx) as AsyncIterable<unknown>, serializerFor(method.output), ctx.signal);
    call.end();
  }, (status) => call.emit("error", status));
}

async function runCall(
  call: Parameters<typeof createCallContext>[0],
  kind: CallKind,
  method: DescMethod,
  options: BridgeOptions,
  request: unknown,
  body: (ctx: LiveCallContext) => Promise<void>,
  fail: (status: GrpcStatusError) => void,
): Promise<void> {
  const ctx = createCallContext(call);
  let done: (() => void) | undefined;
  try {
    done = options.registry.begin(ctx, kind);
    options.authorize?.(ctx, method);
    await body(ctx);
  } catch (err) {
    // Once the call's signal fired, its reason (cancel, deadline, shutdown) is the truth, whatever the handler threw.
    const cause = ctx.signal.aborted && ctx.signal.reason instanceof ProviderError ? ctx.signal.reason : err;
    logFailure(options, method, request, ctx, err, cause);
    fail(toGrpcStatus(cause));
  } finally {
    ctx.dispose();
    done?.();
  }
}

/** Failures that say something is wrong on the plugin's or Nomad's side: the operator must see them (rate-limited). */
const operatorCodes = new Set([Code.Unavailable, Code.PermissionDenied, Code.Internal, Code.DeadlineExceeded, Code.Unknown, Code.DataLoss]);

/** A fallback for bridges built without a server's shared FailureLog (tests). */
const unshared = new WeakMap<Logger, FailureLog>();

function logFailure(options: BridgeOptions, method: DescMethod, request: unknown, ctx: CallContext, err: unknown, cause: unknown): void {
  const failures = options.failures ?? unshared.get(options.log) ?? unshared.set(options.log, new FailureLog(options.log)).get(options.log)!;
  const fields: Record<string, unknown> = {
    rpc: methodPath(method),
    ...(request !== undefined && !(request instanceof UndecodableRequest) ? options.describe?.(request) : undefined),
    trace_id: ctx.trace?.traceId,
  };
  if (!isClientFacing(cause)) {
    failures.report("INTERNAL", "error", "handler failed unexpectedly", { ...fields, code: "INTERNAL", error: err instanceof Error ? err.stack ?? err.message : String(err) });
    return;
  }
  const code = grpcCodeName(cause.code);
  const detail = { ...fields, code, error: cause.message, cause: causeText(cause) };
  if (operatorCodes.has(cause.code)) failures.report(code, "warn", "call failed", detail);
  else options.log.debug("call failed", detail);
}

/** The gRPC name of a code, as a host's operator reads it in grpc status output: UNAVAILABLE, NOT_FOUND. */
function grpcCodeName(code: Code): string {
  return Code[code]!.replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

/** The upstream's own words under an error restated in the caller's terms, when they add something. */
function causeText(err: ProviderError): string | undefined {
  const cause = err.cause;
  if (!(cause instanceof Error) || err.message.includes(cause.message)) return undefined;
  return cause.message;
}

/** Encoded response bytes a stream may have handed to grpc-js and HTTP/2 that are not yet sent. */
const writeBudgetBytes = 1024 * 1024;

/**
 * Writes every message of the handler's stream. grpc-js buffers up to 16 messages before write() says to wait, which
 * for batches of log lines (up to 1 MiB each) held 16 MiB per slow client; so messages are encoded here and the
 * stream also waits while more than writeBudgetBytes of them are unsent (the write callback fires once HTTP/2 took a
 * message, which a client's flow-control window holds back).
 */
async function writeAll(call: Writable, messages: AsyncIterable<unknown>, serialize: (value: unknown) => Buffer, signal: AbortSignal): Promise<void> {
  let unsent = 0;
  let wake: (() => void) | undefined;
  for await (const message of messages) {
    if (signal.aborted) throw signal.reason;
    const bytes = serialize(message);
    unsent += bytes.length;
    const buffered = !call.write(bytes, () => {
      unsent -= bytes.length;
      recycle(bytes);
      if (unsent <= writeBudgetBytes) wake?.();
    });
    if (buffered) await drained(call, signal);
    else if (unsent > writeBudgetBytes) await drained(call, signal, (w) => (wake = w));
    wake = undefined;
  }
}

/**
 * Resolves on 'drain' (or when `onWake`'s wake function is called); rejects with the abort reason, or when the call
 * closes first (a cancelled call never drains).
 */
function drained(call: Writable, signal: AbortSignal, onWake?: (wake: () => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const settle = (err?: unknown) => {
      call.off("drain", onDrain).off("close", onClose);
      signal.removeEventListener("abort", onAbort);
      if (err === undefined) resolve();
      else reject(err);
    };
    const onDrain = () => settle();
    const onClose = () => settle(new ProviderError(Code.Canceled, "the call closed while writing"));
    const onAbort = () => settle(signal.reason);
    call.on("drain", onDrain).on("close", onClose);
    signal.addEventListener("abort", onAbort);
    onWake?.(onDrain);
    if (signal.aborted) onAbort();
  });
}
