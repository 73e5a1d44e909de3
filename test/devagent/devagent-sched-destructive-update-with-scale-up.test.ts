// A new version that both changes the tasks (a destructive update) and adds allocations, on a node that cannot hold
// them all, is placed the way Nomad's scheduler places it: replacements first, each using what stopping its old
// allocation frees; an old allocation is stopped only when its replacement has a place; what does not fit is queued
// with FailedTGAllocs and a blocked evaluation. With max_parallel 1 the added allocation takes the only slot (as in
// Nomad's reconciler); the deployment then waits without starting its progress clock and finishes once room frees.

import { expect, it } from "vitest";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ nodeResources: { cpuMhz: 4900, memoryMb: 16_000 } });

function job(id: string, opts: { count: number; mainMhz: number; memoryMb: number; maxParallel: number }) {
  const task = (name: string, cpu: number, memoryMb: number) => ({
    Name: name,
    Driver: "raw_exec",
    KillTimeout: 500_000_000,
    Config: { command: "/bin/sh", args: ["-c", "exec sleep 600"] },
    Resources: { CPU: cpu, MemoryMB: memoryMb },
  });
  return {
    Job: {
      ID: id,
      TaskGroups: [
        {
          Name: "web",
          Count: opts.count,
          Update: { MaxParallel: opts.maxParallel, HealthCheck: "task_states", MinHealthyTime: 100_000_000, HealthyDeadline: 10_000_000_000, ProgressDeadline: 20_000_000_000 },
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: { Unlimited: false, Attempts: 0 },
          Tasks: [task("main", opts.mainMhz, opts.memoryMb), task("side", 100, 32)],
        },
      ],
    },
  };
}

const allocs = async (id: string): Promise<any[]> => (await api(agent(), "GET", `/v1/job/${id}/allocations`)).json;
const live = async (id: string) => (await allocs(id)).filter((a) => a.DesiredStatus === "run" && !["complete", "failed", "lost"].includes(a.ClientStatus));
const healthy = (a: any) => a.ClientStatus === "running" && a.DeploymentStatus?.Healthy === true;

async function register(body: unknown) {
  const res = await api(agent(), "POST", "/v1/jobs", body);
  expect(res.status).toBe(200);
  return (await api(agent(), "GET", `/v1/evaluation/${res.json.EvalID}`)).json;
}

async function stable(id: string, version: number) {
  await until(async () => {
    const j = (await api(agent(), "GET", `/v1/job/${id}`)).json;
    return j.Version === version && j.Stable;
  }, `${id} version ${version} stable`);
}

it("replaces every old allocation in place of itself and queues only what does not fit (max_parallel 2)", async () => {
  // 2 x 1,900 MHz of 4,900; version 1 wants 3 x 1,900 and changes memory (destructive).
  await register(job("grow", { count: 2, mainMhz: 1800, memoryMb: 64, maxParallel: 2 }));
  await stable("grow", 0);
  const old = await live("grow");

  const ev = await register(job("grow", { count: 3, mainMhz: 1800, memoryMb: 96, maxParallel: 2 }));
  expect(ev.FailedTGAllocs.web).toMatchObject({ NodesExhausted: 1, DimensionExhausted: { cpu: 1 } });
  expect(ev.QueuedAllocations).toEqual({ web: 1 });
  expect(ev.BlockedEval).not.toBe("");
  // The first replacement was placed in the room of the allocation it replaces; nothing was stopped for nothing.
  const first = await allocs("grow");
  for (const a of first.filter((x) => old.some((o) => o.ID === x.ID) && x.DesiredStatus === "stop")) {
    expect(first.find((n) => n.ID === a.NextAllocation)).toMatchObject({ Name: a.Name, JobVersion: 1 });
  }
  expect(first.filter((a) => a.DesiredStatus === "run")).toHaveLength(2);

  const replaced = await until(async () => {
    const now = await live("grow");
    return now.length === 2 && now.every((a) => a.JobVersion === 1 && healthy(a)) && now;
  }, "both old allocations replaced by healthy version-1 allocations");
  expect(replaced.map((a) => a.Name).sort()).toEqual(["grow.web[0]", "grow.web[1]"]);
  const all = await allocs("grow");
  for (const o of old) {
    const a = all.find((x) => x.ID === o.ID);
    expect(a).toMatchObject({ DesiredStatus: "stop", DesiredDescription: "alloc is being updated due to job update" });
    expect(all.find((n) => n.ID === a.NextAllocation)).toMatchObject({ Name: o.Name, JobVersion: 1 });
  }
  expect((await api(agent(), "GET", "/v1/job/grow/summary")).json.Summary.web.Queued).toBe(1);
  const d = (await api(agent(), "GET", "/v1/job/grow/deployment")).json;
  expect(d).toMatchObject({ JobVersion: 1, Status: "running" });
  expect(d.TaskGroups.web).toMatchObject({ DesiredTotal: 3, PlacedAllocs: 2, HealthyAllocs: 2 });
  const blocked = ((await api(agent(), "GET", "/v1/job/grow/evaluations")).json as any[]).filter((e) => e.Status === "blocked");
  expect(blocked).toHaveLength(1);
  expect(blocked[0].FailedTGAllocs.web.DimensionExhausted).toEqual({ cpu: 1 });
  expect((await api(agent(), "DELETE", "/v1/job/grow")).status).toBe(200);
});

it("with max_parallel 1 the added allocation waits for room, the old ones keep running, and the rollout finishes once room frees", async () => {
  // 2 x 1,500 MHz + a 1,800 MHz neighbour on 4,900: the third allocation of version 1 does not fit until it leaves.
  await register(job("neighbour", { count: 1, mainMhz: 1700, memoryMb: 32, maxParallel: 1 }));
  await register(job("tight", { count: 2, mainMhz: 1400, memoryMb: 64, maxParallel: 1 }));
  await stable("tight", 0);
  const old = await live("tight");

  const ev = await register(job("tight", { count: 3, mainMhz: 1400, memoryMb: 96, maxParallel: 1 }));
  expect(ev.FailedTGAllocs.web.DimensionExhausted).toEqual({ cpu: 1 });
  expect(ev.QueuedAllocations).toEqual({ web: 1 });
  expect((await live("tight")).map((a) => a.ID).sort()).toEqual(old.map((a) => a.ID).sort());
  const waiting = (await api(agent(), "GET", "/v1/job/tight/deployment")).json;
  expect(waiting).toMatchObject({ JobVersion: 1, Status: "running" });
  // Nothing placed: the progress clock has not started, so the deadline cannot fail the deployment meanwhile.
  expect(waiting.TaskGroups.web).toMatchObject({ PlacedAllocs: 0, RequireProgressBy: "0001-01-01T00:00:00Z" });

  expect((await api(agent(), "DELETE", "/v1/job/neighbour")).status).toBe(200);
  const done = await until(async () => {
    const d = (await api(agent(), "GET", `/v1/deployment/${waiting.ID}`)).json;
    return d.Status === "successful" && d;
  }, "the rollout to finish once the neighbour left");
  expect(done.TaskGroups.web).toMatchObject({ DesiredTotal: 3, PlacedAllocs: 3, HealthyAllocs: 3 });
  expect(done.TaskGroups.web.RequireProgressBy).not.toBe("0001-01-01T00:00:00Z");
  const now = await live("tight");
  expect(now.map((a) => a.JobVersion)).toEqual([1, 1, 1]);
  expect(now.map((a) => a.Name).sort()).toEqual(["tight.web[0]", "tight.web[1]", "tight.web[2]"]);
});
