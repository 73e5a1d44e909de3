// A service whose implementation is loaded on first use. The plugin must print its handshake line fast (the host
// waits for it), while the provider's implementation pulls in the HTTP client and every RPC family: registering a
// forwarding implementation lets the server start serving before that code is even parsed.

import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { CallContext, ServiceImpl } from "./service-impl.js";

type AnyMethod = (input: unknown, ctx: CallContext) => unknown;

export function lazyService<S extends GenService<GenServiceMethods>>(service: S, load: () => Promise<ServiceImpl<S>>): ServiceImpl<S> {
  let loaded: Promise<Record<string, AnyMethod>> | undefined;
  const impl = () => (loaded ??= load() as Promise<unknown> as Promise<Record<string, AnyMethod>>);
  const out: Record<string, unknown> = {};
  for (const method of service.methods) {
    const name = method.localName;
    out[name] =
      method.methodKind === "unary" || method.methodKind === "client_streaming"
        ? async (input: unknown, ctx: CallContext) => (await impl())[name]!(input, ctx)
        : async function* (input: unknown, ctx: CallContext) {
            yield* (await impl())[name]!(input, ctx) as AsyncIterable<unknown>;
          };
  }
  return out as ServiceImpl<S>;
}
