// The dev agent's list endpoints take Nomad's `filter` query parameter (a go-bexpr expression) and answer as Nomad
// 1.6 answers: only the objects the expression selects, judged on the stored object (not the stub the list shows),
// the table's X-Nomad-Index either way, and a 400 in plain text with go-bexpr's own message for a filter it cannot
// parse or evaluate. /v1/evaluations also takes Nomad's older exact-match `status` and `job` parameters, but not
// together with `filter`.

import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });

const get = (path: string, filter?: string) => api(agent(), "GET", filter === undefined ? path : `${path}${path.includes("?") ? "&" : "?"}filter=${encodeURIComponent(filter)}`);
const ids = (answer: { json: { ID?: string; JobID?: string }[] }, field: "ID" | "JobID" = "ID") => answer.json.map((o) => o[field]).sort();

async function register(id: string, count: number, meta?: Record<string, string>): Promise<void> {
  const job = shJob(id, "exec sleep 600", { count });
  if (meta) Object.assign(job.Job, { Meta: meta });
  expect((await api(agent(), "POST", "/v1/jobs", job)).status).toBe(200);
}

/**
 * Filters go-bexpr v0.1.12 (Nomad 1.6's) refuses, with its messages as that library prints them (obtained by running
 * go-bexpr's CreateEvaluator on each). `is nil` and `any ... as` came with later go-bexpr versions.
 */
const refused: [string, string][] = [
  ["ID == ", "1:7 (6): no match found, expected: \"-\", \"0\", \"\\\"\", \"`\", [ \\t\\r\\n], [1-9] or [a-zA-Z]"],
  ["ID = \"x\"", "1:4 (3): no match found, expected: \"!=\", \"==\", \"contains\", \"in\", \"is\", \"matches\", \"not\" or [ \\t\\r\\n]"],
  ["ID == \"x\" and", "1:14 (13): no match found, expected: [ \\t\\r\\n]"],
  ["ID == \"x\" or or", "1:16 (15): no match found, expected: \"!=\", \".\", \"==\", \"[\", [ \\t\\r\\n] or [a-zA-Z0-9_/]"],
  ["not", "1:4 (3): no match found, expected: \"!=\", \".\", \"==\", \"[\", [ \\t\\r\\n] or [a-zA-Z0-9_/]"],
  ["(ID == \"x\") )", "1:13 (12): no match found, expected: \"and\", \"or\", [ \\t\\r\\n] or EOF"],
  ["ID is nil", "1:7 (6): no match found, expected: \"empty\", \"not\" or [ \\t\\r\\n]"],
  ["any Datacenters as d { d == \"x\" }", "1:5 (4): no match found, expected: \"!=\", \"==\", \"contains\", \"in\", \"is\", \"matches\", \"not\" or [ \\t\\r\\n]"],
  ["Meta[3] == \"x\"", "1:6 (5): rule \"index\": Invalid index"],
  ["Meta[\"a\" == \"x\"", "1:10 (9): rule \"index\": Unclosed index expression"],
  ["\"x\" in 3", "1:8 (7): rule \"match\": Invalid selector"],
  ["ID == 3x", "1:8 (7): rule \"number\": Invalid number literal"],
  ["ID == \"abc", "1:11 (10): rule \"string\": Unterminated string literal"],
  ["ID == `abc", "1:11 (10): rule \"string\": Unterminated string literal"],
  ["ID ==\n\"\u00e9\" and", "2:8 (14): no match found, expected: [ \\t\\r\\n]"],
  ["ID matches \"\\.\"", "1:12 (11): rule \"string\": invalid syntax"],
  ["ID == \"\\'\"", "1:7 (6): rule \"string\": invalid syntax"],
  ["Job.ID == 'x'", "1:11 (10): no match found, expected: \"-\", \"0\", \"\\\"\", \"`\", [ \\t\\r\\n], [1-9] or [a-zA-Z]"],
];

/** Four allocations running and every deployment finished: nothing changes between the reads compared below. */
async function settled(): Promise<boolean> {
  const running = ((await get("/v1/allocations")).json as { ClientStatus: string }[]).filter((a) => a.ClientStatus === "running").length;
  const deployments = (await get("/v1/deployments")).json as { Status: string }[];
  const evals = (await get("/v1/evaluations")).json as { Status: string }[];
  return running === 4 && deployments.length === 3 && deployments.every((d) => d.Status === "successful") && evals.every((e) => e.Status === "complete");
}

