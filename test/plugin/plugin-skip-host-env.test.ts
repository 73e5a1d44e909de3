// go-plugin 1.5+ hosts with SkipHostEnv start the plugin with only what they pass: the cookie, the PLUGIN_*
// variables and the host's cmd.Env (the Nomad settings). No PATH, no HOME, no TMPDIR: the plugin must start, load
// its lazily imported parts, serve (multiplexed and over AutoMTLS too), reach Nomad where the host said, and stop.

import { spawn } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { multiplexingHost, type MultiplexingHost } from "../helpers/multiplexing-host.js";
import { pluginEntry, refusingAddress, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";
import { createServiceClient } from "../helpers/provider-client.js";

const hostVars = { CTRLPLANE_PLUGIN: "nomad-provider", PLUGIN_PROTOCOL_VERSIONS: "1" };

let plugin: PluginProcess | undefined;
let host: MultiplexingHost | undefined;
afterEach(async () => {
  host?.close();
  await plugin?.kill();
  host = plugin = undefined;
});

describe("a host that passes no environment of its own (SkipHostEnv)", () => {
  it("starts and handshakes with only the go-plugin variables: no PATH, no HOME", async () => {
    const child = spawn(process.execPath, [pluginEntry], { env: { ...hostVars }, stdio: ["ignore", "pipe", "pipe"] });
    try {
      let stdout = "";
      child.stdout.setEncoding("utf8");
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.on("data", (d: string) => {
          stdout += d;
          if (stdout.includes("\n")) resolve(stdout.trimEnd());
        });
        child.once("exit", (code) => reject(new Error(`exited ${code} before the handshake`)));
      });
      expect(line).toMatch(/^1\|1\|unix\|\/.+\.sock\|grpc$/);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("serves a multiplexing AutoMTLS host and reaches Nomad at the NOMAD_ADDR it passes, then exits on Shutdown", async () => {
    const nomad = await refusingAddress();
    // hostEnv adds the test runner's PATH unless told otherwise; HOME and TMPDIR are never passed.
    plugin = await startPluginProcess({ env: { PATH: undefined, PLUGIN_MULTIPLEX_GRPC: "true", NOMAD_ADDR: nomad } });
    expect(plugin.handshake.multiplex).toBe("true");
    host = await multiplexingHost(plugin);
    const provider = createServiceClient(ProviderService, host.target, plugin.credentials, plugin.channelOptions);
    const controller = createServiceClient(GRPCController, host.target, plugin.credentials, plugin.channelOptions);
    try {
      // Nomad is down at that address: healthy=false naming it, which proves the passed address is the one used.
      const health = await provider.healthCheck({});
      expect(health.healthy).toBe(false);
      expect(health.message).toContain(new URL(nomad).host);
      await controller.shutdown({});
    } finally {
      provider.close();
      controller.close();
    }
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
  });
});
