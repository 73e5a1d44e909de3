// The dev agent's command line answers --help with a usage text on stderr naming every
// flag, exit 0, nothing started. A wrong flag is one human line pointing at --help (not a JSON log), exit 1.

import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const entry = fileURLToPath(new URL("../../dist/devagent.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [entry, ...args], { encoding: "utf8", timeout: 20_000 });

it("--help and -h print the usage on stderr and exit 0 without starting an agent", () => {
  for (const flag of ["--help", "-h"]) {
    const r = run(flag, "--port", "0");
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^Usage: devagent \[flags\]/);
    for (const f of ["--port", "--host", "--acl", "--tls-cert", "--tls-key", "--tls-ca", "--data-dir", "--region", "--datacenter", "--host-volume", "--cpu-mhz", "--memory-mb"]) {
      expect(r.stderr).toContain(f);
    }
    expect(r.stderr).not.toContain("listening");
    expect(r.stderr).not.toContain('"@level"');
  }
});

it("an unknown flag or a bad value is one line that points at --help, exit 1", () => {
  const unknown = run("--bogus");
  expect(unknown.status).toBe(1);
  expect(unknown.stderr).toMatch(/^devagent: Unknown option '--bogus'.* \(see --help\)\n$/);
  expect(unknown.stderr.split("\n")).toHaveLength(2);
  const badPort = run("--port", "http");
  expect(badPort.status).toBe(1);
  expect(badPort.stderr).toBe("devagent: --port: not a port number: http (see --help)\n");
});
