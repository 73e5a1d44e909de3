// PUT /v1/job/:id/plan answers Nomad's JobPlanResponse (Annotations.DesiredTGUpdates, Diff, FailedTGAllocs,
// JobModifyIndex, Warnings, CreatedEvals) computed by the scheduler that then runs the job, and registers nothing:
// the counts a plan announces are the allocations the register that follows creates.
import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const planFields = ["Annotations", "CreatedEvals", "Diff", "FailedTGAllocs", "JobModifyIndex", "NextPeriodicLaunch", "Warnings"];
const updateFields = ["Canary", "DestructiveUpdate", "Ignore", "InPlaceUpdate", "Migrate", "Place", "Preemptions", "Stop"];

function job(id: string, script: string, count: number, extra: Record<string, unknown> = {}) {
  const j = shJob(id, script, { count, update: { MaxParallel: count } });
  Object.assign(j.Job.TaskGroups[0]!.Tasks[0]!, extra);
  return j;
}

describe("dev agent job plan", () => {
  const agent = useDevAgent();

  it("plans a new job in Nomad's shape without registering it", async () => {
    const r = await api(agent(), "PUT", "/v1/job/planned/plan", { ...job("planned", "exec sleep 60", 2), Diff: true });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json).filter((k) => k !== "Index").sort()).toEqual(planFields);
    expect(Object.keys(r.json.Annotations.DesiredTGUpdates.web).sort()).toEqual(updateFields);
    expect(r.json.Annotations.DesiredTGUpdates.web).toMatchObject({ Place: 2, Ignore: 0, DestructiveUpdate: 0 });
    expect(r.json).toMatchObject({ JobModifyIndex: 0, FailedTGAllocs: null, CreatedEvals: null, Warnings: "" });
    expect(r.json.Diff.Type).toBe("Added");
    expect(r.json.Diff.TaskGroups[0]).toMatchObject({ Type: "Added", Name: "web" });
    expect((await api(agent(), "GET", "/v1/job/planned")).status).toBe(404);
    expect((await api(agent(), "GET", "/v1/job/planned/allocations")).json).toEqual([]);
  });

  it("announces the placements and updates a register then makes", async () => {
    const reg = await api(agent(), "PUT", "/v1/jobs", job("rolled", "exec sleep 60", 2));
    expect(reg.status).toBe(200);
    await until(async () => {
      const a = await api(agent(), "GET", "/v1/job/rolled/allocations");
      return a.json.filter((x: any) => x.ClientStatus === "running").length === 2;
    }, "two running allocations");
    const stored = (await api(agent(), "GET", "/v1/job/rolled")).json;

    const same = await api(agent(), "PUT", "/v1/job/rolled/plan", { ...job("rolled", "exec sleep 60", 2), Diff: true });
    expect(same.json.Annotations.DesiredTGUpdates.web).toMatchObject({ Ignore: 2, Place: 0, DestructiveUpdate: 0, Stop: 0 });
    expect(same.json.Diff.Type).toBe("None");
    expect(same.json.JobModifyIndex).toBe(stored.JobModifyIndex);

    const next = job("rolled", "exec sleep 61", 3);
    const plan = await api(agent(), "PUT", "/v1/job/rolled/plan", { ...next, Diff: true });
    const u = plan.json.Annotations.DesiredTGUpdates.web;
    expect(u).toMatchObject({ Place: 1, DestructiveUpdate: 2, Ignore: 0, Canary: 0 });
    expect(plan.json.Diff.Type).toBe("Edited");
    const fields = JSON.stringify(plan.json.Diff.TaskGroups[0]);
    expect(fields).toContain('"Name":"Count","Old":"2","New":"3","Annotations":["forces create"]');
    // Nomad's Annotate: the group's update counts by type, the changed task's kind of update.
    expect(plan.json.Diff.TaskGroups[0].Updates).toEqual({ create: 1, "create/destroy update": 2 });
    expect(plan.json.Diff.TaskGroups[0].Tasks[0].Annotations).toEqual(["forces create/destroy update"]);
    expect((await api(agent(), "GET", "/v1/job/rolled")).json.JobModifyIndex).toBe(stored.JobModifyIndex);

    const done = await api(agent(), "PUT", "/v1/jobs", { ...next, EnforceIndex: true, JobModifyIndex: plan.json.JobModifyIndex });
    expect(done.status).toBe(200);
    const allocs = (await api(agent(), "GET", "/v1/job/rolled/allocations?all=true")).json;
    const created = allocs.filter((a: any) => a.JobVersion === 1);
    const replacing = created.filter((a: any) => a.PreviousAllocation);
    expect(created.length).toBe(u.Place + u.DestructiveUpdate + u.Canary);
    expect(replacing.length).toBe(u.DestructiveUpdate);
  });

  it("reports placement failures with Nomad's reasons", async () => {
    const big = job("too-big", "exec sleep 60", 2, { Resources: { CPU: 50_000_000, MemoryMB: 64 } });
    const r = await api(agent(), "PUT", "/v1/job/too-big/plan", big);
    expect(r.status).toBe(200);
    expect(r.json.Diff).toBeNull(); // not asked for
    expect(r.json.Annotations.DesiredTGUpdates.web.Place).toBe(2);
    expect(r.json.FailedTGAllocs.web).toMatchObject({ NodesExhausted: 1, DimensionExhausted: { cpu: 1 }, CoalescedFailures: 1 });
    expect(r.json.CreatedEvals).toHaveLength(1);
    expect(r.json.CreatedEvals[0]).toMatchObject({ Status: "blocked", TriggeredBy: "queued-allocs", JobID: "too-big" });
    expect((await api(agent(), "GET", "/v1/job/too-big/evaluations")).json).toEqual([]);
  });

  it("refuses what register refuses, with the same texts", async () => {
    const bad = job("bad-plan", "true", 1, { Resources: { CPU: 0 } });
    const reg = await api(agent(), "PUT", "/v1/jobs", bad);
    const plan = await api(agent(), "PUT", "/v1/job/bad-plan/plan", bad);
    expect([plan.status, plan.text]).toEqual([500, reg.text]);
    const mismatch = await api(agent(), "PUT", "/v1/job/other/plan", job("bad-plan", "true", 1));
    expect([mismatch.status, mismatch.text]).toEqual([400, "Job ID does not match"]);
    expect((await api(agent(), "PUT", "/v1/job/x/plan", {})).text).toBe("Job must be specified");
    expect((await api(agent(), "GET", "/v1/job/x/plan")).status).toBe(405);
  });
});
