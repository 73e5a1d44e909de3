import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { groupMembers } from "../../src/devagent/runtime/process-group.js";
import { waitFor } from "./devagent-runtime-harness.js";

const dir = mkdtempSync(join(tmpdir(), "devagent-orphans-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stand-alone "agent": a node process running one allocation, printing its task's pgid. */
async function agentScript(): Promise<string> {
  const entry = join(dir, "agent.ts");
  writeFileSync(
    entry,
    `import { createAllocRunner } from ${JSON.stringify(new URL("../../src/devagent/runtime/alloc-runner.ts", import.meta.url).pathname)};
const task = { Name: "t", Driver: "raw_exec", Config: { command: "/bin/sh", args: ["-c", "sleep 300 & sleep 301"] } };
const group = { Name: "g", Tasks: [task] };
const runner = createAllocRunner({ allocId: "orphan", allocName: "j.g[0]", allocIndex: 0, namespace: "default", region: "global",
  datacenter: "dc1", nodeId: "n", nodeName: "n", job: { ID: "j", Type: "service", TaskGroups: [group] }, group, ports: [],
  allocDir: ${JSON.stringify(join(dir, "alloc"))} }, { onUpdate() { const pid = runner.taskPids("t")[0]; if (pid) console.log("PGID " + pid); }, onHealth() {} });
runner.start();`,
  );
  const outfile = join(dir, "agent.mjs");
  await build({ entryPoints: [entry], bundle: true, platform: "node", format: "esm", outfile, logLevel: "silent" });
  return outfile;
}

async function runAgentAndKill(signal: NodeJS.Signals): Promise<number> {
  const agent = spawn(process.execPath, [await agentScript()], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  agent.stdout.on("data", (c) => (out += c));
  const pgid = await waitFor(() => Number(/PGID (\d+)/.exec(out)?.[1]) || undefined, "task pgid");
  await waitFor(() => groupMembers(pgid).length >= 3, "task children");
  agent.kill(signal);
  return pgid;
}

describe("no task outlives the agent", () => {
  it("kills every task process when the agent is SIGKILLed (the supervisor sees the agent's pipe close)", async () => {
    const pgid = await runAgentAndKill("SIGKILL");
    await waitFor(() => groupMembers(pgid).length === 0, "task group gone", 5000);
  });

  it("kills every task process when the agent is terminated with SIGTERM", async () => {
    const pgid = await runAgentAndKill("SIGTERM");
    await waitFor(() => groupMembers(pgid).length === 0, "task group gone", 5000);
    expect(groupMembers(pgid)).toEqual([]);
  });
});
