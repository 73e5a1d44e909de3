// The dev agent routes by region as a Nomad server does: a ?region= it cannot reach is 500 "No path to region" on every
// endpoint that forwards (the client endpoints included, and before the token is looked at), while job register takes
// its region from the job (regionForJob: "global" or nothing means the agent's own region).

import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";

const agent = useDevAgent({ region: "us-east", acl: true });

const job = (id: string, extra: Record<string, unknown> = {}) => ({
  Job: {
    ID: id,
    ...extra,
    TaskGroups: [
      {
        Name: "g",
        Tasks: [{ Name: "t", Driver: "raw_exec", Resources: { CPU: 50, MemoryMB: 32 }, Config: { command: "/bin/sh", args: ["-c", "exec sleep 600"] } }],
      },
    ],
  },
});

describe("dev agent: region routing", () => {
  it("registers a job sent to region global (query or job) in the agent's region", async () => {
    const viaQuery = await api(agent(), "PUT", "/v1/jobs?region=global", job("reg-q"));
    expect(viaQuery.status).toBe(200);
    const viaJob = await api(agent(), "PUT", "/v1/jobs", job("reg-j", { Region: "global" }));
    expect(viaJob.status).toBe(200);
    for (const id of ["reg-q", "reg-j"]) expect((await api(agent(), "GET", `/v1/job/${id}`)).json.Region).toBe("us-east");
    const elsewhere = await api(agent(), "PUT", "/v1/jobs", job("reg-x", { Region: "eu" }));
    expect([elsewhere.status, elsewhere.text]).toEqual([500, "No path to region"]);
  });

  it("refuses an unreachable region on reads, client endpoints and the event stream, whatever the token", async () => {
    const allocs = await until(async () => {
      const list = (await api(agent(), "GET", "/v1/job/reg-q/allocations")).json as Array<{ ID: string; ClientStatus: string }>;
      return list.find((a) => a.ClientStatus === "running");
    }, "a running allocation");
    const paths = [
      "/v1/jobs?region=global",
      "/v1/job/reg-q?region=global",
      "/v1/deployments?region=global",
      `/v1/client/allocation/${allocs.ID}/stats?region=global`,
      `/v1/client/fs/logs/${allocs.ID}?task=t&type=stdout&region=global`,
      "/v1/event/stream?region=global",
    ];
    for (const p of paths) {
      const res = await api(agent(), "GET", p, undefined, { "X-Nomad-Token": "not-a-token" });
      expect([p, res.status, res.text]).toEqual([p, 500, "No path to region"]);
    }
    // Its own region, named or not, answers.
    expect((await api(agent(), "GET", `/v1/client/allocation/${allocs.ID}/stats?region=us-east`)).status).toBe(200);
    expect((await api(agent(), "GET", `/v1/client/allocation/${allocs.ID}/stats`)).status).toBe(200);
    // The agent's own endpoints and /v1/regions do not forward.
    expect((await api(agent(), "GET", "/v1/regions?region=global")).json).toEqual(["us-east"]);
  });

  it("refuses the exec WebSocket to an unreachable region", async () => {
    const alloc = (await api(agent(), "GET", "/v1/job/reg-q/allocations")).json[0];
    const ws = new WebSocket(`${agent().address.replace("http", "ws")}/v1/client/allocation/${alloc.ID}/exec?task=t&command=%5B%22true%22%5D&region=global`, {
      headers: { "X-Nomad-Token": agent().managementToken! },
    });
    const refused = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      ws.once("open", () => reject(new Error("upgraded")));
      ws.once("unexpected-response", (_req, res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
    });
    expect(refused).toEqual({ status: 500, body: "No path to region" });
  });
});
