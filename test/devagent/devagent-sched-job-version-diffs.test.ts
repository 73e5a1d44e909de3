// GET /v1/job/:id/versions?diffs=true answers Nomad's JobDiff per pair of consecutive versions (newest first), with
// the shapes of nomad/structs/diff.go: changed job, group and task fields with Old/New as Go prints them, changed
// blocks as objects listing all their fields (unchanged ones "None"), untouched tasks "None". Without ?diffs the
// answer keeps Diffs: null like the recorded fixture.

import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { api, shJob, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent();
const fixture = JSON.parse(readFileSync(new URL("../fixtures/nomad/GET_v1_job_ID_versions.response.json", import.meta.url), "utf8"));

const jobDiffKeys = ["Fields", "ID", "Objects", "TaskGroups", "Type"];
const groupDiffKeys = ["Fields", "Name", "Objects", "Tasks", "Type", "Updates"];
const taskDiffKeys = ["Annotations", "Fields", "Name", "Objects", "Type"];
const objectDiffKeys = ["Fields", "Name", "Objects", "Type"];
const fieldDiffKeys = ["Annotations", "Name", "New", "Old", "Type"];

function version(script: string, opts: { count: number; maxParallel: number; memory: number; meta?: Record<string, string>; env?: Record<string, string> }) {
  const body = shJob("diffs", script, { count: opts.count, update: { MaxParallel: opts.maxParallel } });
  const group = body.Job.TaskGroups[0]!;
  const task = group.Tasks[0]! as Record<string, unknown>;
  task.Resources = { CPU: 50, MemoryMB: opts.memory };
  if (opts.env) task.Env = opts.env;
  (group.Tasks as unknown[]).push({ Name: "side", Driver: "raw_exec", Config: { command: "/bin/sh", args: ["-c", "exec sleep 600"] }, Resources: { CPU: 50, MemoryMB: 32 } });
  return { Job: { ...body.Job, ...(opts.meta ? { Meta: opts.meta } : {}) } };
}

function checkShapes(diff: any) {
  expect(Object.keys(diff).sort()).toEqual(jobDiffKeys);
  const objects = (list: any[] | null) => {
    for (const o of list ?? []) {
      expect(Object.keys(o).sort()).toEqual(objectDiffKeys);
      for (const f of o.Fields ?? []) expect(Object.keys(f).sort()).toEqual(fieldDiffKeys);
      objects(o.Objects);
    }
  };
  for (const f of diff.Fields ?? []) expect(Object.keys(f).sort()).toEqual(fieldDiffKeys);
  objects(diff.Objects);
  for (const g of diff.TaskGroups) {
    expect(Object.keys(g).sort()).toEqual(groupDiffKeys);
    objects(g.Objects);
    for (const t of g.Tasks) {
      expect(Object.keys(t).sort()).toEqual(taskDiffKeys);
      objects(t.Objects);
    }
  }
}

it("lists a JobDiff per version pair with the changed fields and blocks", async () => {
  expect((await api(agent(), "POST", "/v1/jobs", version("exec sleep 600", { count: 1, maxParallel: 1, memory: 64 }))).status).toBe(200);
  const changed = version("exec sleep 601", { count: 2, maxParallel: 2, memory: 96, meta: { owner: "team-a" }, env: { MODE: "fast" } });
  expect((await api(agent(), "POST", "/v1/jobs", changed)).status).toBe(200);

  const plain = await api(agent(), "GET", "/v1/job/diffs/versions");
  expect(plain.json.Diffs).toBeNull();
  expect(fixture.Diffs).toBeNull();

  const res = await api(agent(), "GET", "/v1/job/diffs/versions?diffs=true");
  expect(res.status).toBe(200);
  expect(Object.keys(res.json).sort()).toEqual([...Object.keys(fixture), "NextToken"].sort());
  expect(res.json.Versions.map((v: any) => v.Version)).toEqual([1, 0]);
  expect(res.json.Diffs).toHaveLength(1);
  const diff = res.json.Diffs[0];
  checkShapes(diff);
  expect(diff).toMatchObject({ Type: "Edited", ID: "diffs" });
  expect(diff.Fields).toEqual([{ Type: "Added", Name: "Meta[owner]", Old: "", New: "team-a", Annotations: null }]);

  const [group] = diff.TaskGroups;
  expect(group).toMatchObject({ Type: "Edited", Name: "web", Updates: null });
  expect(group.Fields).toEqual([{ Type: "Edited", Name: "Count", Old: "1", New: "2", Annotations: null }]);
  const update = group.Objects.find((o: any) => o.Name === "Update");
  expect(update.Type).toBe("Edited");
  expect(update.Fields).toContainEqual({ Type: "Edited", Name: "MaxParallel", Old: "1", New: "2", Annotations: null });
  expect(update.Fields).toContainEqual({ Type: "None", Name: "HealthCheck", Old: "task_states", New: "task_states", Annotations: null });
  expect(update.Fields.map((f: any) => f.Name)).not.toContain("Stagger");

  const [main, side] = group.Tasks;
  expect([main.Name, main.Type, side.Name, side.Type]).toEqual(["main", "Edited", "side", "None"]);
  expect(side).toEqual({ Type: "None", Name: "side", Fields: null, Objects: null, Annotations: null });
  expect(main.Fields).toEqual([{ Type: "Added", Name: "Env[MODE]", Old: "", New: "fast", Annotations: null }]);
  const config = main.Objects.find((o: any) => o.Name === "Config");
  expect(config.Type).toBe("Edited");
  expect(config.Fields).toContainEqual({ Type: "Edited", Name: "args[1]", Old: "exec sleep 600", New: "exec sleep 601", Annotations: null });
  expect(config.Fields).toContainEqual({ Type: "None", Name: "command", Old: "/bin/sh", New: "/bin/sh", Annotations: null });
  const resources = main.Objects.find((o: any) => o.Name === "Resources");
  expect(resources.Fields).toContainEqual({ Type: "Edited", Name: "MemoryMB", Old: "64", New: "96", Annotations: null });
  expect(resources.Fields).toContainEqual({ Type: "None", Name: "CPU", Old: "50", New: "50", Annotations: null });
});

it("orders the diffs like the versions, newest pair first", async () => {
  const third = version("exec sleep 601", { count: 2, maxParallel: 2, memory: 128, meta: { owner: "team-a" }, env: { MODE: "fast" } });
  expect((await api(agent(), "POST", "/v1/jobs", third)).status).toBe(200);
  const res = await api(agent(), "GET", "/v1/job/diffs/versions?diffs=true");
  expect(res.json.Versions.map((v: any) => v.Version)).toEqual([2, 1, 0]);
  expect(res.json.Diffs).toHaveLength(2);
  const memory = (d: any) => d.TaskGroups[0].Tasks[0].Objects.find((o: any) => o.Name === "Resources").Fields.find((f: any) => f.Name === "MemoryMB");
  expect([memory(res.json.Diffs[0]).Old, memory(res.json.Diffs[0]).New]).toEqual(["96", "128"]);
  expect([memory(res.json.Diffs[1]).Old, memory(res.json.Diffs[1]).New]).toEqual(["64", "96"]);
  // Only the memory changed between 1 and 2: the group's Count and Update are not reported.
  expect(res.json.Diffs[0].TaskGroups[0].Fields).toBeNull();
  expect(res.json.Diffs[0].Fields).toBeNull();
});
