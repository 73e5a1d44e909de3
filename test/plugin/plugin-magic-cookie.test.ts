// Run by hand (no cookie, or a wrong one) or by a host that speaks another protocol version, the plugin explains
// itself on stderr, exits 1 and prints nothing on stdout.

import { describe, expect, it } from "vitest";
import { hostEnv, runPluginToExit, startPluginProcess } from "../helpers/plugin-process.js";

describe("magic cookie and protocol negotiation", () => {
  it("exits 1 with a human message when the cookie is missing", async () => {
    const { code, stdout, stderr } = await runPluginToExit({ env: hostEnv({ CTRLPLANE_PLUGIN: undefined }) });
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toMatch(/This binary is a plugin/);
    expect(stderr).toMatch(/CTRLPLANE_PLUGIN/);
  });

  it("exits 1 telling a wrong cookie value apart from a missing one, without repeating the value", async () => {
    const { code, stdout, stderr: line } = await runPluginToExit({ env: hostEnv({ CTRLPLANE_PLUGIN: "something-else" }) });
    expect([code, stdout]).toEqual([1, ""]);
    // Launched by a host (go-plugin variables set), the failure is an hclog JSON record.
    const stderr = JSON.parse(line)["@message"] as string;
    expect(stderr).toMatch(/CTRLPLANE_PLUGIN is set but has the wrong value/);
    expect(stderr).toMatch(/MagicCookieValue "nomad-provider"/);
    expect(stderr).not.toMatch(/not meant to be executed directly/);
    expect(stderr).not.toContain("something-else");
  });

  it("accepts a host's own cookie given by flags, and then only that one", async () => {
    const args = ["--magic-cookie-key", "MY_HOST_COOKIE", "--magic-cookie-value", "42"];
    const refused = await runPluginToExit({ args, env: hostEnv() });
    expect([refused.code, refused.stdout]).toEqual([1, ""]);
    expect(refused.stderr).toMatch(/MY_HOST_COOKIE/);

    const plugin = await startPluginProcess({ args, autoMtls: false, env: { CTRLPLANE_PLUGIN: undefined, MY_HOST_COOKIE: "42" } });
    try {
      // Without PLUGIN_CLIENT_CERT there is no 6th field at all: go-plugin 1.0.1 hosts crash on one.
      expect(plugin.stdout()).toBe(`1|1|unix|${plugin.handshake.address}|grpc\n`);
    } finally {
      await plugin.kill();
    }
  });

  it("exits 1 naming the versions when the host does not offer protocol 1", async () => {
    const { code, stdout, stderr } = await runPluginToExit({ env: hostEnv({ PLUGIN_PROTOCOL_VERSIONS: "2,3" }) });
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr).toMatch(/2,3/);
    expect(stderr).toMatch(/version 1/);
  });

  it("exits 1 naming the variable for a bad setting, without printing the token", async () => {
    const { code, stdout, stderr } = await runPluginToExit({
      env: hostEnv({ CP_NOMAD_ADDRESS: "nomad.example:4646", CP_NOMAD_TOKEN: "tok-very-secret" }),
    });
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr).toMatch(/CP_NOMAD_ADDRESS/);
    expect(stderr).not.toContain("tok-very-secret");
  });
});
