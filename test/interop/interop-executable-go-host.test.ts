// The single executable (`npm run build:exe`, a Node SEA) on a host without Node: a Go go-plugin host
// (test/interop/go-host) launches `nomad-provider` by name from a PATH that holds nothing else, over AutoMTLS, and
// drives an instance on the dev agent through it: Info, HealthCheck, Provision, Status, Logs, Deprovision, then Kill().
// Building the executable is part of the test (its duration is logged).

import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevAgent, type DevAgent } from "../../src/devagent/dev-agent.js";
import { createLogger } from "../../src/log.js";
import { buildGoHost, repoRoot } from "./interop-build.js";
import { lastJsonLine, runProgram } from "./interop-processes.js";
import { capabilitiesOf, expectPerCapabilities, markerWorkload, step, type ClientReport } from "./interop-report.js";

interface HostReport extends ClientReport {
  network: string;
  protocol: string;
  exited: boolean;
  fatalError?: string;
}

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

describe("the single executable, launched by name with no Node on PATH", () => {
  let dir: string;
  let bin: string;
  let agent: DevAgent;
  let host: HostReport;
  let hostStderr: string;
  const marker = `interop-executable-${process.pid}`;

  beforeAll(async () => {
    const goHost = buildGoHost();
    goHost.catch(() => undefined); // awaited below, after the executable is built; a failure surfaces there
    dir = mkdtempSync(join(tmpdir(), "executable-"));
    bin = join(dir, "bin");
    const started = performance.now();
    execFileSync(process.execPath, [join(repoRoot, "scripts/build-exe.mjs"), "--out", join(bin, "nomad-provider")], { stdio: "pipe" });
    console.log(`executable built in ${Math.round(performance.now() - started)} ms`);
    rmSync(join(bin, "nomad-provider.THIRD-PARTY-NOTICES.txt"));

    agent = await startDevAgent({ port: 0, logger: createLogger({ level: "warn" }) });
    const provision = join(dir, "provision.json");
    writeFileSync(provision, JSON.stringify(markerWorkload(`executable-${process.pid}`, marker)));
    const result = await runProgram(
      (await goHost).path,
      ["-provision", provision, "-logs-marker", marker, "--", "nomad-provider"],
      { env: { PATH: bin, HOME: dir, NOMAD_ADDR: agent.address }, timeoutMs: 55_000 },
    );
    hostStderr = result.stderr;
    host = lastJsonLine<HostReport>(result);
  }, 240_000);

  afterAll(async () => {
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs from a PATH that holds only itself (no node)", () => {
    expect(readdirSync(bin)).toEqual(["nomad-provider"]);
    expect(host.fatalError, hostStderr).toBeUndefined();
    expect(host.network).toBe("unix");
    expect(host.protocol).toBe("grpc");
    const info = step(host, "Info");
    expect(info.code, info.message).toBe("OK");
    expect(info.response?.version).toBe(version);
    expect(step(host, "HealthCheck").response?.healthy, JSON.stringify(step(host, "HealthCheck"))).toBe(true);
  });

  it("provisions, reads the workload's logs and deprovisions as Capabilities promise", () => {
    const caps = capabilitiesOf(host);
    const provisioned = expectPerCapabilities(step(host, "Provision"), caps, "provision");
    if (provisioned) {
      expect(step(host, "Status").response?.status?.state).toBe("INSTANCE_STATE_RUNNING");
      expect(step(host, "Deprovision").response?.state).toBe("INSTANCE_STATE_DESTROYED");
    }
    if (expectPerCapabilities(step(host, "Logs"), caps, "logs", provisioned ? "OK" : "NOT_FOUND") && provisioned) {
      const events = host.logLines.map((l) => JSON.parse(l) as { line: string });
      expect(events.at(-1)?.line).toBe(marker);
    }
  });

  it("ends gracefully on the host's Kill()", () => {
    expect(host.exited).toBe(true);
    expect(hostStderr).not.toContain("plugin failed to exit gracefully");
    expect(hostStderr).toContain("plugin process exited");
  });
});
