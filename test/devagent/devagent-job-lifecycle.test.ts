// Registering, reading, listing, stopping and purging a job drive real processes and Nomad's job/alloc statuses.
import { expect, it } from "vitest";
import { api, shJob, until, withDevAgent } from "../helpers/dev-agent.js";

it("registers, lists, stops (dead, allocations stopped) and purges a job", () =>
  withDevAgent(async (agent) => {
    const reg = await api(agent, "POST", "/v1/jobs", shJob("life", "sleep 60", { count: 2 }));
    expect(reg.status).toBe(200);
    const running = await until(async () => {
      const r = await api(agent, "GET", "/v1/job/life/allocations");
      return r.json.length === 2 && r.json.every((a: any) => a.ClientStatus === "running") ? r.json : undefined;
    }, "two running allocations");
    expect(running.map((a: any) => a.Name).sort()).toEqual(["life.web[0]", "life.web[1]"]);
    expect((await api(agent, "GET", "/v1/job/life")).json.Status).toBe("running");
    const list = await api(agent, "GET", "/v1/jobs");
    expect(list.json.map((j: any) => j.ID)).toEqual(["life"]);
    expect(list.json[0].JobSummary.Summary.web.Running).toBe(2);

    const stop = await api(agent, "DELETE", "/v1/job/life");
    expect(stop.json.EvalID).not.toBe("");
    const job = (await api(agent, "GET", "/v1/job/life")).json;
    expect([job.Stop, job.Status, job.Version]).toEqual([true, "dead", 1]);
    await until(async () => {
      const r = await api(agent, "GET", "/v1/job/life/allocations");
      return r.json.every((a: any) => a.DesiredStatus === "stop" && a.ClientStatus === "complete");
    }, "allocations stopped");

    await api(agent, "DELETE", "/v1/job/life?purge=true");
    expect((await api(agent, "GET", "/v1/job/life")).status).toBe(404);
    expect((await api(agent, "GET", "/v1/jobs")).json).toEqual([]);
  }));

it("keeps the version for an identical re-registration and enforces the job modify index", () =>
  withDevAgent(async (agent) => {
    const first = await api(agent, "POST", "/v1/jobs", shJob("idem", "sleep 60"));
    await api(agent, "POST", "/v1/jobs", shJob("idem", "sleep 60"));
    const stored = (await api(agent, "GET", "/v1/job/idem")).json;
    expect([stored.Version, stored.JobModifyIndex]).toEqual([0, first.json.JobModifyIndex]);
    const stale = await api(agent, "POST", "/v1/jobs", { ...shJob("idem", "sleep 61"), EnforceIndex: true, JobModifyIndex: 1 });
    expect([stale.status, stale.text]).toEqual([
      500,
      `Enforcing job modify index 1: job exists with conflicting job modify index: ${first.json.JobModifyIndex}`,
    ]);
    const ok = await api(agent, "POST", "/v1/jobs", { ...shJob("idem", "sleep 61"), EnforceIndex: true, JobModifyIndex: first.json.JobModifyIndex });
    expect(ok.status).toBe(200);
    expect((await api(agent, "GET", "/v1/job/idem")).json.Version).toBe(1);
  }));
