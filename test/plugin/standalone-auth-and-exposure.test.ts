// Standalone mode guards what it exposes: an optional bearer token for ProviderService (health stays open for
// probes), no plaintext listener off loopback unless --insecure says so, and a loud warning when it does.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { createProviderClient, createServiceClient } from "../helpers/provider-client.js";
import { runPluginToExit, startStandaloneProcess, type StandaloneProcess } from "../helpers/plugin-process.js";

describe("standalone bearer token", () => {
  let plugin: StandaloneProcess;
  beforeAll(async () => {
    plugin = await startStandaloneProcess({ env: { CP_PLUGIN_AUTH_TOKEN: "let-me-in" } });
  });
  afterAll(() => plugin?.kill());

  it("refuses ProviderService calls without the token or with a wrong one", async () => {
    const client = createProviderClient(plugin.address);
    try {
      await expect(client.info({})).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await expect(client.info({}, { metadata: { authorization: "Bearer let-me-inx" } })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      expect((await client.info({}, { metadata: { authorization: "Bearer let-me-in" } })).name).toBe("nomad");
    } finally {
      client.close();
    }
  });

  it("keeps health open and never logs the token", async () => {
    const health = createServiceClient(Health, plugin.address);
    try {
      expect((await health.check({ service: "" })).status).toBe(1);
    } finally {
      health.close();
    }
    expect(plugin.stderr()).not.toContain("let-me-in");
  });
});

describe("standalone exposure", () => {
  it("refuses a plaintext non-loopback listener without --insecure", async () => {
    const { code, stdout, stderr } = await runPluginToExit({ args: ["--listen", "0.0.0.0:0"] });
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr).toMatch(/--listen: 0\.0\.0\.0 is not a loopback address/);
  });

  it("serves with --insecure but warns about it", async () => {
    const plugin = await startStandaloneProcess({ args: ["--listen", "0.0.0.0:0", "--insecure"] });
    try {
      const warning = plugin.stderr().split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, string>).find((r) => r["@level"] === "warn");
      expect(warning?.["@message"]).toMatch(/plaintext gRPC on a non-loopback address/);
    } finally {
      await plugin.kill();
    }
  });
});
