// Runs ProviderService in the test process on a loopback port, with the real NomadHttp transport pointed at
// nomadAddress (usually a dev agent). The fast path for tests of RPC families: no subprocess, no handshake.

import { afterAll, beforeAll } from "vitest";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { createLogger, type Logger } from "../../src/log.js";
import { GrpcServer } from "../../src/grpc/grpc-server.js";
import { describeRequest } from "../../src/plugin/provider-server.js";
import { createProviderService, type RpcFamily } from "../../src/provider/provider-service.js";
import type { ProviderSettings } from "../../src/provider/provider-deps.js";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { createProviderClient, type ProviderClient } from "./provider-client.js";

export interface InProcessProviderOptions {
  nomadAddress: string;
  token?: string;
  families: readonly RpcFamily[];
  region?: string;
  namespace?: string;
  settings?: Partial<ProviderSettings>;
  /** Default: warnings and errors only, so test output stays readable. */
  log?: Logger;
}

export interface InProcessProvider {
  client: ProviderClient;
  /** host:port of the gRPC server. */
  address: string;
  /** The transport the handlers use (e.g. to inspect or share it in a test). */
  nomad: NomadHttp;
  close(): Promise<void>;
}

export async function startInProcessProvider(options: InProcessProviderOptions): Promise<InProcessProvider> {
  const log = options.log ?? createLogger({ level: "warn" });
  const nomad = new NomadHttp({
    address: options.nomadAddress,
    token: options.token,
    region: options.region,
    namespace: options.namespace,
  });
  const settings: ProviderSettings = { datacenters: [], cpuMhzPerCore: 1000, version: "0.0.0-test", ...options.settings };
  const server = new GrpcServer({ log, describe: describeRequest });
  server.addService(ProviderService, createProviderService({ nomad, settings, log }, options.families));
  const port = await server.listen("127.0.0.1:0");
  const address = `127.0.0.1:${port}`;
  const client = createProviderClient(address);
  return {
    client,
    address,
    nomad,
    async close() {
      client.close();
      await server.shutdown(500);
      await nomad.close();
    },
  };
}

/**
 * A provider for a test file: started before its tests (after the hooks registered earlier, e.g. useDevAgent's, whose
 * agent `options` may read) and closed after them.
 */
export function useInProcessProvider(options: () => InProcessProviderOptions): () => InProcessProvider {
  let provider: InProcessProvider | undefined;
  beforeAll(async () => {
    provider = await startInProcessProvider(options());
  });
  afterAll(async () => {
    await provider?.close();
  });
  return () => {
    if (!provider) throw new Error("provider not started");
    return provider;
  };
}
