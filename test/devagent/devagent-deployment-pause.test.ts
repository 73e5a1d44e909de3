// POST /v1/deployment/pause/:id as Nomad's Deployment.Pause answers it: Pause=true pauses (no evaluation), false
// resumes (running again, with an evaluation); a paused deployment holds its rolling update; a terminal one is 500
// "can't pause terminal deployment"; and while any deployment is active (paused included) job scaling is refused.

import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent();
const updateKeys = ["DeploymentModifyIndex", "EvalCreateIndex", "EvalID", "Index", "RevertedJobVersion"];

async function runningDeployment(jobId: string) {
  return until(async () => {
    const d = (await api(agent(), "GET", `/v1/job/${jobId}/deployment`)).json;
    return d && d.JobVersion === 1 && d.Status === "running" ? d : undefined;
  }, "the new version's deployment running");
}

describe("dev agent: deployment pause and resume", () => {
  it("pauses and resumes with Nomad's answers, holding the rolling update while paused", async () => {
    const job = (script: string) => shJob("pause-me", script, { count: 2, update: { MaxParallel: 1, MinHealthyTime: 1_000_000_000 } });
    expect((await api(agent(), "PUT", "/v1/jobs", job("exec sleep 600"))).status).toBe(200);
    await until(async () => (await api(agent(), "GET", "/v1/job/pause-me/deployment")).json?.Status === "successful", "version 0 deployed");
    await api(agent(), "PUT", "/v1/jobs", job("echo v1; exec sleep 600"));
    const d = await runningDeployment("pause-me");

    expect((await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { Pause: true })).text).toBe("DeploymentID must be specified");
    expect((await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { DeploymentID: "x", Pause: true })).text).toBe("Deployment ID does not match");
    const paused = await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    expect(paused.status).toBe(200);
    expect(Object.keys(paused.json).sort()).toEqual(updateKeys);
    expect(paused.json).toMatchObject({ EvalID: "", EvalCreateIndex: 0, RevertedJobVersion: null });
    expect(paused.headers.get("x-nomad-index")).toBe(String(paused.json.Index));
    const read = (await api(agent(), "GET", `/v1/deployment/${d.ID}`)).json;
    expect([read.Status, read.StatusDescription]).toEqual(["paused", "Deployment is paused"]);

    // Scaling is refused while it is paused (Deployment.Active()).
    const scale = await api(agent(), "POST", "/v1/job/pause-me/scale", { Count: 3, Target: { Group: "web" } });
    expect([scale.status, scale.text]).toEqual([400, "job scaling blocked due to active deployment"]);

    // Held: once the first new allocation is healthy, no second one is placed while paused.
    await until(async () => {
      const allocs = (await api(agent(), "GET", "/v1/job/pause-me/allocations")).json as any[];
      return allocs.some((a) => a.JobVersion === 1 && a.DeploymentStatus?.Healthy === true);
    }, "the first new allocation healthy");
    const afterHealthy = (await api(agent(), "GET", `/v1/deployment/${d.ID}?index=${read.ModifyIndex}&wait=1500ms`)).json;
    expect(afterHealthy.Status).toBe("paused");
    const live = ((await api(agent(), "GET", "/v1/job/pause-me/allocations")).json as any[]).filter((a) => a.DesiredStatus === "run");
    expect(live.filter((a) => a.JobVersion === 1)).toHaveLength(1);

    const resumed = await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: false });
    expect(resumed.json.EvalID).not.toBe("");
    expect(resumed.json.EvalCreateIndex).toBe(resumed.json.Index);
    await until(async () => (await api(agent(), "GET", `/v1/deployment/${d.ID}`)).json.Status === "successful", "the deployment completes once resumed");

    const terminal = await api(agent(), "POST", `/v1/deployment/pause/${d.ID}`, { DeploymentID: d.ID, Pause: true });
    expect([terminal.status, terminal.text]).toEqual([500, "can't pause terminal deployment"]);
    const unknown = await api(agent(), "POST", "/v1/deployment/pause/00000000-0000-0000-0000-000000000000", { DeploymentID: "00000000-0000-0000-0000-000000000000" });
    expect([unknown.status, unknown.text]).toEqual([500, "deployment not found"]);
  });
});
