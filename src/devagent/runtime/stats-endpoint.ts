// GET /v1/client/allocation/:alloc_id/stats — Nomad's AllocResourceUsage for the running tasks, measured.

import type { ServerResponse } from "node:http";
import type { AllocRunner } from "../alloc-runtime.js";
import { writeJson } from "./http-answers.js";
import { addUsage, emptyUsage, TaskStatsCollector, type ResourceUsage } from "./proc-stats.js";

const collector = new TaskStatsCollector();

interface TaskResourceUsage {
  ResourceUsage: ResourceUsage;
  Timestamp: number;
  Pids: Record<string, ResourceUsage>;
}

export async function allocStats(runner: AllocRunner): Promise<{ ResourceUsage: ResourceUsage; Tasks: Record<string, TaskResourceUsage>; Timestamp: number }> {
  const total = emptyUsage();
  const tasks: Record<string, TaskResourceUsage> = {};
  for (const [name, state] of Object.entries(runner.taskStates())) {
    const roots = runner.taskPids(name);
    if (state.State !== "running" || roots.length === 0) continue;
    const sample = await collector.latest(`${runner.allocId}/${name}`, () => runner.taskPids(name));
    const usage = emptyUsage();
    const pids: Record<string, ResourceUsage> = {};
    for (const [pid, u] of sample.usage) {
      pids[String(pid)] = u;
      addUsage(usage, u);
    }
    addUsage(total, usage);
    tasks[name] = { ResourceUsage: usage, Timestamp: sample.at * 1e6, Pids: pids };
  }
  return { ResourceUsage: total, Tasks: tasks, Timestamp: Date.now() * 1e6 };
}

export async function serveStats(res: ServerResponse, runner: AllocRunner): Promise<void> {
  writeJson(res, 200, await allocStats(runner));
}