describe("filter on the dev agent's list endpoints", () => {
  it("answers a filter it cannot parse with Nomad's 400 and go-bexpr's message, before any object exists", async () => {
    const unparsable = await get("/v1/jobs", 'Status = "running"');
    expect(unparsable.status).toBe(400);
    expect(unparsable.headers.get("content-type")).toBe("text/plain; charset=utf-8");
    expect(unparsable.text).toBe(
      'failed to create result paginator: failed to read filter expression: 1:8 (7): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]',
    );
    expect((await get("/v1/allocations", '(JobID == "cp-a"')).text).toBe(
      'failed to create result paginator: failed to read filter expression: 1:17 (16): rule "grouping": Unmatched parentheses',
    );
    expect((await get("/v1/deployments", "JobID == cp-a")).text).toBe(
      'failed to create result paginator: failed to read filter expression: 1:12 (11): no match found, expected: ".", "[", [ \\t\\r\\n], [a-zA-Z0-9_/] or EOF',
    );
    // Go's string literals: "\d" is no escape sequence; a regular expression needs "\\d" or backticks.
    expect((await get("/v1/evaluations", 'JobID matches "^cp\\d"')).text).toBe(
      'failed to create result paginator: failed to read filter expression: 1:15 (14): rule "string": invalid syntax',
    );
  });

  it.each(refused)("refuses %j as Nomad 1.6 does", async (filter, message) => {
    const answer = await get("/v1/jobs", filter);
    expect({ status: answer.status, text: answer.text }).toEqual({ status: 400, text: `failed to create result paginator: failed to read filter expression: ${message}` });
  });

  it("selects jobs, allocations, deployments and evaluations by their fields", async () => {
    await register("cp-a", 2);
    await register("cp-b", 1, { team: "blue" });
    await register("web", 1, { team: "red" });
    await until(settled, "four running allocations and three successful deployments");

    const allJobs = await get("/v1/jobs");
    const cpJobs = await get("/v1/jobs", 'ID matches "^cp-"');
    expect(ids(cpJobs)).toEqual(["cp-a", "cp-b"]);
    expect(cpJobs.headers.get("x-nomad-index")).toBe(allJobs.headers.get("x-nomad-index"));
    // Fields of the stored job, which the list's stubs do not show (Meta, task groups).
    expect(ids(await get("/v1/jobs", 'Meta.team == "blue"'))).toEqual(["cp-b"]);
    expect(ids(await get("/v1/jobs", "Meta.team != `blue`"))).toEqual(["cp-a", "web"]);
    expect(ids(await get("/v1/jobs", "Meta is empty"))).toEqual(["cp-a"]);
    expect(ids(await get("/v1/jobs", "TaskGroups.0.Count == 2"))).toEqual(["cp-a"]);
    expect(ids(await get("/v1/jobs", '"*" in Datacenters and not (ID contains "b" or ID == "web")'))).toEqual(["cp-a"]);

    // Nesting as deep as a generated filter may nest.
    const nested = `${"(".repeat(12)}ID == "cp-b"${")".repeat(12)} or ${"not (".repeat(11)}ID != "web"${")".repeat(11)}`;
    expect(ids(await get("/v1/jobs", nested))).toEqual(["cp-b", "web"]);

    const allocs = await get("/v1/allocations?resources=true");
    const cpAllocs = await get("/v1/allocations?resources=true", 'JobID matches "^cp-"');
    expect(ids(cpAllocs, "JobID")).toEqual(["cp-a", "cp-a", "cp-b"]);
    expect(cpAllocs.json[0].AllocatedResources).toBeDefined();
    expect(cpAllocs.headers.get("x-nomad-index")).toBe(allocs.headers.get("x-nomad-index"));
    expect(ids(await get("/v1/allocations", 'ClientStatus == "running" and Job.Meta.team == "red"'), "JobID")).toEqual(["web"]);
    // The stub's JobType is no field of Nomad's Allocation: Nomad's evaluation fails on the first allocation.
    const stubOnly = await get("/v1/allocations", 'JobType == "service"');
    expect(stubOnly.status).toBe(400);
    expect(stubOnly.text).toBe('failed to read result page: error finding value in datum: /JobType at part 0: couldn\'t find key: struct field with name "JobType"');

    expect(ids(await get("/v1/deployments", "JobID == `cp-b`"), "JobID")).toEqual(["cp-b"]);
    expect(ids(await get("/v1/deployments", 'JobID not matches "^cp-"'), "JobID")).toEqual(["web"]);

    const evals = (await get("/v1/evaluations")).json as { ID: string; JobID: string; Status: string }[];
    const evalIds = (keep: (e: { JobID: string; Status: string }) => boolean) => evals.filter(keep).map((e) => e.ID).sort();
    expect(evalIds((e) => e.JobID.startsWith("cp-") && e.Status === "complete").length).toBeGreaterThanOrEqual(2);
    expect(ids(await get("/v1/evaluations", 'JobID matches "^cp-" and Status == "complete"'))).toEqual(
      evalIds((e) => e.JobID.startsWith("cp-") && e.Status === "complete"),
    );
    expect(ids(await get("/v1/evaluations?job=cp-b"))).toEqual(evalIds((e) => e.JobID === "cp-b"));
    expect(ids(await get("/v1/evaluations?status=complete"))).toEqual(evalIds((e) => e.Status === "complete"));
    expect((await get("/v1/evaluations?status=blocked")).json).toEqual([]);
  });

  it("answers what Nomad answers for filters that fail on an object or meet missing map keys", async () => {
    const badRegexp = await get("/v1/allocations", 'JobID matches "("');
    expect(badRegexp.status).toBe(400);
    expect(badRegexp.text).toBe('failed to read result page: Failed to compile regular expression "(": error parsing regexp: missing closing ): `(`');
    const badNumber = await get("/v1/jobs", 'Priority == "high"');
    expect(badNumber.text).toBe('failed to read result page: error getting match value in expression: strconv.ParseInt: parsing "high": invalid syntax');
    // A missing key of a map leaves the answer to the operator; a missing struct field is an error.
    expect(ids(await get("/v1/jobs", 'Meta.owner == "x"'))).toEqual([]);
    expect(ids(await get("/v1/jobs", 'Meta.owner != "x"'))).toEqual(["cp-a", "cp-b", "web"]);
    expect((await get("/v1/jobs", 'Owner == "x"')).text).toBe(
      'failed to read result page: error finding value in datum: /Owner at part 0: couldn\'t find key: struct field with name "Owner"',
    );
    // The older exact-match parameters of /v1/evaluations do not combine with a filter.
    const both = await get("/v1/evaluations?status=blocked", 'JobID == "cp-a"');
    expect(both.status).toBe(400);
    expect(both.text).toBe("Filter expression cannot be used with other filter parameters");
  });
});
