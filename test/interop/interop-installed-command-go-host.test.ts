// The command as an operator installs it: `npm pack` on a tree that was never built (prepack builds it), then
// `npm install -g <tarball>` into a fresh prefix. What they notice: the tarball holds only what runs, installing it
// fetches no other package, and a Go go-plugin host (test/interop/go-host) launches `nomad-provider` by name from
// PATH over AutoMTLS, calls it, and stops it gracefully.

import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevAgent, type DevAgent } from "../../src/devagent/dev-agent.js";
import { createLogger } from "../../src/log.js";
import { buildGoHost, repoRoot } from "./interop-build.js";
import { lastJsonLine, runProgram } from "./interop-processes.js";
import { step, type ClientReport } from "./interop-report.js";

interface HostReport extends ClientReport {
  network: string;
  protocol: string;
  exited: boolean;
  fatalError?: string;
}

const version = (JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string }).version;

/** The repository's files as a clone has them (tracked and new, nothing ignored: no dist/), plus node_modules. */
function unbuiltCopy(into: string): string {
  const files = execFileSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: repoRoot, encoding: "utf8" })
    .split("\0")
    .filter((f) => f && existsSync(join(repoRoot, f)));
  for (const file of files) {
    mkdirSync(dirname(join(into, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(into, file));
  }
  symlinkSync(join(repoRoot, "node_modules"), join(into, "node_modules"));
  return into;
}

describe("nomad-provider packed, installed and launched by name", () => {
  let dir: string;
  let tarball: string;
  let entries: string[];
  let prefix: string;
  let agent: DevAgent;
  let host: HostReport;
  let hostStderr: string;

  beforeAll(async () => {
    const goHost = buildGoHost();
    goHost.catch(() => undefined); // awaited below, after packing; a failure surfaces there
    dir = mkdtempSync(join(tmpdir(), "installed-command-"));
    const tree = unbuiltCopy(join(dir, "tree"));
    const npm = { encoding: "utf8" as const, env: { ...process.env, npm_config_update_notifier: "false" } };
    const packed = execFileSync("npm", ["pack", "--silent", "--pack-destination", dir], { ...npm, cwd: tree }).trim().split("\n").pop()!;
    tarball = join(dir, packed);
    entries = execFileSync("tar", ["-tzf", tarball], { encoding: "utf8" }).trim().split("\n");
    prefix = join(dir, "prefix");
    execFileSync("npm", ["install", "--global", "--prefix", prefix, "--no-audit", "--no-fund", tarball], { ...npm, cwd: dir });

    agent = await startDevAgent({ port: 0, logger: createLogger({ level: "warn" }) });
    const result = await runProgram(
      (await goHost).path,
      ["-plugin-stderr", join(dir, "plugin-stderr.jsonl"), "--", "nomad-provider"],
      { env: { ...process.env, PATH: `${join(prefix, "bin")}${delimiter}${process.env.PATH}`, NOMAD_ADDR: agent.address }, timeoutMs: 55_000 },
    );
    hostStderr = result.stderr;
    host = lastJsonLine<HostReport>(result);
  }, 240_000);

  afterAll(async () => {
    await agent?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("packs only what runs: the command, its chunks, the licences, README and package.json (no maps, sources or tests)", () => {
    expect(entries).toContain("package/dist/main.js");
    expect(entries).toContain("package/LICENSE");
    expect(entries).toContain("package/dist/THIRD-PARTY-NOTICES.txt");
    expect(entries.some((e) => /^package\/dist\/chunks\/[^/]+\.js$/.test(e))).toBe(true);
    const allowed = /^package\/(dist\/main\.js|dist\/chunks\/[^/]+\.js|dist\/THIRD-PARTY-NOTICES\.txt|LICENSE|README\.md|package\.json)$/;
    expect(entries.filter((e) => !allowed.test(e))).toEqual([]);
  });

  it("installs no other package: the bundle carries its dependencies", () => {
    const installed = join(prefix, "lib/node_modules");
    expect(readdirSync(installed)).toEqual(["nomad-provider"]);
    expect(existsSync(join(installed, "nomad-provider/node_modules"))).toBe(false);
  });

  it("is launched by a Go go-plugin host as `nomad-provider` from PATH over AutoMTLS: Info, a healthy HealthCheck, a graceful Kill", () => {
    expect(host.fatalError, hostStderr).toBeUndefined();
    expect(host.network).toBe("unix");
    expect(host.protocol).toBe("grpc");
    const info = step(host, "Info");
    expect(info.code, info.message).toBe("OK");
    expect(info.response?.name).toBe("nomad");
    expect(info.response?.version).toBe(version);
    const health = step(host, "HealthCheck");
    expect(health.response?.healthy, JSON.stringify(health.response)).toBe(true);
    expect(host.exited).toBe(true);
    expect(hostStderr).not.toContain("plugin failed to exit gracefully");
  });
});
