// PUT /v1/system/gc as Nomad 1.6's forced garbage collection (nomad/core_sched.go forceGC): which jobs, evaluations,
// allocations and deployments go and which stay, what the event stream says about it (only the job-deregister
// evaluation of a removed job; nothing for the job itself, its allocations or deployments), and the answer's shape.
// PUT /v1/system/reconcile/summaries, the other System endpoint, moves the job summaries to a fresh index.

import { describe, expect, it } from "vitest";
import { api, until, useDevAgent, withDevAgent } from "../helpers/dev-agent.js";
import type { DevAgent } from "../../src/devagent/index.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });

interface JobOptions {
  type?: "service" | "batch";
  /** Task Config: with the mock driver override, no run_for means the task runs until stopped. */
  config?: Record<string, unknown>;
  count?: number;
  deployments?: boolean;
  reschedule?: Record<string, unknown>;
}

function job(id: string, o: JobOptions = {}) {
  return {
    Job: {
      ID: id,
      Type: o.type ?? "service",
      TaskGroups: [
        {
          Name: "g",
          Count: o.count ?? 1,
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: o.reschedule ?? { Unlimited: false, Attempts: 0 },
          ...(o.deployments ? { Update: { MaxParallel: 1, MinHealthyTime: 50_000_000, HealthyDeadline: 10_000_000_000, HealthCheck: "task_states" } } : {}),
          Tasks: [{ Name: "t", Driver: "raw_exec", KillTimeout: 100_000_000, Config: { command: "/bin/true", ...o.config } }],
        },
      ],
    },
  };
}

const get = async (path: string) => (await api(agent(), "GET", path)).json;

async function allocsOf(id: string): Promise<any[]> {
  return get(`/v1/job/${id}/allocations?all=true`);
}

async function allocsSettled(id: string, wanted: (allocs: any[]) => boolean): Promise<any[]> {
  return until(async () => {
    const allocs = await allocsOf(id);
    return wanted(allocs) ? allocs : undefined;
  }, `allocations of ${id}`);
}

async function gc(a: DevAgent = agent()) {
  return api(a, "PUT", "/v1/system/gc");
}

/** The index of the last write that touched jobs, allocations, evaluations or deployments: later events are newer. */
async function lastIndex(): Promise<number> {
  const paths = ["/v1/jobs", "/v1/allocations", "/v1/evaluations", "/v1/deployments"];
  const indexes = await Promise.all(paths.map(async (p) => Number((await api(agent(), "GET", p)).headers.get("x-nomad-index"))));
  return Math.max(...indexes);
}

