// A go-plugin 1.6+ host with GRPCBrokerMultiplex, on the wire (read from go-plugin's client.go and
// internal/grpcmux/grpc_client_muxer.go): it sets PLUGIN_MULTIPLEX_GRPC=true, reads all seven handshake fields and
// refuses a plugin whose 7th is not true, dials the socket ONCE, runs a yamux client on that connection, and makes
// every gRPC connection (TLS inside, with AutoMTLS) a yamux stream of it (test/helpers/multiplexing-host.ts).

import { connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { multiplexingHost, type MultiplexingHost } from "../helpers/multiplexing-host.js";
import { refusingAddress, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

let plugin: PluginProcess | undefined;
let host: MultiplexingHost | undefined;
afterEach(async () => {
  host?.close();
  await plugin?.kill();
  host = plugin = undefined;
});

describe.each([
  { autoMtls: true, name: "with AutoMTLS" },
  { autoMtls: false, name: "without AutoMTLS" },
])("a go-plugin host that multiplexes gRPC over one connection, $name", ({ autoMtls }) => {
  it("gets `true` as the 7th handshake field, serves health, Info and Shutdown over yamux streams of one connection", async () => {
    plugin = await startPluginProcess({ autoMtls, env: { PLUGIN_MULTIPLEX_GRPC: "true", CP_NOMAD_ADDRESS: await refusingAddress() } });
    const hs = plugin.handshake;
    expect(hs.multiplex).toBe("true");
    if (autoMtls) expect(hs.cert).toMatch(/^[A-Za-z0-9+/]{51,}$/);
    else expect(plugin.stdout()).toBe(`1|1|unix|${hs.address}|grpc||true\n`);

    host = await multiplexingHost(plugin);
    const client = <S extends Parameters<typeof createServiceClient>[0]>(service: S) =>
      createServiceClient(service, host!.target, plugin!.credentials, plugin!.channelOptions);

    const health = client(Health);
    const provider = client(ProviderService);
    try {
      expect((await health.check({ service: "plugin" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      const info = await provider.info({});
      expect(info.name).toBe("nomad");
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      // grpc-js shares one gRPC connection between both clients: one yamux stream of the one session carried it all.
      expect(host.session.streamCount).toBe(1);
    } finally {
      health.close();
      provider.close();
    }

    // go-plugin's muxer serves the first connection only; a plain second dial is not served.
    const second = connect(hs.address);
    await new Promise<void>((resolve) => second.once("close", () => resolve()).once("error", () => {}));

    const controller = client(GRPCController);
    try {
      await controller.shutdown({});
    } finally {
      controller.close();
    }
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
  });
});

describe("a host that does not multiplex", () => {
  it("gets the six-field line it can parse, with the certificate last", async () => {
    plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: await refusingAddress() } });
    expect(plugin.handshake.multiplex).toBeUndefined();
    expect(plugin.stdout().trimEnd().split("|")).toHaveLength(6);
  });
});
