// Reverting registers an old version's spec as a new version; scaling changes the group count (and the version)
// and is refused while a deployment is active.
import { expect, it } from "vitest";
import { api, shJob, until, withDevAgent } from "../helpers/dev-agent.js";

const stable = (agent: any, id: string, version: number) =>
  until(async () => {
    const j = (await api(agent, "GET", `/v1/job/${id}`)).json;
    return j.Version === version && j.Stable ? j : undefined;
  }, `version ${version} stable`);

it("reverts to an earlier version, which becomes a new version with the old spec", () =>
  withDevAgent(async (agent) => {
    await api(agent, "POST", "/v1/jobs", shJob("rev", "echo old; sleep 60"));
    await stable(agent, "rev", 0);
    await api(agent, "POST", "/v1/jobs", shJob("rev", "echo new; sleep 60"));
    await stable(agent, "rev", 1);

    const wrongPrior = await api(agent, "POST", "/v1/job/rev/revert", { JobID: "rev", JobVersion: 0, EnforcePriorVersion: 0 });
    expect([wrongPrior.status, wrongPrior.text]).toEqual([500, "Current job has version 1; enforcing version 0"]);
    const same = await api(agent, "POST", "/v1/job/rev/revert", { JobID: "rev", JobVersion: 1 });
    expect([same.status, same.text]).toEqual([500, "can't revert to current version"]);

    const r = await api(agent, "POST", "/v1/job/rev/revert", { JobID: "rev", JobVersion: 0, EnforcePriorVersion: 1 });
    expect(r.status).toBe(200);
    expect(r.json.EvalID).toMatch(/^[0-9a-f-]{36}$/);
    const job = await stable(agent, "rev", 2);
    expect(job.TaskGroups[0].Tasks[0].Config.args[1]).toBe("echo old; sleep 60");
    const versions = (await api(agent, "GET", "/v1/job/rev/versions")).json.Versions;
    expect(versions.map((v: any) => v.Version)).toEqual([2, 1, 0]);
    await until(async () => {
      const live = (await api(agent, "GET", "/v1/job/rev/allocations")).json.filter((a: any) => a.DesiredStatus === "run");
      return live.length === 1 && live[0].JobVersion === 2 && live[0].ClientStatus === "running";
    }, "the allocation to run version 2");
  }));

it("scales a group up and down, refusing while a deployment is active", () =>
  withDevAgent(async (agent) => {
    await api(agent, "POST", "/v1/jobs", shJob("sc", "sleep 60", { update: { MinHealthyTime: 2_000_000_000 } }));
    const blocked = await api(agent, "POST", "/v1/job/sc/scale", { Count: 2, Target: { Group: "web" } });
    expect([blocked.status, blocked.text]).toEqual([400, "job scaling blocked due to active deployment"]);
    await stable(agent, "sc", 0);
    const badGroup = await api(agent, "POST", "/v1/job/sc/scale", { Count: 2, Target: { Group: "nope" } });
    expect([badGroup.status, badGroup.text]).toEqual([400, 'task group "nope" specified for scaling does not exist in job']);

    const up = await api(agent, "POST", "/v1/job/sc/scale", { Count: 3, Target: { Group: "web" }, Message: "more" });
    expect(up.status).toBe(200);
    expect(up.json.EvalID).not.toBe("");
    await until(async () => {
      const s = (await api(agent, "GET", "/v1/job/sc/scale")).json;
      return s.TaskGroups.web.Desired === 3 && s.TaskGroups.web.Running === 3 ? s : undefined;
    }, "three running allocations");
    const status = (await api(agent, "GET", "/v1/job/sc/scale")).json;
    expect(status.TaskGroups.web.Events[0]).toMatchObject({ Count: 3, PreviousCount: 1, Message: "more" });
    await stable(agent, "sc", 1);

    await api(agent, "POST", "/v1/job/sc/scale", { Count: 1, Target: { Group: "web" } });
    await until(async () => {
      const live = (await api(agent, "GET", "/v1/job/sc/allocations")).json.filter((a: any) => a.DesiredStatus === "run");
      return live.length === 1 && live[0].Name === "sc.web[0]";
    }, "the group to shrink to index 0");
  }));
