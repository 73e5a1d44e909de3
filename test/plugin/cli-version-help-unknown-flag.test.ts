// The command line as a person meets it: --version and --help answer on stdout with exit 0 and start nothing, even
// when the environment holds a bad setting; a flag it does not know is one line in our words that points at --help.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { pluginEntry } from "../interop/interop-build.js";

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

function run(args: string[], env: Record<string, string> = {}) {
  // No go-plugin cookie: were a flag to be ignored, the plugin would fail its handshake instead of answering.
  const { CTRLPLANE_PLUGIN: _, ...rest } = process.env;
  return spawnSync(process.execPath, [pluginEntry(), ...args], { env: { ...rest, ...env }, encoding: "utf8", timeout: 20_000 });
}

it("--version prints the package version on stdout and exits 0", () => {
  const result = run(["--version"], { CP_NOMAD_ADDRESS: "not a url" });
  expect(result.status, result.stderr).toBe(0);
  expect(result.stdout).toBe(`nomad-provider ${version}\n`);
  expect(result.stderr).toBe("");
});

it("--help and -h print the usage, every flag included, on stdout and exit 0", () => {
  for (const flag of ["--help", "-h"]) {
    const result = run([flag], { CP_NOMAD_ADDRESS: "not a url" });
    expect(result.status, result.stderr).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).toMatch(/^Usage: nomad-provider \[flags\]\n/);
    for (const name of ["--listen", "--nomad-address", "--nomad-token", "--log-level", "--version", "--help"]) {
      expect(result.stdout).toContain(name);
    }
  }
});

it("an unknown flag, a flag without its value and a stray argument are one line each, pointing at --help, exit 1", () => {
  const cases: Array<[string[], string]> = [
    [["--nomad-adress", "http://x"], "nomad-provider: --nomad-adress: unknown flag (nomad-provider --help lists them)\n"],
    [["--listen"], "nomad-provider: --listen: needs a value (see nomad-provider --help)\n"],
    [["--insecure=yes"], "nomad-provider: --insecure: takes no value (see nomad-provider --help)\n"],
    [["serve"], "nomad-provider: serve: unexpected argument (see nomad-provider --help)\n"],
  ];
  for (const [args, line] of cases) {
    const result = run(args);
    expect(result.status, args.join(" ")).toBe(1);
    expect(result.stderr).toBe(line);
    expect(result.stdout).toBe("");
  }
});
