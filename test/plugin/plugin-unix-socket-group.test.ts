// go-plugin 1.5.1+ hosts that run as another user than the plugin set PLUGIN_UNIX_SOCKET_GROUP: the socket must
// belong to that group with mode 0660 by the time the handshake line is printed, and a group that cannot be used
// stops start-up (exit 1, nothing on stdout) instead of leaving a socket the host cannot open.

import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { refusingAddress, runPluginToExit, startPluginProcess, type PluginProcess } from "../helpers/plugin-process.js";

let plugin: PluginProcess | undefined;
afterEach(async () => {
  await plugin?.kill();
  plugin = undefined;
});

const hostVars = { CTRLPLANE_PLUGIN: "nomad-provider", PLUGIN_PROTOCOL_VERSIONS: "1" };

describe("PLUGIN_UNIX_SOCKET_GROUP", () => {
  it.each([
    { group: "daemon", gid: 1 },
    { group: "1", gid: 1 },
  ])("gives the socket to group $group with mode 0660 before the handshake", async ({ group, gid }) => {
    plugin = await startPluginProcess({ env: { PLUGIN_UNIX_SOCKET_GROUP: group, CP_NOMAD_ADDRESS: await refusingAddress() } });
    const st = statSync(plugin.handshake.address);
    expect(st.isSocket()).toBe(true);
    expect(st.gid).toBe(gid);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("refuses to start when the group does not exist: exit 1, one clear line, no handshake, no socket left", async () => {
    const dir = mkdtempSync(join(tmpdir(), "plugin-sockets-"));
    try {
      const run = await runPluginToExit({
        env: { PATH: process.env.PATH, ...hostVars, PLUGIN_UNIX_SOCKET_GROUP: "no-such-group-xyz", PLUGIN_UNIX_SOCKET_DIR: dir },
      });
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
      // Launched by a host, the line is an hclog JSON record.
      expect(JSON.parse(run.stderr)).toMatchObject({ "@level": "error", "@message": expect.stringContaining('group "no-such-group-xyz" does not exist') });
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
