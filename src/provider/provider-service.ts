// Assembles ProviderService from the RPC family modules. Each family module exports a `family` with its handlers
// and the ctrlplane capability strings it makes true. A method no family implements answers UNIMPLEMENTED, and
// Capabilities lists only what the registered families declare: the list is derived, never hand-maintained.
// A Nomad "not found" about an instance's job is answered in the caller's terms here, once for every RPC.

import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { CallContext, ServiceImpl } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import type { ProviderDeps } from "./provider-deps.js";
import { jobIdOf } from "./instance-id.js";

export type ProviderServiceImpl = ServiceImpl<typeof ProviderService>;

/** One RPC family: some handlers plus the capabilities they provide. */
export interface RpcFamily {
  capabilities: readonly string[];
  handlers: (deps: ProviderDeps) => Partial<ProviderServiceImpl>;
}

/** Builds the service from the given families (src/provider/families.ts lists the production set). */
export function createProviderService(deps: ProviderDeps, registered: readonly RpcFamily[]): ProviderServiceImpl {
  const impl: Partial<ProviderServiceImpl> = {};
  for (const family of registered) Object.assign(impl, family.handlers(deps));
  for (const method of ProviderService.methods) {
    const name = method.localName as keyof ProviderServiceImpl;
    const handler = impl[name] as ((request: unknown, ctx: CallContext) => unknown) | undefined;
    if (!handler) continue;
    (impl as Record<string, unknown>)[name] =
      method.methodKind === "unary"
        ? async (request: unknown, ctx: CallContext) => {
            try {
              return await (handler(request, ctx) as Promise<unknown>);
            } catch (err) {
              throw inCallersTerms(err, request);
            }
          }
        : method.methodKind === "server_streaming"
          ? async function* (request: unknown, ctx: CallContext) {
              try {
                yield* handler(request, ctx) as AsyncIterable<unknown>;
              } catch (err) {
                throw inCallersTerms(err, request);
              }
            }
          : handler;
  }
  const capabilities = [...new Set(registered.flatMap((f) => f.capabilities))];
  impl.capabilities ??= async () => ({ capabilities });

  for (const method of ProviderService.methods) {
    const name = method.localName as keyof ProviderServiceImpl;
    if (impl[name]) continue;
    const unimplemented = () => {
      throw new ProviderError(Code.Unimplemented, `${method.name} is not implemented by this build of nomad-provider`);
    };
    (impl as Record<string, unknown>)[name] =
      method.methodKind === "unary" || method.methodKind === "client_streaming"
        ? async () => unimplemented()
        : async function* () {
            unimplemented();
          };
  }
  return impl as ProviderServiceImpl;
}

/**
 * Restates a Nomad "not found" about the instance's own job in the caller's terms (the instance), keeping Nomad's
 * answer as the cause: `instance nope not found (Nomad job cp-nope in namespace default)`.
 */
function inCallersTerms(err: unknown, request: unknown): unknown {
  if (!(err instanceof ProviderError) || err.code !== Code.NotFound || err.subject?.kind !== "job") return err;
  const instanceId = (request as { instanceId?: unknown } | undefined)?.instanceId;
  if (typeof instanceId !== "string" || jobIdOf(instanceId) !== err.subject.id) return err;
  const where = err.subject.namespace ? ` in namespace ${err.subject.namespace}` : "";
  return new ProviderError(Code.NotFound, `instance ${instanceId} not found (Nomad job ${err.subject.id}${where})`, {
    cause: err,
    httpStatus: err.httpStatus,
  });
}
