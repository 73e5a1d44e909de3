// The command line's rough edges, as a person meets them: a port out of range, a port already taken (fails before
// the dev agent starts), a token passed as a flag (visible in `ps`).

import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { runPluginToExit, startStandaloneProcess, type StandaloneProcess } from "../helpers/plugin-process.js";

let plugin: StandaloneProcess | undefined;
afterEach(async () => {
  await plugin?.kill();
  plugin = undefined;
});

const records = (stderr: string) => stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);

describe("command line edges", () => {
  it("says a --listen port is out of range", async () => {
    const { code, stderr } = await runPluginToExit({ args: ["--listen", "127.0.0.1:99999"] });
    expect(code).toBe(1);
    expect(stderr).toBe("nomad-provider: --listen: port 99999 is out of range (0-65535; 0 picks a free port)\n");
  });

  it("fails on a taken port before starting the dev agent, in its own words", async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
    const { port } = taken.address() as { port: number };
    try {
      const { code, stderr } = await runPluginToExit({ args: ["--listen", `127.0.0.1:${port}`, "--dev-agent"] });
      expect(code).toBe(1);
      expect(stderr).toContain(`--listen: 127.0.0.1:${port} is already in use`);
      expect(stderr).not.toContain("dev agent started");
      // grpc-js's own "E No address added out of total 1 resolved" never appears.
      expect(stderr).not.toMatch(/No address added/);
    } finally {
      taken.close();
    }
  });

  it("warns that --nomad-token shows in ps, never printing the token", async () => {
    plugin = await startStandaloneProcess({ args: ["--nomad-token", "tok-in-argv-123"] });
    const warning = records(plugin.stderr()).find((r) => r["@level"] === "warn");
    expect(warning?.["@message"]).toBe("--nomad-token on the command line is visible to other users in `ps`; prefer CP_NOMAD_TOKEN or NOMAD_TOKEN in the environment");
    expect(plugin.stderr()).not.toContain("tok-in-argv-123");
  });

  it("does not warn when the token comes from the environment", async () => {
    plugin = await startStandaloneProcess({ env: { CP_NOMAD_TOKEN: "tok-in-env-123" } });
    expect(records(plugin.stderr()).filter((r) => r["@level"] === "warn")).toEqual([]);
  });
});
