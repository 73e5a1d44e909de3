// A host without AutoMTLS sends no PLUGIN_CLIENT_CERT: the handshake has five fields and the socket speaks
// plaintext gRPC — including for a call that arrives before the plugin has finished loading its gRPC stack.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

let plugin: PluginProcess;
beforeAll(async () => {
  plugin = await startPluginProcess({ autoMtls: false });
});
afterAll(() => plugin?.kill());

describe("plugin mode without AutoMTLS", () => {
  it("serves health and ProviderService in plaintext right after the handshake, and exits 0 on Shutdown", async () => {
    expect(plugin.stdout()).toBe(`1|1|unix|${plugin.handshake.address}|grpc\n`);
    const health = createServiceClient(Health, plugin.target);
    const provider = createServiceClient(ProviderService, plugin.target);
    const controller = createServiceClient(GRPCController, plugin.target);
    try {
      expect((await health.check({ service: "plugin" }, { deadlineMs: 10_000 })).status).toBe(1);
      expect((await provider.info({}, { deadlineMs: 10_000 })).name).toBe("nomad");
      await controller.shutdown({});
      expect(await plugin.exited).toEqual({ code: 0, signal: null });
    } finally {
      for (const c of [health, provider, controller]) c.close();
    }
  });
});
