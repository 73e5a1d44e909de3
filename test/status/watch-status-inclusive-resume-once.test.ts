// Nomad resumes an event stream inclusively (StartAtClosest: ?index=N sends the batch at N again). Against the dev
// agent doing the same, with the stream broken off again and again (fault resetStreamAfterFrames): the plugin's
// follower delivers every batch exactly once and in order, the same batches an unbroken stream delivers, and a
// WatchStatus caller hears of each status change once.

import { describe, expect, it } from "vitest";
import { InstanceState, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { followEventStream } from "../../src/nomad/event-stream.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { equals } from "@bufbuild/protobuf";
import { InstanceStatusSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { collectWatch, watchedStates } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };
const streams = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.EventStreams as { Open: number; Opened: number };

/** Follows the event stream in the background, recording what it yields. */
function follow(nomad: NomadHttp, signal: AbortSignal) {
  const batches: number[] = [];
  const resumedFrom: number[] = [];
  const done = (async () => {
    for await (const n of followEventStream(nomad, { topics: ["Job:resume-once", "Allocation:resume-once"], signal, minBackoffMs: 10 })) {
      if (n.kind === "batch") batches.push(n.batch.index);
      else if (n.kind === "connected") resumedFrom.push(n.resumedFrom);
    }
  })();
  return { batches, resumedFrom, done };
}

describe("event stream resumed inclusively", () => {
  it("delivers each batch once, in order, across four broken-off connections", async () => {
    const stop = new AbortController();
    const clean = new NomadHttp({ address: agent().address });
    const broken = new NomadHttp({ address: agent().address });
    try {
      const reference = follow(clean, stop.signal);
      await until(async () => reference.resumedFrom.length === 1, "the unbroken stream connected");
      // Every new event stream from here breaks off right after its second batch, three times over; a resumed one
      // starts with the batch it ended on, so each reconnection carries one batch seen before.
      agent().faults.set({ resetStreamAfterFrames: { frames: 2, pathPrefix: "/v1/event/stream", times: 3 } });
      const followed = follow(broken, stop.signal);
      await until(async () => followed.resumedFrom.length === 1, "the broken stream connected");

      await api(agent(), "POST", "/v1/jobs", shJob("resume-once", "exec sleep 600"));
      await until(async () => (await api(agent(), "GET", "/v1/job/resume-once")).json.Stable === true, "the job's first deployment done");
      await api(agent(), "POST", "/v1/jobs", shJob("resume-once", "exec sleep 601"));
      await until(async () => {
        const job = (await api(agent(), "GET", "/v1/job/resume-once")).json;
        return job.Version === 1 && job.Stable === true;
      }, "the second deployment done");
      const last = Number((await api(agent(), "GET", "/v1/job/resume-once")).headers.get("x-nomad-index"));
      await until(async () => reference.batches.at(-1)! >= last && followed.batches.at(-1)! >= last, "both followers caught up");

      expect(followed.resumedFrom.length).toBe(4);
      expect(followed.resumedFrom.slice(1).every((i) => i > 0)).toBe(true);
      expect(new Set(followed.batches).size).toBe(followed.batches.length);
      expect(followed.batches).toEqual(reference.batches);
      expect(followed.batches.length).toBeGreaterThan(8);
    } finally {
      stop.abort();
      agent().faults.clear();
      await clean.close();
      await broken.close();
    }
  });

  it("sends a WatchStatus caller each status change once while the upstream stream keeps breaking off", async () => {
    const instanceId = "inst_resume_once";
    await provider().client.provision(
      { instanceId, tenantId: "ten_resume", services: [{ name: "web", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "exec sleep 600"] }] },
      call,
    );
    const opened = (await streams()).Opened;
    agent().faults.set({ resetStreamAfterFrames: { frames: 2, pathPrefix: "/v1/event/stream", times: 4 } });
    const stop = new AbortController();
    const watch = collectWatch(provider().client, instanceId, stop.signal);
    try {
      await until(async () => watch.seen.at(-1)?.state === InstanceState.RUNNING, "RUNNING");
      await provider().client.stop({ instanceId }, call);
      await until(async () => watch.seen.at(-1)?.state === InstanceState.STOPPED, "STOPPED");
      await provider().client.start({ instanceId }, call);
      await until(async () => watch.seen.at(-1)?.state === InstanceState.RUNNING, "RUNNING again");
      // The upstream stream was broken off and resumed (each resumption re-sending a batch) while this happened.
      await until(async () => (await streams()).Opened >= opened + 3, "the upstream stream reconnected");
    } finally {
      stop.abort();
      await watch.done;
      agent().faults.clear();
    }
    const states = watchedStates(watch.seen);
    expect(states[0]).toBe("RUNNING");
    expect(states.filter((s) => s === "STOPPED")).toHaveLength(1);
    for (let i = 1; i < watch.seen.length; i++) expect(equals(InstanceStatusSchema, watch.seen[i - 1]!, watch.seen[i]!)).toBe(false);
  });
});
