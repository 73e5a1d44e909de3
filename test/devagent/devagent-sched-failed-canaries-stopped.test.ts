// A canary deployment that fails leaves nothing of itself behind, as Nomad's reconciler does it (stops the unpromoted
// canaries of a failed or superseded deployment): after the auto-revert the canary is stopped, the allocations of
// the stable version keep running (updated in place, never replaced) and no deployment waits for a promotion.
// Without auto-revert the failed canary is stopped too, and the old allocations are left alone.

import { createServer } from "node:net";
import { beforeAll, expect, it } from "vitest";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent();
let deadPort = 0;

beforeAll(async () => {
  // A port nothing listens on: the canary's tcp check can never pass.
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  deadPort = (server.address() as { port: number }).port;
  await new Promise((r) => server.close(r));
});

function job(id: string, script: string, opts: { canary: number; autoRevert: boolean; checkPort?: number }) {
  return {
    Job: {
      ID: id,
      TaskGroups: [
        {
          Name: "web",
          Count: 2,
          Update: {
            MaxParallel: 1,
            Canary: opts.canary,
            AutoRevert: opts.autoRevert,
            HealthCheck: "checks",
            MinHealthyTime: 100_000_000,
            HealthyDeadline: 1_500_000_000,
            ProgressDeadline: 4_000_000_000,
          },
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: { Unlimited: false, Attempts: 0 },
          Tasks: [
            {
              Name: "main",
              Driver: "raw_exec",
              KillTimeout: 500_000_000,
              Config: { command: "/bin/sh", args: ["-c", script] },
              Resources: { CPU: 100, MemoryMB: 32 },
              ...(opts.checkPort
                ? { Services: [{ Name: "web", Provider: "nomad", Checks: [{ Name: "tcp", Type: "tcp", PortLabel: String(opts.checkPort), Interval: 100e6, Timeout: 100e6 }] }] }
                : {}),
            },
          ],
        },
      ],
    },
  };
}

const allocs = async (id: string): Promise<any[]> => (await api(agent(), "GET", `/v1/job/${id}/allocations`)).json;
const live = async (id: string) => (await allocs(id)).filter((a) => a.DesiredStatus === "run" && !["complete", "failed", "lost"].includes(a.ClientStatus));
const deployments = async (id: string): Promise<any[]> => (await api(agent(), "GET", `/v1/job/${id}/deployments`)).json;

async function register(body: unknown) {
  const res = await api(agent(), "POST", "/v1/jobs", body);
  expect(res.status).toBe(200);
}

async function stableAt(id: string, version: number) {
  await until(async () => {
    const j = (await api(agent(), "GET", `/v1/job/${id}`)).json;
    return j.Version === version && j.Stable;
  }, `job ${id} version ${version} stable`);
}

async function failedCanaryDeployment(id: string, version: number) {
  return until(async () => (await deployments(id)).find((d) => d.JobVersion === version && d.Status === "failed"), `deployment of version ${version} failed`);
}

/** Settled: only the expected allocations run, and no deployment is running (none waits for a promotion). */
async function settled(id: string, serving: any[]) {
  const ids = serving.map((a) => a.ID).sort();
  await until(async () => {
    const now = (await live(id)).map((a) => a.ID).sort();
    const running = (await deployments(id)).filter((d) => d.Status === "running");
    return JSON.stringify(now) === JSON.stringify(ids) && running.length === 0;
  }, "only the stable allocations live and no deployment running");
}

it("after a failed canary and auto-revert to a rolling version, the canary is stopped and the old allocations stay", async () => {
  await register(job("revert-rolling", "exec sleep 600", { canary: 0, autoRevert: true }));
  await stableAt("revert-rolling", 0);
  const serving = await live("revert-rolling");
  expect(serving).toHaveLength(2);

  await register(job("revert-rolling", "exec sleep 601", { canary: 1, autoRevert: true, checkPort: deadPort }));
  const failed = await failedCanaryDeployment("revert-rolling", 1);
  expect(failed.StatusDescription).toContain("rolling back to job version 0");
  const canaryId = failed.TaskGroups.web.PlacedCanaries[0];

  await settled("revert-rolling", serving);
  const canary = (await allocs("revert-rolling")).find((a) => a.ID === canaryId);
  expect(canary).toMatchObject({ DesiredStatus: "stop" });
  const j = (await api(agent(), "GET", "/v1/job/revert-rolling")).json;
  expect(j.Version).toBe(2);
  expect((await live("revert-rolling")).map((a) => a.JobVersion)).toEqual([2, 2]);
  // Nothing of version 1 was ever placed besides the one canary.
  expect((await allocs("revert-rolling")).filter((a) => a.JobVersion === 1).map((a) => a.ID)).toEqual([canaryId]);
});

it("after auto-revert to a version that was itself deployed with a canary, no new canary is placed and nothing waits for promotion", async () => {
  await register(job("revert-canary", "exec sleep 600", { canary: 1, autoRevert: true }));
  await stableAt("revert-canary", 0);
  await register(job("revert-canary", "exec sleep 601", { canary: 1, autoRevert: true }));
  const d1 = await until(async () => (await deployments("revert-canary")).find((d) => d.JobVersion === 1 && d.TaskGroups.web.HealthyAllocs === 1), "healthy canary of version 1");
  expect((await api(agent(), "POST", `/v1/deployment/promote/${d1.ID}`, { DeploymentID: d1.ID, All: true })).status).toBe(200);
  await stableAt("revert-canary", 1);
  const serving = await live("revert-canary");
  expect(serving.map((a) => a.JobVersion)).toEqual([1, 1]);

  await register(job("revert-canary", "exec sleep 602", { canary: 1, autoRevert: true, checkPort: deadPort }));
  const failed = await failedCanaryDeployment("revert-canary", 2);
  const canaryId = failed.TaskGroups.web.PlacedCanaries[0];

  await settled("revert-canary", serving);
  expect((await allocs("revert-canary")).find((a) => a.ID === canaryId).DesiredStatus).toBe("stop");
  expect((await api(agent(), "GET", "/v1/job/revert-canary")).json.Version).toBe(3);
  const waiting = (await deployments("revert-canary")).filter((d) => d.JobVersion === 3 && d.TaskGroups.web?.DesiredCanaries > 0);
  expect(waiting).toEqual([]);
  // Only the one failed canary was ever placed after version 1 went live.
  const placedLater = (await allocs("revert-canary")).filter((a) => a.CreateIndex >= failed.CreateIndex).map((a) => a.ID);
  expect(placedLater).toEqual([canaryId]);
});

it("a failed canary deployment without auto-revert stops its canary and leaves the old allocations running", async () => {
  await register(job("no-revert", "exec sleep 600", { canary: 0, autoRevert: false }));
  await stableAt("no-revert", 0);
  const serving = await live("no-revert");

  await register(job("no-revert", "exec sleep 601", { canary: 1, autoRevert: false, checkPort: deadPort }));
  const failed = await failedCanaryDeployment("no-revert", 1);
  const canaryId = failed.TaskGroups.web.PlacedCanaries[0];

  await settled("no-revert", serving);
  expect((await allocs("no-revert")).find((a) => a.ID === canaryId)).toMatchObject({ DesiredStatus: "stop", DesiredDescription: "alloc not needed due to job update" });
  expect((await api(agent(), "GET", "/v1/job/no-revert")).json.Version).toBe(1);
});
