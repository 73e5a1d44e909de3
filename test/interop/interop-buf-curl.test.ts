// An operator debugging with `buf curl` (the README's commands) against the plugin in standalone mode: with nothing
// but server reflection it finds the services and methods, calls them, and sees gRPC errors by their code.

import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { toJson } from "@bufbuild/protobuf";
import { CapabilitiesResponseSchema, ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { status } from "@grpc/grpc-js";
import { createProviderClient, type ServiceError } from "../helpers/provider-client.js";
import { repoRoot } from "./interop-build.js";
import { runProgram, startStandalonePlugin, type StandalonePlugin } from "./interop-processes.js";

const buf = join(repoRoot, "node_modules/.bin/buf");

describe("buf curl against the standalone plugin", () => {
  let plugin: StandalonePlugin;
  let base: string;
  const curl = (...args: string[]) =>
    runProgram(buf, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeoutMs: 20_000 });

  beforeAll(async () => {
    // No Nomad needed (nothing listens on port 1): reflection, Capabilities and input validation never call it.
    plugin = await startStandalonePlugin(["--nomad-address", "http://127.0.0.1:1"]);
    base = `http://${plugin.target}`;
  }, 30_000);

  afterAll(async () => {
    await plugin?.stop();
  });

  it("lists the provider, health and reflection services by reflection", async () => {
    const result = await curl("--list-services", base);
    expect(result.code, result.stderr).toBe(0);
    const services = result.stdout.trim().split("\n");
    expect(services).toContain("ctrlplane.provider.v1.ProviderService");
    expect(services).toContain("grpc.health.v1.Health");
    expect(services.some((s) => s.startsWith("grpc.reflection."))).toBe(true);
  });

  it("lists every method of the contract", async () => {
    const result = await curl("--list-methods", base);
    expect(result.code, result.stderr).toBe(0);
    const prefix = "ctrlplane.provider.v1.ProviderService/";
    const listed = result.stdout.trim().split("\n").filter((m) => m.startsWith(prefix));
    expect(listed.sort()).toEqual(ProviderService.methods.map((m) => prefix + m.name).sort());
  });

  it("calls Capabilities and gets the same answer a grpc-js client decodes", async () => {
    const result = await curl("-d", "{}", `${base}/ctrlplane.provider.v1.ProviderService/Capabilities`);
    expect(result.code, result.stderr).toBe(0);
    const client = createProviderClient(plugin.target);
    try {
      const direct = await client.capabilities({});
      expect(JSON.parse(result.stdout)).toEqual(toJson(CapabilitiesResponseSchema, direct));
    } finally {
      client.close();
    }
  });

  it("shows an RPC's failure with the same gRPC code a grpc-js client gets", async () => {
    // An instance ID with a space is rejected before any Nomad call.
    const request = { instanceId: "not a valid id" };
    const result = await curl("-d", JSON.stringify(request), `${base}/ctrlplane.provider.v1.ProviderService/Status`);
    expect(result.code).not.toBe(0);
    const client = createProviderClient(plugin.target);
    const code = await client.status(request).then(
      () => "OK",
      (err: ServiceError) => status[err.code],
    );
    client.close();
    // INVALID_ARGUMENT once Status is implemented, UNIMPLEMENTED before: never a success, never a transport error.
    expect(["INVALID_ARGUMENT", "UNIMPLEMENTED"]).toContain(code);
    expect(JSON.parse(result.stderr)).toMatchObject({ code: code!.toLowerCase() });
  });
});
