// The plugin's life ends when the host says so: Shutdown lets an in-flight call finish before exit 0, SIGTERM
// exits 0, SIGINT (a Ctrl-C aimed at the host's terminal) is ignored, and a dead host takes the plugin with it.

import { spawn } from "node:child_process";
import { createServer, type ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { ProviderService } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { hostEnv, pluginEntry, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

const connect = <S extends Parameters<typeof createServiceClient>[0]>(plugin: PluginProcess, service: S) =>
  createServiceClient(service, plugin.target, plugin.credentials, plugin.channelOptions);

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("plugin process lifecycle", () => {
  it("finishes an in-flight call after Shutdown, then exits 0", async () => {
    // A Nomad agent that holds HealthCheck's requests (agent health, token, namespace, regions) until the test lets
    // it answer, as a Nomad with ACLs off.
    const held: { url: string; res: ServerResponse }[] = [];
    const agent = createServer((req, res) => held.push({ url: req.url ?? "", res }));
    await new Promise<void>((r) => agent.listen(0, "127.0.0.1", r));
    const plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: `http://127.0.0.1:${(agent.address() as { port: number }).port}` } });
    const provider = connect(plugin, ProviderService);
    const controller = connect(plugin, GRPCController);
    try {
      const inFlight = provider.healthCheck({});
      await until(() => held.length === 4, 5000, "the plugin to ask the agent");
      await controller.shutdown({});
      for (const { url, res } of held) {
        if (url.startsWith("/v1/acl/token/self")) res.writeHead(400).end("ACL support disabled");
        else if (url.startsWith("/v1/regions")) res.writeHead(200, { "content-type": "application/json" }).end('["global"]');
        else if (url.startsWith("/v1/namespace/")) res.writeHead(200, { "content-type": "application/json" }).end('{"Name":"default"}');
        else res.writeHead(200, { "content-type": "application/json" }).end('{"server":{"ok":true,"message":"ok"}}');
      }
      expect((await inFlight).healthy).toBe(true);
      expect(await plugin.exited).toEqual({ code: 0, signal: null });
    } finally {
      provider.close();
      controller.close();
      await plugin.kill();
      agent.closeAllConnections();
      await new Promise((r) => agent.close(r));
    }
  });

  it("ignores SIGINT and exits 0 on SIGTERM", async () => {
    const plugin = await startPluginProcess();
    const health = connect(plugin, Health);
    try {
      plugin.child.kill("SIGINT");
      // Still serving after the SIGINT was delivered and handled (a call round-trip follows it).
      expect((await health.check({ service: "plugin" })).status).toBe(1);
      expect(plugin.child.exitCode).toBeNull();
      plugin.child.kill("SIGTERM");
      expect(await plugin.exited).toEqual({ code: 0, signal: null });
    } finally {
      health.close();
      await plugin.kill();
    }
  });

  it("exits when its host process dies", async () => {
    // A stand-in host that launches the plugin, reports its pid and dies without calling Shutdown.
    const hostScript = `
      const { spawn } = require("node:child_process");
      const child = spawn(process.execPath, [${JSON.stringify(pluginEntry)}], { env: process.env, stdio: ["ignore", "pipe", "ignore"] });
      child.stdout.once("data", () => { process.stdout.write(String(child.pid) + "\\n"); process.exit(0); });
    `;
    const host = spawn(process.execPath, ["-e", hostScript], { env: hostEnv(), stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    host.stdout.setEncoding("utf8").on("data", (d: string) => (out += d));
    await new Promise((r) => host.once("exit", r));
    const pid = Number(out.trim());
    expect(pid).toBeGreaterThan(0);
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      await until(() => !alive(), 5000, "the orphaned plugin to exit");
    } finally {
      if (alive()) process.kill(pid, "SIGKILL");
    }
  });
});
