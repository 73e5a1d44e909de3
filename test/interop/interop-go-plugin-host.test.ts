// A real Go go-plugin host (test/interop/go-host: go-plugin 1.0.1 + grpc-go from Debian) launches dist/main.js with
// AutoMTLS, drives it against the dev agent and stops it with Kill(). What a ctrlplane host would notice: the
// handshake works over mTLS on a unix socket, every RPC answers as Capabilities promises, the plugin's logs show up
// in the host's log at their own levels, and Kill() ends the plugin gracefully instead of SIGKILLing it.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevAgent } from "../../src/devagent/dev-agent.js";
import { createLogger } from "../../src/log.js";
import { buildGoHost, pluginEntry } from "./interop-build.js";
import { lastJsonLine, runProgram } from "./interop-processes.js";
import { capabilitiesOf, expectPerCapabilities, markerWorkload, step, type ClientReport } from "./interop-report.js";

interface HostReport extends ClientReport {
  network: string;
  protocol: string;
  killMs: number;
  exited: boolean;
  fatalError?: string;
}

type HclogRecord = Record<string, unknown> & { "@level": string; "@message": string; "@module": string };

function hclogRecords(text: string): HclogRecord[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as HclogRecord);
}

describe("a Go go-plugin host", () => {
  let agent: { address: string; close(): Promise<void> };
  let dir: string;
  let host: HostReport;
  let hostLog: HclogRecord[];
  let pluginLines: HclogRecord[];
  const marker = `interop-go-host-${process.pid}`;

  beforeAll(async () => {
    const goHost = await buildGoHost();
    if (goHost.buildMs > 0) console.log(`go-host built in ${goHost.buildMs} ms`);
    agent = await startDevAgent({ port: 0, logger: createLogger({ level: "warn" }) });
    dir = mkdtempSync(join(tmpdir(), "interop-go-host-"));
    const provision = join(dir, "provision.json");
    writeFileSync(provision, JSON.stringify(markerWorkload(`go-host-${process.pid}`, marker)));
    const rawStderr = join(dir, "plugin-stderr.jsonl");

    const result = await runProgram(
      goHost.path,
      ["-provision", provision, "-logs-marker", marker, "-plugin-stderr", rawStderr, "--", process.execPath, pluginEntry()],
      { env: { ...process.env, NOMAD_ADDR: agent.address, CP_NOMAD_LOG_LEVEL: "debug" }, timeoutMs: 55_000 },
    );
    host = lastJsonLine<HostReport>(result);
    hostLog = hclogRecords(result.stderr);
    pluginLines = hclogRecords(readFileSync(rawStderr, "utf8"));
    expect(host.fatalError, result.stderr).toBeUndefined();
    expect(result.code, result.stderr).toBe(0);
  }, 240_000);

  afterAll(async () => {
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("connects over AutoMTLS on a unix socket with the gRPC protocol", () => {
    // go-plugin only trusts the plugin's certificate from the handshake line; without it the dial would fail.
    expect(host.network).toBe("unix");
    expect(host.protocol).toBe("grpc");
  });

  it("gets Info, Capabilities and a healthy HealthCheck from the plugin", () => {
    const info = step(host, "Info");
    expect(info.code, info.message).toBe("OK");
    expect(info.response?.name).toBe("nomad");
    expect(typeof info.response?.version).toBe("string");
    capabilitiesOf(host);
    const health = step(host, "HealthCheck");
    expect(health.code, health.message).toBe("OK");
    expect(health.response?.healthy, JSON.stringify(health.response)).toBe(true);
  });

  it("provisions, watches, reads logs from and deprovisions an instance as far as Capabilities promise, with failures as gRPC codes", () => {
    const caps = capabilitiesOf(host);
    const invalid = step(host, "Provision(invalid)");
    if (expectPerCapabilities(invalid, caps, "provision", "INVALID_ARGUMENT")) expect(invalid.message).toMatch(/^instance_id\b/);
    expectPerCapabilities(step(host, "Status(missing)"), caps, "provision", "NOT_FOUND");
    const provisioned = expectPerCapabilities(step(host, "Provision"), caps, "provision");
    if (provisioned) {
      const status = step(host, "Status");
      expect(status.code, status.message).toBe("OK");
      expect(status.response?.status?.state).toBe("INSTANCE_STATE_RUNNING");
      expect(step(host, "Deprovision").response?.state).toBe("INSTANCE_STATE_DESTROYED");
    }
    // Logs through the io.ReadCloser adapter: NDJSON events, ending at the workload's marker line.
    const logs = step(host, "Logs");
    if (expectPerCapabilities(logs, caps, "logs", provisioned ? "OK" : "NOT_FOUND") && provisioned) {
      const events = host.logLines.map((l) => JSON.parse(l) as { ts: string; stream: string; line: string });
      expect(events.at(-1)).toMatchObject({ stream: "stdout", line: marker });
      expect(Number.isNaN(Date.parse(events.at(-1)!.ts))).toBe(false);
    }
  });

  it("shows the plugin's hclog lines in the host's log at the plugin's own levels", () => {
    // go-plugin parses each JSON line and logs it again through the host's logger, adding the plugin's time as
    // "timestamp". A line it cannot parse is logged at debug with the whole raw line as @message instead, which the
    // equality on @message rules out.
    expect(pluginLines.length).toBeGreaterThan(0);
    expect(new Set(pluginLines.map((l) => l["@level"])).size, "lines of more than one level").toBeGreaterThan(1);
    const relayed = hostLog.filter((r) => typeof r["timestamp"] === "string");
    for (const line of pluginLines) {
      expect(relayed, JSON.stringify(line)).toContainEqual(
        expect.objectContaining({ "@level": line["@level"], "@message": line["@message"], "@module": line["@module"] }),
      );
    }
  });

  it("ends the plugin gracefully on Kill(): Shutdown answered and exit 0, no SIGKILL", () => {
    // go-plugin 1.0.1 waits 2 s for the process after GRPCController.Shutdown, then logs a warning and kills it.
    expect(host.exited).toBe(true);
    expect(host.killMs).toBeLessThan(2_000);
    expect(hostLog.map((r) => r["@message"])).not.toContain("plugin failed to exit gracefully");
    const exit = hostLog.find((r) => r["@message"] === "plugin process exited");
    expect(exit, "host logged no process exit").toBeDefined();
    expect(exit!["error"], "a non-zero exit or a signal shows up as error").toBeUndefined();
    // The plugin saw the Shutdown call itself (not just its socket closing) and said so in the host's log.
    expect(pluginLines.map((l) => l["@message"])).toContain("shutting down");
  });
});
