// The dev agent answers with the shapes of real Nomad (recorded in test/fixtures/nomad): every key the fixture
// has, with the same JSON type, recursively; status codes and error bodies byte for byte.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { kind, shapeDiff } from "../helpers/json-shape.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");
const fixtureJson = (name: string) => JSON.parse(fixture(name));

describe("dev agent conformance with recorded Nomad answers", () => {
  const agent = useDevAgent();
  let allocId = "";

  it("registers the documented job request with the documented answer shape", async () => {
    const r = await api(agent(), "POST", "/v1/jobs", fixture("POST_v1_jobs.request.init-example.json"));
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toBe("application/json");
    expect(Number(r.headers.get("x-nomad-index"))).toBeGreaterThan(0);
    expect(shapeDiff(fixtureJson("POST_v1_jobs.response.json"), r.json)).toEqual([]);
    expect(r.json.EvalID).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.json.JobModifyIndex).toBeGreaterThan(0);
  });

  it("reads the job back with every key a real agent serves", async () => {
    const r = await api(agent(), "GET", "/v1/job/example");
    expect(r.status).toBe(200);
    expect(r.headers.get("x-nomad-knownleader")).toBe("true");
    expect(r.headers.get("x-nomad-lastcontact")).toBe("0");
    const real = fixtureJson("GET_v1_job_ID_versions.response.json").Versions[0];
    delete real.TaskGroups[0].Disconnect; // added in Nomad 1.8, after the API version emulated here
    expect(shapeDiff(real, r.json)).toEqual([]);
    expect(shapeDiff(fixtureJson("GET_v1_job_ID.response.json"), r.json)).toEqual([]);
    expect(r.json.TaskGroups[0].Tasks[0].Resources).toMatchObject({ CPU: 500, MemoryMB: 256 });
    expect(r.json.TaskGroups[0].Tasks[0].KillTimeout).toBe(5_000_000_000);
  });

  it("lists jobs, versions and evaluations in Nomad's shapes", async () => {
    const jobs = await api(agent(), "GET", "/v1/jobs");
    expect(shapeDiff(fixtureJson("GET_v1_jobs.response.json"), jobs.json)).toEqual([]);
    const versions = await api(agent(), "GET", "/v1/job/example/versions");
    const real = fixtureJson("GET_v1_job_ID_versions.response.json");
    delete real.Versions[0].TaskGroups[0].Disconnect;
    expect(shapeDiff(real, versions.json)).toEqual([]);
    const evals = await api(agent(), "GET", "/v1/job/example/evaluations");
    const ev = await api(agent(), "GET", `/v1/evaluation/${evals.json[0].ID}?related=true`);
    const realEval = fixtureJson("GET_v1_evaluation_ID.response.json");
    delete realEval.FailedTGAllocs; // only present when a placement failed
    delete realEval.PreviousEval;
    delete realEval.StatusDescription; // omitempty: only set on blocked/failed evaluations
    expect(shapeDiff(realEval, ev.json)).toEqual([]);
  });

  it("serves allocations as stubs and full objects with allocated ports", async () => {
    const list = await until(async () => {
      const r = await api(agent(), "GET", "/v1/job/example/allocations");
      return r.json.length && r.json[0].ClientStatus === "running" ? r : undefined;
    }, "a running allocation");
    const stub = fixtureJson("GET_v1_job_ID_allocations.response.json")[0];
    delete stub.RescheduleTracker; // null for a first placement
    expect(shapeDiff(stub, list.json[0])).toEqual([]);
    allocId = list.json[0].ID;
    const full = await api(agent(), "GET", `/v1/allocation/${allocId}`);
    const capture = fixtureJson("GET_v1_allocation_ID.from-client-state.capture.json");
    capture.Job = null; // compared above
    expect(shapeDiff(capture, full.json)).toEqual([]);
    const node = fixtureJson("GET_v1_node_ID_allocations.capture.json")[0];
    node.Job = null;
    expect(shapeDiff(node, full.json)).toEqual([]);
    const port = full.json.AllocatedResources.Shared.Ports[0];
    expect(port).toMatchObject({ Label: "db", To: 6379, HostIP: "127.0.0.1" });
    expect(port.Value).toBeGreaterThanOrEqual(20000);
    expect(port.Value).toBeLessThan(32000);
    expect(full.json.AllocatedResources.Shared.Networks[0].DynamicPorts[0].Value).toBe(port.Value);
  });

  it("serves deployments and scale status in Nomad's shapes", async () => {
    const d = await api(agent(), "GET", "/v1/job/example/deployment");
    expect(shapeDiff(fixtureJson("GET_v1_deployment_ID.response.json"), d.json)).toEqual([]);
    const byId = await api(agent(), "GET", `/v1/deployment/${d.json.ID}`);
    expect(byId.json.ID).toBe(d.json.ID);
    const scale = await api(agent(), "GET", "/v1/job/example/scale");
    expect(shapeDiff(fixtureJson("GET_v1_job_ID_scale.response.json"), scale.json)).toEqual([]);
  });

  it("answers agent and status endpoints like Nomad", async () => {
    const health = await api(agent(), "GET", "/v1/agent/health");
    expect(health.json).toEqual(fixtureJson("GET_v1_agent_health.response.json"));
    const regions = await api(agent(), "GET", "/v1/regions");
    expect(regions.json).toEqual(["global"]);
    const leader = await api(agent(), "GET", "/v1/status/leader");
    expect(typeof leader.json).toBe(typeof fixtureJson("GET_v1_status_leader.response.json"));
    const self = await api(agent(), "GET", "/v1/agent/self");
    expect(Object.keys(self.json).sort()).toEqual(["config", "member", "stats"]);
    expect(shapeDiff(fixtureJson("GET_v1_agent_self.response.json").member, self.json.member)).toEqual([]);
  });

  it("answers errors with Nomad's status codes and plain-text bodies", async () => {
    const missing = await api(agent(), "GET", "/v1/job/nope");
    expect(missing.status).toBe(404);
    expect(missing.text).toBe(fixture("GET_v1_job_ID.404.txt"));
    expect(missing.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(missing.headers.get("x-nomad-index")).not.toBeNull();
    expect((await api(agent(), "GET", "/v1/allocation/00000000-0000-0000-0000-000000000000")).text).toBe("alloc not found");
    expect((await api(agent(), "GET", "/v1/evaluation/00000000-0000-0000-0000-000000000000")).text).toBe("eval not found");
    expect((await api(agent(), "GET", "/v1/deployment/00000000-0000-0000-0000-000000000000")).text).toBe("deployment not found");
    const del = await api(agent(), "DELETE", "/v1/job/nope");
    expect(del.status).toBe(200);
    expect(del.json).toMatchObject({ EvalID: "", EvalCreateIndex: 0, JobModifyIndex: 0 });
    expect((await api(agent(), "GET", "/v1/job/nope/deployment")).text).toBe("null");
    expect((await api(agent(), "GET", "/v1/job/nope/allocations")).json).toEqual([]);
    const scale = await api(agent(), "POST", "/v1/job/nope/scale", { Count: 2, Target: { Group: "x" } });
    expect([scale.status, scale.text]).toEqual([404, 'job "nope" not found']);
    const region = await api(agent(), "GET", "/v1/jobs?region=mars");
    expect([region.status, region.text]).toEqual([500, "No path to region"]);
    const empty = await api(agent(), "POST", "/v1/jobs", "{}");
    expect([empty.status, empty.text]).toEqual([400, "Job must be specified"]);
    const typed = await api(agent(), "POST", "/v1/jobs", { Job: { ID: "x", TaskGroups: [{ Name: "g", Count: "2" }] } });
    expect([typed.status, typed.text]).toEqual([400, "json: cannot unmarshal string into Go struct field TaskGroup.Job.TaskGroups.Count of type int"]);
  });

  it("validates like Nomad: 500 with the multierror text on register, 200 with ValidationErrors on validate", async () => {
    const bad = shJob("bad", "true");
    (bad.Job.TaskGroups[0]!.Tasks[0] as any).Resources = { CPU: 0 };
    const reg = await api(agent(), "POST", "/v1/jobs", bad);
    expect(reg.status).toBe(500);
    // go-multierror 1.1 at every level Nomad nests one (Job, TaskGroup, Task, Resources, MeetsMinResources); each
    // nested text keeps its "\n\n" as Go's %v does.
    expect(reg.text).toBe(
      "1 error occurred:\n\t* Task group web validation failed: 1 error occurred:\n\t* Task main validation failed: 1 error occurred:\n\t* 1 error occurred:\n\t* 1 error occurred:\n\t* minimum CPU value is 1; got 0" +
        "\n\n".repeat(5),
    );
    const val = await api(agent(), "POST", "/v1/validate/job", bad);
    expect(val.status).toBe(200);
    expect(shapeDiff(fixtureJson("POST_v1_validate_job.response.json"), val.json)).toEqual([]);
    expect(val.json.Error).toBe(reg.text);
  });
});
