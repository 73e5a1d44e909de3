// Placement on the dev agent's one node is decided like Nomad decides it: datacenters (with globs), devices, host
// volumes, then CPU/memory capacity. What cannot be placed shows as Nomad shows it: FailedTGAllocs on the evaluation,
// a blocked evaluation, Queued in the job summary, job status pending — and is placed once capacity frees up.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";

const volumeDir = mkdtempSync(join(tmpdir(), "hostvol-"));
afterAll(() => rmSync(volumeDir, { recursive: true, force: true }));
const agent = useDevAgent({ nodeResources: { cpuMhz: 4000, memoryMb: 1000 }, hostVolumes: { data: volumeDir }, datacenter: "dc1" });

function job(id: string, opts: { memoryMb?: number; devices?: unknown[]; datacenters?: string[]; volume?: string } = {}) {
  return {
    Job: {
      ID: id,
      ...(opts.datacenters ? { Datacenters: opts.datacenters } : {}),
      TaskGroups: [
        {
          Name: "web",
          ...(opts.volume ? { Volumes: { v: { Name: "v", Type: "host", Source: opts.volume } } } : {}),
          Tasks: [
            {
              Name: "main",
              Driver: "raw_exec",
              KillTimeout: 500_000_000,
              Config: { command: "/bin/sh", args: ["-c", "exec sleep 600"] },
              Resources: { CPU: 100, MemoryMB: opts.memoryMb ?? 100, ...(opts.devices ? { Devices: opts.devices } : {}) },
            },
          ],
        },
      ],
    },
  };
}

async function register(id: string, opts: Parameters<typeof job>[1] = {}) {
  const res = await api(agent(), "POST", "/v1/jobs", job(id, opts));
  expect(res.status).toBe(200);
  return (await api(agent(), "GET", `/v1/evaluation/${res.json.EvalID}`)).json;
}

const allocCount = async (id: string) => ((await api(agent(), "GET", `/v1/job/${id}/allocations`)).json as unknown[]).length;

describe("placement on the dev agent's node", () => {
  it("does not place a job that asks for a GPU: missing devices, a blocked evaluation, Queued 1, status pending", async () => {
    const ev = await register("gpu", { devices: [{ Name: "nvidia/gpu", Count: 1 }] });
    expect(ev.Status).toBe("complete");
    expect(ev.FailedTGAllocs.web).toMatchObject({ NodesEvaluated: 1, NodesFiltered: 1, ConstraintFiltered: { "missing devices": 1 } });
    expect(ev.QueuedAllocations).toEqual({ web: 1 });
    const blocked = (await api(agent(), "GET", `/v1/evaluation/${ev.BlockedEval}`)).json;
    expect(blocked).toMatchObject({ Status: "blocked", TriggeredBy: "queued-allocs", PreviousEval: ev.ID, StatusDescription: "created to place remaining allocations" });
    expect(await allocCount("gpu")).toBe(0);
    const summary = (await api(agent(), "GET", "/v1/job/gpu/summary")).json;
    expect(summary.Summary.web.Queued).toBe(1);
    expect((await api(agent(), "GET", "/v1/job/gpu")).json.Status).toBe("pending");
  });

  it("filters by datacenter, with globs", async () => {
    const elsewhere = await register("dc2", { datacenters: ["dc2"] });
    expect(elsewhere.FailedTGAllocs.web).toMatchObject({ NodesEvaluated: 0, NodesAvailable: {} });
    expect(await allocCount("dc2")).toBe(0);
    const glob = await register("dcglob", { datacenters: ["d*"] });
    expect(glob.FailedTGAllocs).toBeUndefined();
    expect(await allocCount("dcglob")).toBe(1);
  });

  it("places only where the host volume exists", async () => {
    expect((await register("vol-ok", { volume: "data" })).FailedTGAllocs).toBeUndefined();
    const missing = await register("vol-missing", { volume: "nope" });
    expect(missing.FailedTGAllocs.web.ConstraintFiltered).toEqual({ "missing compatible host volumes": 1 });
  });

  it("runs out of memory, blocks, and places the queued allocation once another job stops", async () => {
    expect((await register("big", { memoryMb: 700 })).FailedTGAllocs).toBeUndefined();
    const ev = await register("waiting", { memoryMb: 300 });
    expect(ev.FailedTGAllocs.web).toMatchObject({ NodesExhausted: 1, DimensionExhausted: { memory: 1 } });
    expect(await allocCount("waiting")).toBe(0);
    await api(agent(), "DELETE", "/v1/job/big");
    await until(async () => (await allocCount("waiting")) === 1, "the queued allocation placed");
    const blocked = (await api(agent(), "GET", `/v1/evaluation/${ev.BlockedEval}`)).json;
    expect(blocked.Status).toBe("complete");
    expect((await api(agent(), "GET", "/v1/job/waiting/summary")).json.Summary.web.Queued).toBe(0);
  });
});
