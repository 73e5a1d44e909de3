// The shape of a handwritten implementation of a protobuf-es GenService, independent of grpc-js.
// Unary methods return a plain object (MessageInitShape) or a message; server-streaming methods are async
// generators; bidi methods take an async iterable of requests. The bridge (grpc-bridge.ts) adapts this to grpc-js.

import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { TraceContext } from "../trace-context.js";

/** What every handler gets besides its request. */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes, or the server shuts down. Pass it to every Nomad call. */
  readonly signal: AbortSignal;
  /** The gRPC deadline, if the client set one. */
  readonly deadline: Date | undefined;
  /** Request metadata (lower-case keys; binary values are not included). */
  readonly metadata: Readonly<Record<string, string>>;
  /** The caller's W3C trace context (valid `traceparent` metadata), also bound to `signal` for every Nomad request. */
  readonly trace?: TraceContext | undefined;
}

type Out<O extends DescMessage> = MessageInitShape<O> | MessageShape<O>;

export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => Promise<Out<O>>;
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  ctx: CallContext,
) => AsyncIterable<Out<O>>;
export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => Promise<Out<O>>;
export type BiDiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  ctx: CallContext,
) => AsyncIterable<Out<O>>;

type MethodImpl<M> = M extends { methodKind: infer K; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? K extends "unary"
    ? UnaryImpl<I, O>
    : K extends "server_streaming"
      ? ServerStreamingImpl<I, O>
      : K extends "client_streaming"
        ? ClientStreamingImpl<I, O>
        : BiDiStreamingImpl<I, O>
  : never;

/** A full implementation of a service: one function per method (localName keys, e.g. `watchStatus`). */
export type ServiceImpl<S> = S extends GenService<infer M extends GenServiceMethods> ? { [K in keyof M]: MethodImpl<M[K]> } : never;
