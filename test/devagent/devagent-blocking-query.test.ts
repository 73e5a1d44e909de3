// A blocking read (?index=&wait=) is held until the data changes, then answers with the new index.
import { expect, it } from "vitest";
import { api, shJob, until, withDevAgent } from "../helpers/dev-agent.js";

it("wakes a blocking job read when the job changes, and times out with the same index otherwise", () =>
  withDevAgent(async (agent) => {
    const reg = await api(agent, "POST", "/v1/jobs", shJob("block", "sleep 60"));
    const first = await until(async () => {
      const r = await api(agent, "GET", "/v1/job/block");
      return r.json.Stable ? r : undefined;
    }, "the first deployment to finish");
    const index = Number(first.headers.get("x-nomad-index"));
    expect(index).toBeGreaterThanOrEqual(reg.json.JobModifyIndex);

    const timedOut = await api(agent, "GET", `/v1/job/block?index=${index + 1000}&wait=50ms`);
    expect(Number(timedOut.headers.get("x-nomad-index"))).toBe(index);

    let answered = false;
    const waiting = api(agent, "GET", `/v1/job/block?index=${index}&wait=30s`).then((r) => ((answered = true), r));
    await new Promise((r) => setImmediate(r));
    expect(answered).toBe(false);
    const update = await api(agent, "POST", "/v1/jobs", shJob("block", "sleep 61"));
    const woke = await waiting;
    expect(Number(woke.headers.get("x-nomad-index"))).toBeGreaterThanOrEqual(update.json.JobModifyIndex);
    expect(woke.json.Version).toBe(1);
  }));
