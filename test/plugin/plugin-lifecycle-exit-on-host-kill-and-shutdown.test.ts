// The plugin never outlives its host and never cuts a call short: when the host process is SIGKILLed (a crash, no
// Shutdown, no closed pipes on purpose) the plugin exits by itself; on GRPCController/Shutdown it finishes the
// Status call it is serving (held by a slow Nomad) with Nomad's answer, not a cancellation, and then exits 0 by
// itself (a hang would fail the test at its timeout; no wall-clock bound is asserted, it flaked on loaded machines).

import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { hostEnv, pluginEntry, startPluginProcess, providerClientOf } from "../helpers/plugin-process.js";
import { until, withDevAgent } from "../helpers/dev-agent.js";
import { openServerConnections, portOf } from "../helpers/tcp-connections.js";

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe("plugin exit", () => {
  it("follows its host when the host is killed with SIGKILL", async () => {
    // A stand-in host that launches the plugin like go-plugin (pipes for stdout/stderr), reports the plugin's pid
    // once the handshake line arrived, and then just keeps running until it is killed.
    const hostScript = `
      const { spawn } = require("node:child_process");
      const child = spawn(process.execPath, [${JSON.stringify(pluginEntry)}], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
      child.stderr.resume();
      child.stdout.once("data", () => process.stdout.write(String(child.pid) + "\\n"));
      setInterval(() => {}, 1000);
    `;
    const host = spawn(process.execPath, ["-e", hostScript], { env: hostEnv(), stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    host.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    let pid = 0;
    try {
      pid = await until(async () => (out.includes("\n") ? Number(out.trim()) : undefined), "the plugin's handshake", 10_000);
      expect(alive(pid)).toBe(true);
      const hostGone = new Promise((r) => host.once("exit", r));
      host.kill("SIGKILL");
      await hostGone;
      await until(async () => !alive(pid), "the orphaned plugin to exit", 5000);
    } finally {
      if (host.exitCode === null && host.signalCode === null) host.kill("SIGKILL");
      if (pid && alive(pid)) process.kill(pid, "SIGKILL");
    }
  });

  it("finishes an in-flight Status on Shutdown, then exits 0", async () => {
    await withDevAgent(async (agent) => {
      const plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: agent.address } });
      const provider = providerClientOf(plugin);
      const controller = createServiceClient(GRPCController, plugin.target, plugin.credentials, plugin.channelOptions);
      try {
        // Nothing has talked to Nomad yet, so the first connection the agent sees is the Status call's.
        const port = portOf(agent.address);
        expect(openServerConnections(port)).toBe(0);
        agent.faults.set({ delayMs: 800 });
        const inFlight = provider.status({ instanceId: "inst_shutdown" }).then(
          () => GrpcStatus.OK,
          (err: { code: number; details: string }) => err.code,
        );
        await until(async () => openServerConnections(port) > 0, "the plugin to ask Nomad", 5000);
        await controller.shutdown({});
        // The in-flight call ends with Nomad's real answer (the instance does not exist), not a cut-off.
        expect(await inFlight).toBe(GrpcStatus.NOT_FOUND);
        expect(await plugin.exited).toEqual({ code: 0, signal: null });
      } finally {
        provider.close();
        controller.close();
        await plugin.kill();
      }
    });
  });
});
