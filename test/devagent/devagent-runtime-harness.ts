// Shared scaffolding for the runtime tests: hand-written job/group JSON, a temp alloc dir, a runner, and
// condition polling with a deadline (never a bare sleep).

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readProcStat } from "../../src/devagent/runtime/process-group.js";
import { createAllocRunner } from "../../src/devagent/runtime/alloc-runner.js";
import type { AllocatedPort, AllocRunner, HealthSettings } from "../../src/devagent/alloc-runtime.js";

export interface Harness {
  runner: AllocRunner;
  allocDir: string;
  health: { healthy: boolean; description: string }[];
  updates: () => number;
}

const cleanups: (() => Promise<void>)[] = [];

export async function cleanupAll(): Promise<void> {
  while (cleanups.length) await cleanups.pop()!();
}

export function rawTask(name: string, script: string, extra: Record<string, any> = {}): Record<string, any> {
  return { Name: name, Driver: "raw_exec", Config: { command: "/bin/sh", args: ["-c", script] }, KillTimeout: 2e9, ...extra };
}

export function makeRunner(options: {
  tasks: Record<string, any>[];
  type?: string;
  restartPolicy?: Record<string, any>;
  ports?: AllocatedPort[];
  health?: HealthSettings;
  services?: Record<string, any>[];
}): Harness {
  const allocDir = mkdtempSync(join(tmpdir(), "devagent-runtime-"));
  const group = { Name: "g", Count: 1, Tasks: options.tasks, RestartPolicy: options.restartPolicy ?? null, Services: options.services ?? null };
  const job = { ID: "job-1", Name: "job-1", Type: options.type ?? "service", Namespace: "default", Meta: { owner: "tests" }, TaskGroups: [group] };
  const health: Harness["health"] = [];
  let updates = 0;
  const runner = createAllocRunner(
    {
      allocId: "a1b2c3d4-0000-4000-8000-000000000001",
      allocName: "job-1.g[0]",
      allocIndex: 0,
      namespace: "default",
      region: "global",
      datacenter: "dc1",
      nodeId: "node-1",
      nodeName: "dev",
      job,
      group,
      ports: options.ports ?? [],
      allocDir,
      health: options.health,
    },
    { onUpdate: () => void updates++, onHealth: (healthy, description) => void health.push({ healthy, description }) },
  );
  cleanups.push(async () => {
    await runner.stop("test cleanup");
    rmSync(allocDir, { recursive: true, force: true });
  });
  return { runner, allocDir, health, updates: () => updates };
}

export async function waitFor<T>(probe: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** True while `pid` is a live process (a zombie waiting to be reaped does not count). */
export function processAlive(pid: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== "Z" && stat.state !== "X";
}
