// A new job version rolls out through a deployment: MaxParallel allocations at a time, each batch once the previous
// one is healthy; old allocations are stopped, the version becomes Stable; a canary waits for promotion.
import { expect, it } from "vitest";
import { api, shJob, until, withDevAgent } from "../helpers/dev-agent.js";

const liveAllocs = async (agent: any, job: string) =>
  (await api(agent, "GET", `/v1/job/${job}/allocations`)).json.filter((a: any) => a.DesiredStatus === "run");

it("replaces every allocation with the new version, one at a time, and marks the version stable", () =>
  withDevAgent(async (agent) => {
    await api(agent, "POST", "/v1/jobs", shJob("roll", "echo v0; sleep 60", { count: 3 }));
    await until(async () => (await api(agent, "GET", "/v1/job/roll")).json.Stable, "version 0 stable");
    const v0 = await liveAllocs(agent, "roll");

    await api(agent, "POST", "/v1/jobs", shJob("roll", "echo v1; sleep 60", { count: 3 }));
    const d = await until(async () => {
      const r = (await api(agent, "GET", "/v1/job/roll/deployment")).json;
      return r?.JobVersion === 1 && r.Status === "successful" ? r : undefined;
    }, "deployment of version 1 to succeed");
    expect(d.TaskGroups.web).toMatchObject({ DesiredTotal: 3, PlacedAllocs: 3, HealthyAllocs: 3, UnhealthyAllocs: 0 });
    expect(d.StatusDescription).toBe("Deployment completed successfully");

    const all = (await api(agent, "GET", "/v1/job/roll/allocations")).json;
    const live = all.filter((a: any) => a.DesiredStatus === "run");
    expect(live.map((a: any) => a.JobVersion)).toEqual([1, 1, 1]);
    expect(live.every((a: any) => a.ClientStatus === "running" && a.DeploymentStatus.Healthy === true)).toBe(true);
    const old = all.filter((a: any) => v0.some((o: any) => o.ID === a.ID));
    expect(old.every((a: any) => a.DesiredStatus === "stop" && a.DesiredDescription === "alloc is being updated due to job update")).toBe(true);
    // max_parallel 1: the replacements were created one after another, each at a later index.
    const created = live.map((a: any) => a.CreateIndex).sort((a: number, b: number) => a - b);
    expect(new Set(created).size).toBe(3);
    const job = (await api(agent, "GET", "/v1/job/roll")).json;
    expect([job.Version, job.Stable, job.Status]).toEqual([1, true, "running"]);
  }));

it("places a canary next to the old allocations and finishes the rollout after promotion", () =>
  withDevAgent(async (agent) => {
    await api(agent, "POST", "/v1/jobs", shJob("canary", "sleep 60", { count: 2 }));
    await until(async () => (await api(agent, "GET", "/v1/job/canary")).json.Stable, "version 0 stable");
    await api(agent, "POST", "/v1/jobs", shJob("canary", "sleep 61", { count: 2, update: { Canary: 1 } }));
    const d = await until(async () => {
      const r = (await api(agent, "GET", "/v1/job/canary/deployment")).json;
      return r?.JobVersion === 1 && r.TaskGroups.web.HealthyAllocs === 1 ? r : undefined;
    }, "a healthy canary");
    expect(d.StatusDescription).toBe("Deployment is running but requires manual promotion");
    const live = await liveAllocs(agent, "canary");
    expect(live.map((a: any) => a.JobVersion).sort()).toEqual([0, 0, 1]);
    expect(live.find((a: any) => a.JobVersion === 1).DeploymentStatus.Canary).toBe(true);

    const promote = await api(agent, "POST", `/v1/deployment/promote/${d.ID}`, { DeploymentID: d.ID, All: true });
    expect(promote.status).toBe(200);
    expect(Object.keys(promote.json).sort()).toEqual(["DeploymentModifyIndex", "EvalCreateIndex", "EvalID", "Index", "RevertedJobVersion"]);
    await until(async () => (await api(agent, "GET", `/v1/deployment/${d.ID}`)).json.Status === "successful", "promoted deployment to succeed");
    expect((await liveAllocs(agent, "canary")).map((a: any) => a.JobVersion)).toEqual([1, 1]);
  }));
