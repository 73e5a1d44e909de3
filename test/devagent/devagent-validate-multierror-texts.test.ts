// Nomad links go-multierror 1.1: its refusals and warnings read "1 error occurred:\n\t* ...\n\n" and
// "2 errors occurred:\n\t* a\n\t* b\n\n", nested texts keep their own "\n\n", and warnings are merged by
// helper.MergeMultierrorWarnings ("1 warning:\n\n* ..."). Clients and operators parse and read these texts.
import { describe, expect, it } from "vitest";
import { api, shJob, useDevAgent } from "../helpers/dev-agent.js";

describe("dev agent validation texts in go-multierror 1.1 format", () => {
  const agent = useDevAgent();

  it("lists two errors of one group as '2 errors occurred' with tab-indented bullets", async () => {
    const bad = shJob("two-errs", "true");
    const g = bad.Job.TaskGroups[0] as any;
    g.Count = -1;
    g.RestartPolicy = { Attempts: 0, Mode: "sometimes" };
    const reg = await api(agent(), "POST", "/v1/jobs", bad);
    expect(reg.status).toBe(500);
    const group = "2 errors occurred:\n\t* Task group count can't be negative\n\t* Unsupported restart mode: \"sometimes\"\n\n";
    expect(reg.text).toBe(`1 error occurred:\n\t* Task group web validation failed: ${group}\n\n`);

    const val = await api(agent(), "POST", "/v1/validate/job", bad);
    expect(val.status).toBe(200);
    expect(val.json.ValidationErrors).toEqual([`Task group web validation failed: ${group}`]);
    expect(val.json.Error).toBe(reg.text);
    expect((await api(agent(), "GET", "/v1/job/two-errs")).status).toBe(404);
  });

  it("lists two top-level errors as one flat list, the way Nomad's validators append them", async () => {
    const bad = shJob("flat", "true") as any;
    bad.Job.Datacenters = [""];
    bad.Job.Priority = 101;
    const val = await api(agent(), "POST", "/v1/validate/job", bad);
    expect(val.json.ValidationErrors).toEqual(["Job datacenter must be non-empty string", "Job priority must be between [1, 100]"]);
    expect(val.json.Error).toBe("2 errors occurred:\n\t* Job datacenter must be non-empty string\n\t* Job priority must be between [1, 100]\n\n");
  });

  it("merges warnings as '1 warning:' with each warning's multierror text trimmed, on validate and on register", async () => {
    const job = shJob("warned", "sleep 30", { count: 2, update: { MaxParallel: 5 } });
    const warning =
      '1 warning:\n\n* Group "web" has warnings: 1 error occurred:\n\t* Update max parallel count is greater than task group count (5 > 2). ' +
      "A destructive change would result in the simultaneous replacement of all allocations.";
    const val = await api(agent(), "POST", "/v1/validate/job", job);
    expect(val.json).toMatchObject({ Error: "", ValidationErrors: [], Warnings: warning });
    const reg = await api(agent(), "POST", "/v1/jobs", job);
    expect(reg.status).toBe(200);
    expect(reg.json.Warnings).toBe(warning);
    await api(agent(), "DELETE", "/v1/job/warned?purge=true");
  });

  it("warns of max parallel only for a group of more than one allocation, as Nomad does", async () => {
    const val = await api(agent(), "POST", "/v1/validate/job", shJob("single", "true", { count: 1, update: { MaxParallel: 5 } }));
    expect(val.json.Warnings).toBe("");
  });
});
