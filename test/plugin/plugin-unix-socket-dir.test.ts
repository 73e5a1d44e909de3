// Newer go-plugin hosts choose the socket directory (PLUGIN_UNIX_SOCKET_DIR); the plugin puts its socket there
// and removes it when it exits.

import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { GRPCController } from "../../gen/plugin/grpc_controller_pb.js";
import { createServiceClient } from "../helpers/provider-client.js";
import { startPluginProcess } from "../helpers/plugin-process.js";

describe("unix socket placement", () => {
  it("listens inside PLUGIN_UNIX_SOCKET_DIR and leaves nothing behind after Shutdown", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plugin-sockets-"));
    const plugin = await startPluginProcess({ env: { PLUGIN_UNIX_SOCKET_DIR: dir } });
    try {
      expect(plugin.handshake.network).toBe("unix");
      expect(dirname(plugin.handshake.address)).toBe(dir);
      expect(existsSync(plugin.handshake.address)).toBe(true);
      const controller = createServiceClient(GRPCController, plugin.target, plugin.credentials, plugin.channelOptions);
      await controller.shutdown({});
      controller.close();
      expect(await plugin.exited).toEqual({ code: 0, signal: null });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      await plugin.kill();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
