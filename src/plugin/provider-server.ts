// The gRPC server both modes serve: ProviderService, grpc.health.v1 and server
// reflection (v1 and v1alpha) over exactly the services served.

import type { DescMethod } from "@bufbuild/protobuf";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1Alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { GrpcServer } from "../grpc/grpc-server.js";
import { healthService, HealthStatus } from "../grpc/health-service.js";
import { reflectionImpls } from "../grpc/reflection-service.js";
import type { CallContext } from "../grpc/service-impl.js";
import type { Logger } from "../log.js";
import type { ProviderServiceImpl } from "../provider/provider-service.js";

export interface ProviderServerOptions {
  provider: ProviderServiceImpl;
  log: Logger;
  /** Refuses ProviderService calls (health and reflection stay open so probes and buf curl --list-methods work). */
  authorize?: (ctx: CallContext, method: DescMethod) => void;
  /** Service names reported SERVING besides "" (go-plugin hosts ask for "plugin"). */
  healthNames?: readonly string[];
}

export interface ProviderServer {
  server: GrpcServer;
  health: HealthStatus;
}

export function createProviderServer(options: ProviderServerOptions): ProviderServer {
  const server = new GrpcServer({ log: options.log, authorize: options.authorize, describe: describeRequest });
  const health = new HealthStatus(["", ProviderService.typeName, ...(options.healthNames ?? [])]);
  server.addService(ProviderService, options.provider);
  server.addService(Health, healthService(health), { open: true });
  const reflection = reflectionImpls(() => server.services);
  server.addService(ReflectionV1, reflection.v1, { open: true });
  server.addService(ReflectionV1Alpha, reflection.v1alpha, { open: true });
  return { server, health };
}

/** The instance a ProviderService request is about, for the log lines of its failure. */
export function describeRequest(request: unknown): Record<string, unknown> {
  const id = (request as { instanceId?: unknown } | null)?.instanceId;
  return typeof id === "string" && id !== "" ? { instance_id: id } : {};
}
