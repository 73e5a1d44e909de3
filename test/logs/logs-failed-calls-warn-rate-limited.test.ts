// At the default level a failing Nomad leaves a trace: each failed call is a warn line with the RPC, the instance,
// the code and the trace id; a flood of identical failures (a dead Nomad under load) is held to a few lines plus
// one "N similar failed calls suppressed" summary.

import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { createLogger } from "../../src/log.js";
import { families } from "../../src/provider/families.js";
import { until } from "../helpers/dev-agent.js";
import { startInProcessProvider } from "../helpers/in-process-provider.js";
import { refusingAddress } from "../helpers/plugin-process.js";

const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

describe("failed calls in the log", () => {
  it("are warn lines with rpc, instance, code and trace id, at most a burst of them, then a summary", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const p = await startInProcessProvider({ nomadAddress: await refusingAddress(), families, log });
    try {
      const first = await p.client.status({ instanceId: "inst_a" }, { metadata: { traceparent } }).catch((e) => e);
      expect(first.code).toBe(status.UNAVAILABLE);
      const warn = lines.find((l) => l["@message"] === "call failed");
      expect(warn).toMatchObject({
        "@message": "call failed",
        rpc: "/ctrlplane.provider.v1.ProviderService/Status",
        instance_id: "inst_a",
        code: "UNAVAILABLE",
        trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      });
      // Node's own text once, not "ECONNREFUSED connect ECONNREFUSED".
      expect(warn!.error).toMatch(/: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);

      const calls = 100;
      const started = Date.now();
      await Promise.all(Array.from({ length: calls }, (_, i) => p.client.status({ instanceId: `inst_${i}` }).catch(() => undefined)));
      const seconds = Math.ceil((Date.now() - started) / 1000);
      const failures = () => lines.filter((l) => l["@message"] === "call failed").length;
      // A burst of 10, then one a second.
      expect(failures()).toBeLessThanOrEqual(10 + seconds + 1);
      const suppressed = () => lines.filter((l) => typeof l.suppressed === "number").reduce((n, l) => n + (l.suppressed as number), 0);
      // Every failure is accounted for: logged, or counted in a summary line.
      await until(async () => failures() + suppressed() === calls + 1, "every failure logged or counted", 10_000);
      const summary = lines.find((l) => /similar failed calls suppressed$/.test(String(l["@message"])));
      expect(summary).toMatchObject({ "@level": "warn", code: "UNAVAILABLE" });
    } finally {
      await p.close();
    }
  });

  it("keeps a caller's mistakes (NOT_FOUND, INVALID_ARGUMENT) out of the default level", async () => {
    const lines: Record<string, unknown>[] = [];
    const log = createLogger({ level: "info", write: (l) => lines.push(JSON.parse(l)) });
    const p = await startInProcessProvider({ nomadAddress: await refusingAddress(), families, log });
    try {
      await expect(p.client.status({ instanceId: "bad id!" })).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
      expect(lines).toEqual([]);
    } finally {
      await p.close();
    }
  });
});
