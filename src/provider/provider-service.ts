// Assembles ProviderService from the RPC family modules. Each family module exports a `family` with its handlers
// and the ctrlplane capability strings it makes true. A method no family implements answers UNIMPLEMENTED, and
// Capabilities lists only what the registered families declare: the list is derived, never hand-maintained.

import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { ServiceImpl } from "../grpc/service-impl.js";
import { Code, ProviderError } from "../errors.js";
import type { ProviderDeps } from "./provider-deps.js";

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
