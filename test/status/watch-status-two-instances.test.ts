// WatchStatus on the dev agent: one watcher follows an instance from PROVISIONING (its init task still running)
// through RUNNING to STOPPED, while a second watcher on another instance only ever hears about its own; a dropped
// event stream is resumed without losing the change that happened meanwhile.

import { describe, expect, it } from "vitest";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { collectWatch as collect, threeServiceRequest, watchedStates as states } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily] }));
const call = { deadlineMs: 20_000 };

describe("WatchStatus", () => {
  it("follows PROVISIONING -> RUNNING -> STOPPED for one instance while another watcher sees only its own", async () => {
    await provider().client.provision(threeServiceRequest("inst_wb"), call);
    const stop = new AbortController();
    const b = collect(provider().client, "inst_wb", stop.signal);
    await until(async () => b.seen.length > 0, "first status of B");

    // A's init task runs for a while: the watch opens while A is still being provisioned.
    const provisioning = provider().client.provision(threeServiceRequest("inst_wa", 1.5), call);
    await until(async () => (await api(agent(), "GET", "/v1/job/cp-inst_wa")).status === 200, "job A registered");
    const a = collect(provider().client, "inst_wa", stop.signal);
    await provisioning;
    await until(async () => a.seen.some((s) => s.state === InstanceState.RUNNING), "A running");
    await provider().client.stop({ instanceId: "inst_wa" }, call);
    await until(async () => a.seen.at(-1)?.state === InstanceState.STOPPED, "A stopped");
    stop.abort();
    await Promise.all([a.done, b.done]);

    const seenA = states(a.seen);
    expect(seenA[0]).toBe("PROVISIONING");
    const running = seenA.indexOf("RUNNING");
    expect(running).toBeGreaterThan(0);
    expect(seenA.at(-1)).toBe("STOPPED");
    expect(seenA.slice(running + 1, -1).every((s) => s === "RUNNING" || s === "STOPPING")).toBe(true);
    for (const s of a.seen) expect(s.metadata["nomad.job_id"]).toBe("cp-inst_wa");
    for (const s of b.seen) expect(s.metadata["nomad.job_id"]).toBe("cp-inst_wb");
    expect(states(b.seen).every((s) => s === "RUNNING")).toBe(true);
    // Consecutive messages always differ: a change is sent once.
    for (let i = 1; i < a.seen.length; i++) expect(a.seen[i]).not.toEqual(a.seen[i - 1]);
  });

  it("still delivers a change that happens while the shared event stream is being re-established", async () => {
    await provider().client.provision(threeServiceRequest("inst_wc"), call);
    const stop = new AbortController();
    const c = collect(provider().client, "inst_wc", stop.signal);
    await until(async () => c.seen.at(-1)?.state === InstanceState.RUNNING, "C running");
    agent().faults.set({ resetStreamAfterBytes: { bytes: 1, pathPrefix: "/v1/event/stream", once: false } });
    await provider().client.stop({ instanceId: "inst_wc" }, call);
    agent().faults.clear();
    await until(async () => c.seen.at(-1)?.state === InstanceState.STOPPED, "C stopped seen by the watcher");
    stop.abort();
    await c.done;
  });

  it("ends with DESTROYED when the instance is deprovisioned under the watcher", async () => {
    await provider().client.provision(threeServiceRequest("inst_wd"), call);
    const stop = new AbortController();
    const d = collect(provider().client, "inst_wd", stop.signal);
    await until(async () => d.seen.length > 0, "first status of D");
    await provider().client.deprovision({ instanceId: "inst_wd" }, call);
    await d.done;
    expect(d.seen.at(-1)!.state).toBe(InstanceState.DESTROYED);
  });
});
