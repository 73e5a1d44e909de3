// `npm start`'s mode: --listen with --dev-agent runs the embedded Nomad-API dev agent in-process and points the
// plugin at it, so a fresh clone can call a healthy provider right away and stop it cleanly.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createProviderClient } from "../helpers/provider-client.js";
import { startStandaloneProcess, type StandaloneProcess } from "../helpers/plugin-process.js";

let plugin: StandaloneProcess;
beforeAll(async () => {
  plugin = await startStandaloneProcess({ args: ["--dev-agent"], env: { CP_NOMAD_ADDRESS: "http://127.0.0.1:1" } });
});
afterAll(() => plugin?.kill());

describe("standalone with --dev-agent", () => {
  it("is healthy against the embedded agent, whatever CP_NOMAD_ADDRESS says", async () => {
    const client = createProviderClient(plugin.address);
    try {
      const health = await client.healthCheck({}, { deadlineMs: 10_000 });
      expect(health.healthy).toBe(true);
      expect(health.components.map((c) => c.name)).toEqual(["api", "client", "server", "acl", "namespace", "region"]);
    } finally {
      client.close();
    }
  });

  it("stops with the agent on SIGTERM, exit 0", async () => {
    plugin.child.kill("SIGTERM");
    expect(await plugin.exited).toEqual({ code: 0, signal: null });
  });
});
