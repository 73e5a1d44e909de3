// A go-plugin host's view: launch the built plugin with the cookie and a client certificate, read the handshake,
// connect over the unix socket with mutual TLS, check health, call the provider, then Shutdown -> exit 0.

import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Health, HealthCheckResponse_ServingStatus } from "../../gen/grpc/health/v1/health_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { GRPCStdio } from "../../gen/plugin/grpc_stdio_pb.js";
import { GRPCBroker } from "../../gen/plugin/grpc_broker_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { refusingAddress, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

let plugin: PluginProcess;
beforeAll(async () => {
  plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: await refusingAddress(), CP_NOMAD_REGION: "eu", CP_NOMAD_DATACENTER: "dc1,dc2" } });
});
afterAll(() => plugin?.kill());

const client = <S extends Parameters<typeof createServiceClient>[0]>(service: S) =>
  createServiceClient(service, plugin.target, plugin.credentials, plugin.channelOptions);

describe("plugin handshake with AutoMTLS", () => {
  it("prints one go-plugin handshake line with a localhost certificate as the 6th field", () => {
    const hs = plugin.handshake;
    expect([hs.core, hs.app, hs.network, hs.protocol]).toEqual(["1", "1", "unix", "grpc"]);
    expect(hs.cert).toMatch(/^[A-Za-z0-9+/]{51,}$/); // std alphabet, unpadded, longer than go-plugin's 50-char floor
    const cert = new X509Certificate(Buffer.from(hs.cert!, "base64"));
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(plugin.stdout()).toBe(`1|1|unix|${hs.address}|grpc|${hs.cert}\n`);
  });

  it("reports SERVING for the go-plugin health service name and the server", async () => {
    const health = client(Health);
    try {
      expect((await health.check({ service: "plugin" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
      expect((await health.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  it("answers Info, Capabilities and HealthCheck over the mutual-TLS socket", async () => {
    const provider = client(ProviderService);
    try {
      const info = await provider.info({});
      expect(info).toMatchObject({ name: "nomad", region: "eu", namespace: "default", datacenters: ["dc1", "dc2"] });
      expect(info.version).toMatch(/^\d+\.\d+\.\d+/);
      const caps = await provider.capabilities({});
      expect(Array.isArray(caps.capabilities)).toBe(true);
      const health = await provider.healthCheck({}, { deadlineMs: 10_000 });
      expect(health.healthy).toBe(false);
      expect(health.message).toMatch(/ECONNREFUSED|refused/i);
    } finally {
      provider.close();
    }
  });

  it("holds the stdio and broker streams open without sending anything, then exits 0 on Shutdown", async () => {
    const stdio = client(GRPCStdio);
    const broker = client(GRPCBroker);
    const controller = client(GRPCController);
    const stdioMessages: unknown[] = [];
    const stdioDone = (async () => {
      for await (const m of stdio.streamStdio({})) stdioMessages.push(m);
    })();
    const brokerCall = broker.startStream();
    const brokerDone = (async () => {
      for await (const m of brokerCall.responses) void m;
    })();
    // Both streams must really be open before Shutdown: a health call after opening them proves the channel is up.
    const health = client(Health);
    await health.check({ service: "plugin" });

    const started = Date.now();
    await controller.shutdown({});
    const exit = await plugin.exited;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - started).toBeLessThan(2000);
    await stdioDone;
    await brokerDone.catch(() => {});
    expect(stdioMessages).toEqual([]);
    for (const c of [stdio, broker, controller, health]) c.close();

    expect(plugin.stdout().split("\n").filter(Boolean)).toHaveLength(1);
    const lines = plugin.stderr().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const record = JSON.parse(line) as Record<string, unknown>;
      expect(typeof record["@message"]).toBe("string");
      expect(typeof record["@level"]).toBe("string");
      expect(record["@timestamp"]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    }
  });
});
