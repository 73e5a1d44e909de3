// PUT /v1/system/gc: Nomad's forced garbage collection (nomad/core_sched.go forceGC: jobGC, evalGC, deploymentGC with
// every threshold at now). A stopped job whose allocations ended goes with its evaluations and allocations, and its
// removal is published as Nomad 1.6 publishes it (a JobBatchDeregistered event carrying the job as it was, no
// Deleted flag); a running job keeps its running allocation and loses the ended ones of older versions, with no event.

import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });

type Row = Record<string, any>;
const allocs = async (jobId: string) => (await api(agent(), "GET", `/v1/job/${jobId}/allocations`)).json as Row[];
const evals = async (jobId: string) => (await api(agent(), "GET", `/v1/job/${jobId}/evaluations`)).json as Row[];

/** The Job events published after `index` (read back from the event buffer). */
async function jobEventsAfter(index: number, jobId: string): Promise<Row[]> {
  const controller = new AbortController();
  const res = await fetch(`${agent().address}/v1/event/stream?index=${index + 1}&topic=Job:${jobId}`, { signal: controller.signal });
  const events: Row[] = [];
  let pending = "";
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      pending += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = JSON.parse(pending.slice(0, nl) || "{}") as Row;
        pending = pending.slice(nl + 1);
        if (line.Index === undefined) continue;
        if (line.Index > index) events.push(...line.Events);
        if (events.some((e) => e.Type === "JobBatchDeregistered")) return events;
      }
    }
  } finally {
    controller.abort();
  }
  return events;
}

describe("dev agent forced garbage collection", () => {
  it("removes a stopped job with its evaluations and allocations, publishing the job as it was", async () => {
    await api(agent(), "POST", "/v1/jobs", shJob("gc-stopped", "sleep 600"));
    await until(async () => (await allocs("gc-stopped")).some((a) => a.ClientStatus === "running"), "the job running");
    await api(agent(), "DELETE", "/v1/job/gc-stopped");
    await until(async () => (await api(agent(), "GET", "/v1/job/gc-stopped")).json.Status === "dead", "the stopped job dead");
    const stopped = (await api(agent(), "GET", "/v1/job/gc-stopped")).json as Row;
    const allocIds = (await allocs("gc-stopped")).map((a) => a.ID);
    const evalIds = (await evals("gc-stopped")).map((e) => e.ID);
    expect(allocIds.length).toBeGreaterThan(0);
    const before = Number((await api(agent(), "GET", "/v1/jobs")).headers.get("x-nomad-index"));

    const gc = await api(agent(), "PUT", "/v1/system/gc");
    expect(gc.status).toBe(200);
    expect((await api(agent(), "GET", "/v1/job/gc-stopped")).status).toBe(404);
    for (const id of allocIds) expect((await api(agent(), "GET", `/v1/allocation/${id}`)).status).toBe(404);
    for (const id of evalIds) expect((await api(agent(), "GET", `/v1/evaluation/${id}`)).status).toBe(404);

    const [removal] = (await jobEventsAfter(before, "gc-stopped")).filter((e) => e.Type === "JobBatchDeregistered");
    expect(removal).toMatchObject({ Topic: "Job", Key: "gc-stopped" });
    expect(removal!.Payload).toEqual({ Job: expect.objectContaining({ ID: "gc-stopped", Stop: true, ModifyIndex: stopped.ModifyIndex }) });
    expect(removal!.Index).toBeGreaterThan(stopped.ModifyIndex);
  });

  it("keeps a running job and its running allocation, and collects the ended allocations of older versions", async () => {
    await api(agent(), "POST", "/v1/jobs", shJob("gc-running", "sleep 600"));
    await until(async () => (await allocs("gc-running")).some((a) => a.ClientStatus === "running"), "v0 running");
    await api(agent(), "POST", "/v1/jobs", shJob("gc-running", "sleep 601"));
    await until(async () => {
      const list = await allocs("gc-running");
      return list.some((a) => a.JobVersion === 1 && a.ClientStatus === "running") && list.some((a) => a.JobVersion === 0 && a.ClientStatus === "complete");
    }, "v1 running and v0 ended");

    expect((await api(agent(), "PUT", "/v1/system/gc")).status).toBe(200);
    expect((await api(agent(), "GET", "/v1/job/gc-running")).status).toBe(200);
    const left = await allocs("gc-running");
    expect(left.map((a) => [a.JobVersion, a.ClientStatus])).toEqual([[1, "running"]]);
  });

  it("answers 405 to anything but PUT", async () => {
    expect((await api(agent(), "GET", "/v1/system/gc")).status).toBe(405);
  });
});
