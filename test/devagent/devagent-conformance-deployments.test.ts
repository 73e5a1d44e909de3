// The dev agent's deployment-related answers from a real canary rollout, compared with the recorded Nomad answers
// (test/fixtures/nomad): GET /v1/deployment/:id, GET /v1/job/:id/deployment, GET /v1/job/:id/versions and the
// POST promote / revert / scale / fail answers. The recordings are documentation samples that leave some fields out,
// so besides "every recorded key, same JSON type" the key sets are compared exactly with Nomad 1.6's structs
// (nomad/structs/structs.go @ a4cc76bd: Deployment, DeploymentState, DeploymentUpdateResponse, JobRegisterResponse
// with its embedded QueryMeta, JobVersionsResponse).

import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { shapeDiff } from "../helpers/json-shape.js";

const fixtureJson = (name: string) => JSON.parse(readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8"));
const sorted = (o: object) => Object.keys(o).sort();

const deploymentKeys = ["ID", "Namespace", "JobID", "JobVersion", "JobModifyIndex", "JobSpecModifyIndex", "JobCreateIndex", "IsMultiregion", "TaskGroups", "Status", "StatusDescription", "EvalPriority", "CreateIndex", "ModifyIndex"].sort();
const deploymentStateKeys = ["AutoRevert", "AutoPromote", "ProgressDeadline", "RequireProgressBy", "Promoted", "PlacedCanaries", "DesiredCanaries", "DesiredTotal", "PlacedAllocs", "HealthyAllocs", "UnhealthyAllocs"].sort();
const deploymentUpdateKeys = ["EvalID", "EvalCreateIndex", "DeploymentModifyIndex", "RevertedJobVersion", "Index"].sort();
const queryMetaKeys = ["Index", "LastContact", "KnownLeader", "NextToken"];
const jobRegisterKeys = ["EvalID", "EvalCreateIndex", "JobModifyIndex", "Warnings", ...queryMetaKeys].sort();

const agent = useDevAgent();

const job = (version: string, update: Record<string, unknown> = {}) => shJob("rollout", `exec sleep 6${version}`, { count: 2, update });

async function stable(version: number) {
  return until(async () => {
    const j = (await api(agent(), "GET", "/v1/job/rollout")).json;
    return j.Version === version && j.Stable ? j : undefined;
  }, `version ${version} stable`);
}

describe("dev agent deployments conform to Nomad's answers", () => {
  let deploymentId = "";

  it("serves a canary deployment by job and by ID in Nomad's shape", async () => {
    await api(agent(), "POST", "/v1/jobs", job("0"));
    await stable(0);
    await api(agent(), "POST", "/v1/jobs", job("1", { Canary: 1, AutoRevert: true }));
    const byJob = await until(async () => {
      const d = (await api(agent(), "GET", "/v1/job/rollout/deployment")).json;
      return d?.JobVersion === 1 && d.TaskGroups.web.HealthyAllocs === 1 ? d : undefined;
    }, "a healthy canary");
    deploymentId = byJob.ID;
    expect(shapeDiff(fixtureJson("GET_v1_job_ID_deployment.response.json"), byJob)).toEqual([]);
    expect(sorted(byJob)).toEqual(deploymentKeys);
    expect(sorted(byJob.TaskGroups.web)).toEqual(deploymentStateKeys);
    expect(byJob.TaskGroups.web).toMatchObject({ AutoRevert: true, Promoted: false, DesiredCanaries: 1, DesiredTotal: 2, PlacedAllocs: 1 });
    expect(byJob.TaskGroups.web.PlacedCanaries).toHaveLength(1);
    expect(Number.isNaN(Date.parse(byJob.TaskGroups.web.RequireProgressBy))).toBe(false);

    const r = await api(agent(), "GET", `/v1/deployment/${deploymentId}`);
    expect(r.status).toBe(200);
    expect(Number(r.headers.get("x-nomad-index"))).toBeGreaterThanOrEqual(r.json.ModifyIndex);
    expect(shapeDiff(fixtureJson("GET_v1_deployment_ID.response.json"), r.json)).toEqual([]);
    expect(sorted(r.json)).toEqual(deploymentKeys);
    expect(r.json.ID).toBe(deploymentId);
  });

  it("answers promote like Nomad's DeploymentUpdateResponse", async () => {
    const r = await api(agent(), "POST", `/v1/deployment/promote/${deploymentId}`, { DeploymentID: deploymentId, All: true });
    expect(r.status).toBe(200);
    expect(shapeDiff(fixtureJson("POST_v1_deployment_promote_ID.response.json"), r.json)).toEqual([]);
    expect(sorted(r.json)).toEqual(deploymentUpdateKeys);
    expect(r.json.RevertedJobVersion).toBeNull();
    expect(r.json.EvalID).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(r.headers.get("x-nomad-index"))).toBe(r.json.Index);
    const after = (await api(agent(), "GET", `/v1/deployment/${deploymentId}`)).json;
    expect(after.TaskGroups.web.Promoted).toBe(true);
    expect(after.ModifyIndex).toBeGreaterThanOrEqual(r.json.DeploymentModifyIndex);
    await stable(1);
  });

  it("lists every version in Nomad's versions shape", async () => {
    const r = await api(agent(), "GET", "/v1/job/rollout/versions");
    const real = fixtureJson("GET_v1_job_ID_versions.response.json");
    delete real.Versions[0].TaskGroups[0].Disconnect; // added in Nomad 1.8, after the API version emulated here
    expect(shapeDiff(real, r.json)).toEqual([]);
    expect(sorted(r.json)).toEqual(["Diffs", "Versions", ...queryMetaKeys].sort());
    expect(r.json.Versions.map((v: any) => v.Version)).toEqual([1, 0]);
    for (const v of r.json.Versions) expect(shapeDiff(real.Versions[0], v)).toEqual([]);
    expect(r.json.Diffs).toBeNull();
  });

  it("answers revert and scale like Nomad's JobRegisterResponse", async () => {
    const revert = await api(agent(), "POST", "/v1/job/rollout/revert", { ...fixtureJson("POST_v1_job_ID_revert.request.json"), JobID: "rollout", JobVersion: 0 });
    expect(revert.status).toBe(200);
    expect(shapeDiff(fixtureJson("POST_v1_job_ID_revert.response.json"), revert.json)).toEqual([]);
    expect(sorted(revert.json)).toEqual(jobRegisterKeys);
    await stable(2);

    const request = { ...fixtureJson("POST_v1_job_ID_scale.request.json"), Target: { Group: "web" }, Count: 3 };
    const scale = await api(agent(), "POST", "/v1/job/rollout/scale", request);
    expect(scale.status).toBe(200);
    expect(shapeDiff(fixtureJson("POST_v1_job_ID_scale.response.json"), scale.json)).toEqual([]);
    expect(sorted(scale.json)).toEqual(jobRegisterKeys);
    expect(scale.json.EvalID).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("reports the reverted version when failing an auto-reverting deployment", async () => {
    await stable(3);
    const reg = await api(agent(), "POST", "/v1/jobs", job("4", { AutoRevert: true, MinHealthyTime: 60_000_000_000, HealthyDeadline: 120_000_000_000 }));
    expect(reg.status, reg.text).toBe(200);
    const d = await until(async () => {
      const x = (await api(agent(), "GET", "/v1/job/rollout/deployment")).json;
      return x?.JobVersion === 4 && x.Status === "running" ? x : undefined;
    }, "the version 4 deployment");
    const fail = await api(agent(), "POST", `/v1/deployment/fail/${d.ID}`);
    expect(fail.status).toBe(200);
    expect(sorted(fail.json)).toEqual(deploymentUpdateKeys);
    expect(fail.json.RevertedJobVersion).toBe(3);
  });
});