/** Reads the event stream from `index` until `done` holds for the events seen, then closes it. */
async function eventsFrom(index: number, query: string, done: (events: any[]) => boolean): Promise<any[]> {
  const controller = new AbortController();
  const res = await fetch(`${agent().address}/v1/event/stream?index=${index}&${query}`, { signal: controller.signal });
  const events: any[] = [];
  const decoder = new TextDecoder();
  let pending = "";
  const read = (async () => {
    try {
      for await (const chunk of res.body!) {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = JSON.parse(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
          if (line.Events) events.push(...line.Events);
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  await until(async () => done(events), "the awaited events");
  controller.abort();
  await read;
  return events;
}

const jobTopics = (id: string) => ["Job", "Allocation", "Evaluation", "Deployment"].map((t) => `topic=${t}:${id}`).join("&");

describe("forced garbage collection", () => {
  it("removes a stopped job whose allocations are done, with its allocations and evaluations; events only for its deregister evaluation", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-stop", { count: 2 }));
    await allocsSettled("gc-stop", (as) => as.length === 2 && as.every((a) => a.ClientStatus === "running"));
    await api(agent(), "DELETE", "/v1/job/gc-stop");
    const allocs = await allocsSettled("gc-stop", (as) => as.every((a) => a.ClientStatus === "complete"));
    await until(async () => (await get("/v1/job/gc-stop")).Status === "dead", "the stopped job to be dead");
    const evals: any[] = await get("/v1/job/gc-stop/evaluations");
    expect(evals.length).toBeGreaterThanOrEqual(2);
    const before = await lastIndex();

    const r = await gc();
    expect(r.status).toBe(200);
    expect(r.text).toBe("");
    expect(r.headers.get("content-type")).toBeNull();
    expect(r.headers.get("x-nomad-index")).toBeNull();

    const gone = await api(agent(), "GET", "/v1/job/gc-stop");
    expect([gone.status, gone.text]).toEqual([404, "job not found"]);
    expect((await get("/v1/jobs")).map((j: any) => j.ID)).not.toContain("gc-stop");
    for (const a of allocs) {
      expect((await api(agent(), "GET", `/v1/allocation/${a.ID}`)).status).toBe(404);
      // The client forgot it too.
      const stats = await api(agent(), "GET", `/v1/client/allocation/${a.ID}/stats`);
      expect([stats.status, stats.text]).toEqual([404, `Unknown allocation "${a.ID}"`]);
    }
    expect((await get("/v1/allocations")).filter((a: any) => a.JobID === "gc-stop")).toEqual([]);
    for (const ev of evals) expect((await api(agent(), "GET", `/v1/evaluation/${ev.ID}`)).status).toBe(404);
    // Job.BatchDeregister left one evaluation behind: the job-deregister one, processed (nothing to stop).
    const left: any[] = await get("/v1/job/gc-stop/evaluations");
    expect(left.map((e) => [e.TriggeredBy, e.Status, e.Type])).toEqual([["job-deregister", "complete", "service"]]);
    expect(left[0].CreateIndex).toBeGreaterThan(before);

    const events = await eventsFrom(before + 1, jobTopics("gc-stop"), (es) => es.some((e) => e.Type === "EvaluationUpdated"));
    expect(events.map((e) => [e.Topic, e.Type, e.Key, e.Payload.Evaluation?.Status])).toEqual([
      ["Evaluation", "JobBatchDeregistered", left[0].ID, "pending"],
      ["Evaluation", "EvaluationUpdated", left[0].ID, "complete"],
    ]);
    expect(events[0].Payload.Evaluation).toMatchObject({ JobID: "gc-stop", TriggeredBy: "job-deregister", Namespace: "default", Type: "service" });
    expect(events[0].Payload.Evaluation.JobModifyIndex).toBeUndefined();
  });

  it("keeps a running job and its running allocation, takes its replaced allocation and the deployment that placed it", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-run", { deployments: true }));
    await until(async () => (await get("/v1/job/gc-run/deployment"))?.Status === "successful", "the first deployment");
    await api(agent(), "PUT", "/v1/jobs", job("gc-run", { deployments: true, config: { args: ["v1"] } }));
    await until(async () => (await get("/v1/job/gc-run/deployment"))?.JobVersion === 1 && (await get("/v1/job/gc-run/deployment")).Status === "successful", "the second deployment");
    const allocs = await allocsSettled("gc-run", (as) => as.length === 2 && as.some((a) => a.ClientStatus === "complete") && as.some((a) => a.ClientStatus === "running"));
    const old = allocs.find((a) => a.ClientStatus === "complete")!;
    const current = allocs.find((a) => a.ClientStatus === "running")!;
    const deployments: any[] = await get("/v1/job/gc-run/deployments");
    expect(deployments.map((d) => [d.JobVersion, d.Status])).toEqual([[1, "successful"], [0, "successful"]]);

    expect((await gc()).status).toBe(200);

    const kept = await get("/v1/job/gc-run");
    expect([kept.Status, kept.Version]).toEqual(["running", 1]);
    expect((await allocsOf("gc-run")).map((a) => a.ID)).toEqual([current.ID]);
    expect((await api(agent(), "GET", `/v1/allocation/${old.ID}`)).status).toBe(404);
    // Only the evaluation that placed the running allocation stays: every other one is terminal with nothing live.
    expect((await get("/v1/job/gc-run/evaluations")).map((e: any) => e.ID)).toEqual([current.EvalID]);
    // The old deployment goes (its allocation is terminal); the current one stays because its allocation runs.
    expect((await get("/v1/job/gc-run/deployments")).map((d: any) => d.ID)).toEqual([deployments[0].ID]);
    expect((await api(agent(), "GET", `/v1/deployment/${deployments[1].ID}`)).status).toBe(404);
  });

  it("counts an allocation updated in place under the evaluation that updated it, so the one that placed it goes", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-inplace"));
    const [placed] = await allocsSettled("gc-inplace", (as) => as.length === 1 && as[0].ClientStatus === "running");
    // A reschedule policy change is an in-place update: same allocation, new job version.
    const update = await api(agent(), "PUT", "/v1/jobs", job("gc-inplace", { reschedule: { Unlimited: false, Attempts: 1, Interval: 60_000_000_000 } }));
    const [updated] = await allocsSettled("gc-inplace", (as) => as.length === 1 && as[0].JobVersion === 1);
    expect(updated.ID).toBe(placed.ID);
    expect(updated.EvalID).toBe(update.json.EvalID);

    expect((await gc()).status).toBe(200);

    expect((await get("/v1/job/gc-inplace/evaluations")).map((e: any) => e.ID)).toEqual([update.json.EvalID]);
    expect((await allocsOf("gc-inplace")).map((a) => a.ID)).toEqual([placed.ID]);
  });

  it("takes a job's latest deployment too once no live allocation refers to it, but keeps a dead service job that was not stopped", async () => {
    // Continues with gc-run: scaled to 0, it is dead but not stopped, so jobGC leaves it.
    await api(agent(), "POST", "/v1/job/gc-run/scale", { Count: 0, Target: { Group: "g" } });
    await allocsSettled("gc-run", (as) => as.every((a) => a.ClientStatus === "complete"));
    await until(async () => (await get("/v1/job/gc-run")).Status === "dead", "gc-run dead");
    const latest = await get("/v1/job/gc-run/deployment");
    expect(latest.Status).toBe("successful");

    expect((await gc()).status).toBe(200);

    expect((await get("/v1/job/gc-run")).Status).toBe("dead");
    expect(await allocsOf("gc-run")).toEqual([]);
    expect(await get("/v1/job/gc-run/evaluations")).toEqual([]);
    expect(await get("/v1/job/gc-run/deployments")).toEqual([]);
    expect((await api(agent(), "GET", `/v1/deployment/${latest.ID}`)).status).toBe(404);
  });

  it("removes a finished batch job without a stop, and the ID can be registered again from scratch", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-batch", { type: "batch", config: { run_for: "10ms" } }));
    await allocsSettled("gc-batch", (as) => as.length === 1 && as[0].ClientStatus === "complete");
    await until(async () => (await get("/v1/job/gc-batch")).Status === "dead", "the batch job to be dead");
    const first = await get("/v1/job/gc-batch");

    expect((await gc()).status).toBe(200);
    expect((await api(agent(), "GET", "/v1/job/gc-batch")).status).toBe(404);
    expect((await get("/v1/job/gc-batch/evaluations")).map((e: any) => [e.TriggeredBy, e.Type])).toEqual([["job-deregister", "batch"]]);

    await api(agent(), "PUT", "/v1/jobs", job("gc-batch", { type: "batch", config: { run_for: "10ms" } }));
    const again = await get("/v1/job/gc-batch");
    expect(again.Version).toBe(0);
    expect(again.CreateIndex).toBeGreaterThan(first.CreateIndex);
    await allocsSettled("gc-batch", (as) => as.length === 1 && as[0].ClientStatus === "complete");
  });

  it("takes a running batch job's allocations of older versions only", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-batch-run", { type: "batch" }));
    await allocsSettled("gc-batch-run", (as) => as.length === 1 && as[0].ClientStatus === "running");
    await api(agent(), "PUT", "/v1/jobs", job("gc-batch-run", { type: "batch", config: { args: ["v1"] } }));
    const allocs = await allocsSettled("gc-batch-run", (as) => as.length === 2 && as.some((a) => a.ClientStatus === "complete") && as.some((a) => a.ClientStatus === "running"));
    const current = allocs.find((a) => a.ClientStatus === "running")!;

    expect((await gc()).status).toBe(200);

    expect((await get("/v1/job/gc-batch-run")).Status).toBe("running");
    expect((await allocsOf("gc-batch-run")).map((a) => a.ID)).toEqual([current.ID]);
    expect((await get("/v1/job/gc-batch-run/evaluations")).map((e: any) => e.ID)).toEqual([current.EvalID]);
  });

  it("keeps a failed allocation that waits to be rescheduled, and its batch job", async () => {
    const reschedule = { Attempts: 1, Interval: 3_600_000_000_000, Delay: 3_600_000_000_000, DelayFunction: "constant", Unlimited: false };
    await api(agent(), "PUT", "/v1/jobs", job("gc-resched", { type: "batch", config: { run_for: "10ms", exit_code: 1 }, reschedule }));
    const [failed] = await allocsSettled("gc-resched", (as) => as.length === 1 && as[0].ClientStatus === "failed");

    expect((await gc()).status).toBe(200);

    expect((await api(agent(), "GET", "/v1/job/gc-resched")).status).toBe(200);
    expect((await allocsOf("gc-resched")).map((a) => a.ID)).toEqual([failed.ID]);
    expect((await get("/v1/job/gc-resched/evaluations")).map((e: any) => e.ID)).toContain(failed.EvalID);
  });

  it("wakes blocking list queries and answers only PUT", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("gc-wake", { type: "batch", config: { run_for: "10ms" } }));
    await allocsSettled("gc-wake", (as) => as.length === 1 && as[0].ClientStatus === "complete");
    await until(async () => (await get("/v1/job/gc-wake")).Status === "dead", "gc-wake dead");
    const list = await api(agent(), "GET", "/v1/allocations");
    const index = Number(list.headers.get("x-nomad-index"));
    const blocked = api(agent(), "GET", `/v1/allocations?index=${index}&wait=30s`);
    expect((await gc()).status).toBe(200);
    const woke = await blocked;
    expect(Number(woke.headers.get("x-nomad-index"))).toBeGreaterThan(index);
    expect(woke.json.filter((a: any) => a.JobID === "gc-wake")).toEqual([]);

    for (const method of ["GET", "POST", "DELETE"]) {
      const r = await api(agent(), method, "/v1/system/gc");
      expect([r.status, r.text]).toEqual([405, "Invalid method"]);
    }
    const badWait = await api(agent(), "PUT", "/v1/system/gc?wait=soon");
    expect([badWait.status, badWait.text]).toEqual([400, "Invalid wait time"]);
  });
});

