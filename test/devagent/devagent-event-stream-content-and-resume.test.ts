// The dev agent's /v1/event/stream as a Nomad client sees it: per-topic filtering by key and filter key, Nomad's
// event envelope in index order, `{}` heartbeats while idle, and resumption with ?index=N that delivers, as Nomad's
// StartAtClosest does, the batch at N again and every later one (an N past the newest batch re-sends the newest; no
// index, every batch still kept) — each carrying its objects as they were at that index, not as they are when replayed.

import { describe, expect, it } from "vitest";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ eventHeartbeatMs: 150 });

interface Batch {
  Index: number;
  Events: Record<string, any>[];
}

/** Reads one event stream in the background; `lines` holds every parsed line, heartbeats included. */
function openStream(query: string) {
  const controller = new AbortController();
  const lines: (Batch | Record<string, never>)[] = [];
  const done = (async () => {
    const res = await fetch(`${agent().address}/v1/event/stream?${query}`, { signal: controller.signal });
    expect(res.status).toBe(200);
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of res.body!) {
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf("\n")) >= 0) {
          const line = pending.slice(0, nl).trim();
          pending = pending.slice(nl + 1);
          if (line) lines.push(JSON.parse(line));
        }
      }
    } catch (err) {
      if (!controller.signal.aborted) throw err;
    }
  })();
  const batches = () => lines.filter((l): l is Batch => "Index" in l);
  return { lines, batches, close: () => (controller.abort(), done) };
}

const topics = (jobId: string) => `topic=Job:${jobId}&topic=Allocation:${jobId}`;

describe("dev agent event stream", () => {
  it("streams a job's Job and Allocation events in Nomad's envelope, in index order, with heartbeats", async () => {
    const live = openStream(topics("ev-web"));
    await until(async () => live.lines.length > 0, "the initial heartbeat");
    expect(live.lines[0]).toEqual({});

    await api(agent(), "POST", "/v1/jobs", shJob("ev-other", "exec sleep 600"));
    await api(agent(), "POST", "/v1/jobs", shJob("ev-web", "exec sleep 600"));
    await until(async () => (await api(agent(), "GET", "/v1/job/ev-web")).json.Stable === true, "first deployment of ev-web done");
    await until(async () => live.batches().some((b) => b.Events.some((e) => e.Type === "AllocationUpdated" && e.Payload.Allocation.ClientStatus === "running")), "the running allocation event");

    const batches = live.batches();
    for (let i = 1; i < batches.length; i++) expect(batches[i]!.Index).toBeGreaterThan(batches[i - 1]!.Index);
    const events = batches.flatMap((b) => b.Events.map((e) => ({ e, batch: b.Index })));
    for (const { e, batch } of events) {
      expect(Object.keys(e).sort()).toEqual(["FilterKeys", "Index", "Key", "Namespace", "Payload", "Topic", "Type"]);
      expect(e.Index).toBe(batch);
      expect(e.Namespace).toBe("default");
      expect(["Job", "Allocation"]).toContain(e.Topic);
      if (e.Topic === "Job") expect([e.Key, e.Payload.Job.ID]).toEqual(["ev-web", "ev-web"]);
      else {
        expect(e.FilterKeys).toContain("ev-web");
        expect(e.Key).toBe(e.Payload.Allocation.ID);
        expect(e.Payload.Allocation.JobID).toBe("ev-web");
      }
    }
    const types = events.map(({ e }) => `${e.Topic}:${e.Type}`);
    expect(types[0]).toBe("Job:JobRegistered");
    expect(types).toContain("Allocation:PlanResult");
    expect(types).toContain("Allocation:AllocationUpdated");
    // The allocation goes pending -> running in the order the events were published.
    const statuses = events.filter(({ e }) => e.Topic === "Allocation").map(({ e }) => e.Payload.Allocation.ClientStatus);
    expect(statuses[0]).toBe("pending");
    expect(statuses.indexOf("running")).toBeGreaterThan(statuses.lastIndexOf("pending"));

    // Idle: heartbeats keep coming after the last batch.
    const seen = live.lines.length;
    await until(async () => live.lines.slice(seen).filter((l) => !("Index" in l)).length >= 2, "two heartbeats while idle");
    await live.close();
  });

  it("resumes at ?index=N with the batch at N again and exactly the later batches, as they were published", async () => {
    const live = openStream(topics("ev-resume"));
    await until(async () => live.lines.length > 0, "the initial heartbeat");
    await api(agent(), "POST", "/v1/jobs", shJob("ev-resume", "exec sleep 600"));
    await until(async () => (await api(agent(), "GET", "/v1/job/ev-resume")).json.Stable === true, "first deployment done");
    // A second version changes the job and its allocation again after the batches that will be replayed.
    await api(agent(), "POST", "/v1/jobs", shJob("ev-resume", "exec sleep 601"));
    await until(async () => (await api(agent(), "GET", "/v1/job/ev-resume")).json.Stable === true && (await api(agent(), "GET", "/v1/job/ev-resume")).json.Version === 1, "second deployment done");
    await until(async () => live.batches().some((b) => b.Events.some((e) => e.Topic === "Job" && e.Payload.Job.Version === 1 && e.Payload.Job.Stable)), "the stable version 1 event");

    const seenLive = live.batches();
    expect(seenLive.length).toBeGreaterThan(4);
    const from = seenLive[1]!.Index;
    const expected = seenLive.filter((b) => b.Index >= from);
    expect(expected[0]!.Index).toBe(from);
    const resumed = openStream(`${topics("ev-resume")}&index=${from}`);
    await until(async () => resumed.batches().length >= expected.length, "the replayed batches");
    await resumed.close();
    await live.close();

    expect(resumed.lines[0]).toEqual({});
    // Same indexes, same events, same payloads: no gap, no duplicate, and no object rewritten by later changes.
    expect(resumed.batches().slice(0, expected.length)).toEqual(expected);
    expect(resumed.batches().length).toBe(expected.length);
    const firstJob = expected.flatMap((b) => b.Events).find((e) => e.Topic === "Job")!;
    expect(firstJob.Payload.Job.ModifyIndex).toBeLessThanOrEqual(firstJob.Index);

    // An index between two batches starts at the next one; an index past the newest batch re-sends the newest.
    const between = openStream(`${topics("ev-resume")}&index=${from + 1}`);
    const after = seenLive.filter((b) => b.Index > from);
    await until(async () => between.batches().length >= after.length, "the batches after the gap");
    await between.close();
    expect(between.batches()).toEqual(after);
    const newest = seenLive.at(-1)!;
    const storeIndex = Number((await api(agent(), "GET", "/v1/jobs")).headers.get("x-nomad-index"));
    expect(storeIndex).toBe(newest.Index);
    const past = openStream(`${topics("ev-resume")}&index=${newest.Index + 1000}`);
    await until(async () => past.batches().length >= 1, "the newest batch again");
    await past.close();
    expect(past.batches()).toEqual([newest]);

    // No index (or 0) starts at the oldest batch still kept, as Nomad's subscription from its buffer's head does.
    for (const query of [topics("ev-resume"), `${topics("ev-resume")}&index=0`]) {
      const fresh = openStream(query);
      await until(async () => fresh.batches().length >= seenLive.length, "the kept batches");
      await fresh.close();
      expect(fresh.batches()).toEqual(seenLive);
    }
  });

  it("refuses an index that is not a number with Nomad's text", async () => {
    const r = await api(agent(), "GET", "/v1/event/stream?index=abc");
    expect([r.status, r.text]).toEqual([400, 'Unable to parse index: strconv.Atoi: parsing "abc": invalid syntax']);
  });
});
