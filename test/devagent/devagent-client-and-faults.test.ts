// Client endpoints are routed to the allocation's runner (404 `Unknown allocation` otherwise), and the fault
// switches (in-process and over HTTP) change real answers: 500s, cut JSON, delays, reset streams, refused sockets.
import { expect, it } from "vitest";
import { api, shJob, until, withDevAgent } from "../helpers/dev-agent.js";

it("routes logs and restart to the allocation and answers Nomad's unknown-allocation error", () =>
  withDevAgent(async (agent) => {
    await api(agent, "POST", "/v1/jobs", shJob("cli", "echo hello-from-task; sleep 60"));
    const alloc = await until(async () => {
      const r = (await api(agent, "GET", "/v1/job/cli/allocations")).json;
      return r[0]?.ClientStatus === "running" ? r[0] : undefined;
    }, "a running allocation");
    const logs = await until(async () => {
      const r = await api(agent, "GET", `/v1/client/fs/logs/${alloc.ID}?task=main&type=stdout&plain=true`);
      return r.text.includes("hello-from-task") ? r : undefined;
    }, "the task's stdout");
    expect(logs.status).toBe(200);
    const unknown = await api(agent, "GET", "/v1/client/fs/logs/00000000-0000-0000-0000-000000000000?task=main&type=stdout");
    expect([unknown.status, unknown.text]).toEqual([404, 'Unknown allocation "00000000-0000-0000-0000-000000000000"']);
    const restart = await api(agent, "POST", `/v1/client/allocation/${alloc.ID}/restart`, { TaskName: "main" });
    expect([restart.status, restart.json]).toEqual([200, {}]);
    await until(async () => (await api(agent, "GET", `/v1/allocation/${alloc.ID}`)).json.TaskStates.main.Restarts === 1, "a restart");
  }));

it("injects 500s, malformed JSON, delays and refused connections, over HTTP and in-process", () =>
  withDevAgent(async (agent) => {
    const set = await api(agent, "PUT", "/v1/devagent/faults", { failWith500: { pathPrefix: "/v1/jobs", body: "rpc error: boom", times: 1 } });
    expect(set.status).toBe(200);
    const failed = await api(agent, "GET", "/v1/jobs");
    expect([failed.status, failed.text]).toEqual([500, "rpc error: boom"]);
    expect((await api(agent, "GET", "/v1/jobs")).status).toBe(200);

    agent.faults.set({ malformedJson: { pathPrefix: "/v1/agent/health" } });
    const cut = await api(agent, "GET", "/v1/agent/health");
    expect(cut.status).toBe(200);
    expect(cut.json).toBeUndefined();

    agent.faults.set({ refuseConnections: true });
    await expect(fetch(`${agent.address}/v1/agent/health`)).rejects.toThrow();
    agent.faults.clear();
    expect((await api(agent, "GET", "/v1/agent/health")).status).toBe(200);

    agent.faults.set({ delayMs: 300 });
    const started = Date.now();
    await api(agent, "GET", "/v1/regions");
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await api(agent, "DELETE", "/v1/devagent/faults");
    expect(agent.faults.get()).toEqual({});
  }));

it("resets an event stream after the configured number of bytes", () =>
  withDevAgent(async (agent) => {
    agent.faults.set({ resetStreamAfterBytes: { bytes: 10, pathPrefix: "/v1/event/stream" } });
    const res = await fetch(`${agent.address}/v1/event/stream?topic=Job:*`);
    expect(res.status).toBe(200);
    const reading = res.text();
    await api(agent, "POST", "/v1/jobs", shJob("ev", "sleep 60"));
    await expect(reading).rejects.toThrow();
  }));
