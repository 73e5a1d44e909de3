// A typed gRPC client for tests, over grpc-js's generic Client and the protobuf-es descriptors: unary calls return
// promises, server streams are async iterables (break out of for-await, or abort the signal, to cancel), bidi calls
// give send/end plus an async iterable of responses. Failures reject with grpc-js's ServiceError (.code, .details).

import { Client, credentials as grpcCredentials, Metadata, type ChannelCredentials, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";

export interface ClientCallOptions {
  signal?: AbortSignal;
  deadlineMs?: number;
  /** Extra request metadata, e.g. { authorization: "Bearer x" }. */
  metadata?: Record<string, string>;
}

export interface BidiCall<I extends DescMessage, O extends DescMessage> {
  send(init: MessageInitShape<I>): void;
  end(): void;
  responses: AsyncIterable<MessageShape<O>>;
}

type ClientMethod<M> = M extends { methodKind: infer K; input: infer I extends DescMessage; output: infer O extends DescMessage }
  ? K extends "unary"
    ? (init?: MessageInitShape<I>, options?: ClientCallOptions) => Promise<MessageShape<O>>
    : K extends "server_streaming"
      ? (init?: MessageInitShape<I>, options?: ClientCallOptions) => AsyncIterable<MessageShape<O>>
      : K extends "bidi_streaming"
        ? (options?: ClientCallOptions) => BidiCall<I, O>
        : never
  : never;

export type ServiceClient<S> =
  S extends GenService<infer M extends GenServiceMethods>
    ? { [K in keyof M]: ClientMethod<M[K]> } & { close(): void; readonly grpc: Client }
    : never;

export type ProviderClient = ServiceClient<typeof ProviderService>;

export type { ServiceError };

/** A client of ProviderService at target (e.g. "127.0.0.1:50051" or "unix:/tmp/plugin.sock"); insecure by default. */
export function createProviderClient(target: string, credentials?: ChannelCredentials): ProviderClient {
  return createServiceClient(ProviderService, target, credentials);
}

/** A client of any protobuf-es service (health, reflection, go-plugin's services in plugin tests). */
export function createServiceClient<S extends GenService<GenServiceMethods>>(
  service: S,
  target: string,
  credentials: ChannelCredentials = grpcCredentials.createInsecure(),
  channelOptions: Record<string, string | number> = {},
): ServiceClient<S> {
  const client = new Client(target, credentials, channelOptions);
  const out: Record<string, unknown> = { close: () => client.close(), grpc: client };
  for (const method of service.methods) out[method.localName] = clientMethod(client, method);
  return out as ServiceClient<S>;
}

function clientMethod(client: Client, method: DescMethod): unknown {
  const path = `/${method.parent.typeName}/${method.name}`;
  const serialize = (value: unknown) => Buffer.from(toBinary(method.input, value as MessageShape<DescMessage>));
  const deserialize = (bytes: Buffer) => fromBinary(method.output, bytes);
  const request = (init: unknown) => create(method.input, (init ?? {}) as MessageInitShape<DescMessage>);

  switch (method.methodKind) {
    case "unary":
      return (init: unknown, options: ClientCallOptions = {}) =>
        new Promise((resolve, reject) => {
          const call = client.makeUnaryRequest(path, serialize, deserialize, request(init), metadataOf(options), callOptions(options), (err: ServiceError | null, value?: unknown) => (err ? reject(err) : resolve(value)));
          cancelOnAbort(options.signal, () => call.cancel());
        });
    case "server_streaming":
      return (init: unknown, options: ClientCallOptions = {}) =>
        responses(client.makeServerStreamRequest(path, serialize, deserialize, request(init), metadataOf(options), callOptions(options)), options.signal);
    case "bidi_streaming":
      return (options: ClientCallOptions = {}) => {
        const call = client.makeBidiStreamRequest(path, serialize, deserialize, metadataOf(options), callOptions(options));
        return {
          send: (init: unknown) => call.write(request(init)),
          end: () => call.end(),
          responses: responses(call, options.signal),
        };
      };
    default:
      throw new Error(`provider-client: ${method.methodKind} methods are not supported`);
  }
}

async function* responses<T>(call: ClientReadableStream<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  let finished = false;
  // After a cancel grpc-js still emits the CANCELLED status as 'error'; nobody is listening for it any more.
  const cancel = () => {
    if (finished) return;
    call.on("error", () => {});
    call.cancel();
  };
  const stop = cancelOnAbort(signal, cancel);
  try {
    for await (const message of call) yield message as T;
    finished = true;
  } finally {
    stop();
    cancel();
  }
}

function cancelOnAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    queueMicrotask(cancel);
    return () => {};
  }
  signal.addEventListener("abort", cancel, { once: true });
  return () => signal.removeEventListener("abort", cancel);
}

function metadataOf(options: ClientCallOptions): Metadata {
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(options.metadata ?? {})) metadata.set(k, v);
  return metadata;
}

function callOptions(options: ClientCallOptions): { deadline?: number } {
  return options.deadlineMs === undefined ? {} : { deadline: Date.now() + options.deadlineMs };
}
