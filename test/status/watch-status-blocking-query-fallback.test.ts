// WatchStatus without an event stream: while the agent answers /v1/event/stream with 500, watchers still follow
// PROVISIONING -> RUNNING -> STOPPED through blocking queries; once the stream answers again the process goes back
// to it (one stream open on the agent, fallback off) and watchers keep seeing changes; the stream then stays with the
// process's instance cache after the watcher leaves.

import { describe, expect, it } from "vitest";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { statusHub } from "../../src/provider/watch-status.js";
import { createLogger } from "../../src/log.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { collectWatch as collect, threeServiceRequest, watchedStates as states } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

const streams = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.EventStreams as { Open: number; Opened: number };

describe("WatchStatus when the event stream is unavailable", () => {
  it("follows an instance with blocking queries, then returns to the event stream when it is back", async () => {
    agent().faults.set({ failWith500: { pathPrefix: "/v1/event/stream", body: "rpc error: no leader" } });
    const stop = new AbortController();

    const provisioning = provider().client.provision(threeServiceRequest("inst_fb", 1.5), call);
    await until(async () => (await api(agent(), "GET", "/v1/job/cp-inst_fb")).status === 200, "job registered");
    const w = collect(provider().client, "inst_fb", stop.signal);
    await provisioning;
    await until(async () => w.seen.some((s) => s.state === InstanceState.RUNNING), "RUNNING seen without an event stream");
    await provider().client.stop({ instanceId: "inst_fb" }, call);
    await until(async () => w.seen.at(-1)?.state === InstanceState.STOPPED, "STOPPED seen without an event stream");

    expect((await streams()).Opened).toBe(0);
    const hub = statusHub(provider().nomad, createLogger({ level: "error" }));
    expect(hub.usingFallback).toBe(true);
    const seen = states(w.seen);
    expect(seen[0]).toBe("PROVISIONING");
    expect(seen.indexOf("RUNNING")).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe("STOPPED");
    for (let i = 1; i < w.seen.length; i++) expect(w.seen[i]).not.toEqual(w.seen[i - 1]);

    // The stream comes back: the process switches to it, and changes still arrive.
    agent().faults.clear();
    await until(async () => (await streams()).Open === 1, "event stream re-opened");
    await until(async () => !hub.usingFallback, "fallback stopped");
    await provider().client.start({ instanceId: "inst_fb" }, call);
    await until(async () => w.seen.at(-1)?.state === InstanceState.RUNNING, "RUNNING again over the event stream");
    expect((await streams()).Opened).toBe(1);

    stop.abort();
    await w.done;
    expect(hub.usingFallback).toBe(false);
    expect(await streams()).toEqual({ Open: 1, Opened: 1 });
  });
});
