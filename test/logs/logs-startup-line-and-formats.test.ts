// What an operator reads first: one info line saying which Nomad, region, namespace and datacenters the plugin uses
// and whether a token and TLS are configured (never their values); JSON lines only in plugin mode (a go-plugin host
// parses them), readable text with --log-format text.

import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { pluginEntry, providerClientOf, refusingAddress, startPluginProcess } from "../helpers/plugin-process.js";
import { until } from "../helpers/dev-agent.js";

describe("start-up line and log formats", () => {
  it("plugin mode: a start-up info line without secrets, failed calls at warn, and nothing on stderr but JSON", async () => {
    const nomad = await refusingAddress();
    const plugin = await startPluginProcess({
      env: { CP_NOMAD_ADDRESS: nomad, CP_NOMAD_TOKEN: "tok-never-logged", CP_NOMAD_NAMESPACE: "team-a", CP_NOMAD_DATACENTER: "dc1,dc2" },
    });
    const client = providerClientOf(plugin);
    try {
      await expect(client.status({ instanceId: "inst_a" })).rejects.toMatchObject({ code: 14 });
      const records = () => plugin.stderr().split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as Record<string, unknown>);
      await until(async () => records().some((r) => r["@message"] === "call failed"), "the warn line of the failed call");
      const started = records().find((r) => r["@message"] === "nomad-provider started");
      expect(started).toMatchObject({
        "@level": "info",
        nomad_address: nomad,
        region: "(the agent's)",
        namespace: "team-a",
        datacenters: "dc1,dc2",
        acl: "token set",
        tls: "off",
      });
      expect(records().find((r) => r["@message"] === "call failed")).toMatchObject({ instance_id: "inst_a", code: "UNAVAILABLE" });
      expect(plugin.stderr()).not.toContain("tok-never-logged");
    } finally {
      client.close();
      await plugin.kill();
    }
  });

  it("--log-format text writes hclog's text lines", async () => {
    const child = spawn(process.execPath, [pluginEntry, "--listen", "127.0.0.1:0", "--log-format", "text", "--nomad-address", await refusingAddress()], {
      env: { PATH: process.env.PATH },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    try {
      await until(async () => /\[INFO\] +nomad-provider: listening: /.test(stderr), "the listening line");
      const started = stderr.split("\n").find((l) => l.includes("nomad-provider started"));
      expect(started).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \[INFO\]  nomad-provider: nomad-provider started: version=\S+ nomad_address=http:\/\/127\.0\.0\.1:\d+ region="\(the agent's\)" namespace=default datacenters=\* acl="no token" tls=off$/);
      expect(stderr).not.toMatch(/^\{/m);
    } finally {
      child.kill("SIGKILL");
    }
  });

  it("rejects an unknown --log-format naming the flag", async () => {
    const child = spawn(process.execPath, [pluginEntry, "--log-format", "xml"], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const code = await new Promise((resolve) => child.once("close", resolve));
    expect([code, stderr]).toEqual([1, 'nomad-provider: --log-format: "xml" must be json or text\n']);
  });
});