describe("reconcile job summaries", () => {
  it("rebuilds every summary at a fresh index, answering like GC", async () => {
    await api(agent(), "PUT", "/v1/jobs", job("sum-run"));
    await allocsSettled("sum-run", (as) => as.length === 1 && as[0].ClientStatus === "running");
    const before = await api(agent(), "GET", "/v1/job/sum-run/summary");
    const index = Number(before.headers.get("x-nomad-index"));
    const blocked = api(agent(), "GET", `/v1/job/sum-run/summary?index=${index}&wait=30s`);

    const r = await api(agent(), "PUT", "/v1/system/reconcile/summaries");
    expect([r.status, r.text, r.headers.get("content-type"), r.headers.get("x-nomad-index")]).toEqual([200, "", null, null]);

    const after = await blocked;
    const moved = Number(after.headers.get("x-nomad-index"));
    expect(moved).toBeGreaterThan(index);
    expect(after.json.ModifyIndex).toBe(moved);
    expect(after.json.Summary).toEqual(before.json.Summary);
  });
});

describe("system endpoints with ACLs", () => {
  it("want the management token", () =>
    withDevAgent(
      async (a) => {
        for (const path of ["/v1/system/gc", "/v1/system/reconcile/summaries"]) {
          const anonymous = await fetch(`${a.address}${path}`, { method: "PUT" });
          expect([anonymous.status, await anonymous.text()]).toEqual([403, "Permission denied"]);
          const read = await api(a, "PUT", path, undefined, { "X-Nomad-Token": a.tokens!.read! });
          expect([read.status, read.text]).toEqual([403, "Permission denied"]);
          expect((await api(a, "PUT", path)).status).toBe(200);
        }
      },
      { acl: true, driverOverride: "mock_driver" },
    ));
});
