// A host parses the plugin's stderr as hclog JSON lines: Node's own process warnings (MaxListenersExceeded,
// deprecations...) come out as such lines too, not as Node's plain "(node:PID) Warning: ..." text.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startPluginProcess } from "../helpers/plugin-process.js";
import { until } from "../helpers/dev-agent.js";

describe("plugin stderr", () => {
  it("carries Node's process warnings as JSON log lines", async () => {
    // Preloaded into the plugin: emits a warning once the plugin has started (and installed its handler).
    const dir = mkdtempSync(join(tmpdir(), "np-warn-"));
    const preload = join(dir, "warn-later.cjs");
    writeFileSync(preload, `setTimeout(() => process.emitWarning("test warning from a dependency", "TestWarning"), 300).unref();\n`);
    const plugin = await startPluginProcess({ env: { NODE_OPTIONS: `--require ${preload}` } });
    try {
      await until(async () => plugin.stderr().includes("test warning from a dependency"), "the warning on stderr");
      const lines = plugin.stderr().split("\n").filter((l) => l.trim() !== "");
      const parsed = lines.map((l) => {
        try {
          return JSON.parse(l) as Record<string, unknown>;
        } catch {
          return l;
        }
      });
      expect(parsed.filter((p) => typeof p === "string")).toEqual([]);
      const warning = parsed.find((p) => typeof p !== "string" && String(p["@message"]).includes("test warning from a dependency"));
      expect(warning).toMatchObject({ "@level": "warn", warning: "TestWarning" });
    } finally {
      await plugin.kill();
    }
  });
});
