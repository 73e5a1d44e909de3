// HealthCheck reports Nomad's state instead of failing: unreachable, agent 500 with component reasons, healthy.

import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { durationMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { healthCheckFamily } from "../../src/provider/health-check.js";
import { startInProcessProvider, type InProcessProvider } from "../helpers/in-process-provider.js";
import { refusingAddress } from "../helpers/plugin-process.js";
import { createServer, type IncomingHttpHeaders } from "node:http";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");

let provider: InProcessProvider | undefined;
let agent: FakeAgent | undefined;
afterEach(async () => {
  await provider?.close();
  await agent?.close();
  provider = agent = undefined;
});

const start = (nomadAddress: string, token?: string) =>
  startInProcessProvider({ nomadAddress, token, region: "eu", families: [healthCheckFamily] }).then((p) => (provider = p));

// A tiny stand-in for GET /v1/agent/health with a fixed answer, written the way Nomad writes it.

interface FakeAgent {
  address: string;
  requests: { url: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

async function startFakeAgentHealth(status: number, body: string, contentType = "text/plain; charset=utf-8"): Promise<FakeAgent> {
  const requests: FakeAgent["requests"] = [];
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? "", headers: req.headers });
    // The credential checks HealthCheck also makes, answered as a Nomad 1.6 agent with ACLs off in region "eu".
    if (req.url?.startsWith("/v1/acl/token/self")) return void res.writeHead(400).end("ACL support disabled");
    if (req.url?.startsWith("/v1/namespace/default")) return void res.writeHead(200, { "content-type": "application/json" }).end('{"Name":"default"}');
    if (req.url?.startsWith("/v1/regions")) return void res.writeHead(200, { "content-type": "application/json" }).end('["eu"]');
    if (!req.url?.startsWith("/v1/agent/health")) {
      res.writeHead(404).end("not found");
      return;
    }
    res.writeHead(status, { "content-type": contentType }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("HealthCheck", () => {
  it("says unhealthy with the reason when Nomad is unreachable", async () => {
    const p = await start(await refusingAddress());
    const before = Date.now();
    const res = await p.client.healthCheck({}, { deadlineMs: 10_000 });
    expect(res.healthy).toBe(false);
    expect(res.message).toMatch(/ECONNREFUSED/);
    expect(res.components).toEqual([expect.objectContaining({ name: "api", healthy: false })]);
    expect(timestampDate(res.checkedAt!).getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(durationMs(res.latency!)).toBeGreaterThanOrEqual(0);
  });

  it("gives the component reasons of an agent that answers 500 with a JSON body", async () => {
    agent = await startFakeAgentHealth(500, fixture("GET_v1_agent_health.500-no-known-servers.derived.json"));
    const p = await start(agent.address);
    const res = await p.client.healthCheck({});
    expect(res.healthy).toBe(false);
    expect(res.components).toContainEqual(expect.objectContaining({ name: "client", healthy: false, message: "no known servers" }));
    expect(res.components).toContainEqual(expect.objectContaining({ name: "api", healthy: true }));
    expect(res.message).toContain("client: no known servers");
  });

  it("says healthy with client and server detail, sending the token and region", async () => {
    agent = await startFakeAgentHealth(200, fixture("GET_v1_agent_health.response.json"), "application/json");
    const p = await start(agent.address, "secret-token");
    const res = await p.client.healthCheck({});
    expect(res.healthy).toBe(true);
    expect(res.components.map((c) => [c.name, c.healthy, c.message])).toEqual([
      ["api", true, "reachable (HTTP 200)"],
      ["client", true, "ok"],
      ["server", true, "ok"],
      ["acl", true, "ACLs are disabled on Nomad"],
      ["namespace", true, '"default" exists'],
      ["region", true, '"eu" is known'],
    ]);
    const health = agent.requests.find((r) => r.url.startsWith("/v1/agent/health"));
    expect(health?.headers["x-nomad-token"]).toBe("secret-token");
    expect(health?.url).toContain("region=eu");
    expect(res.message).not.toContain("secret-token");
  });

  it("reports a 500 whose body is not the health JSON as an agent failure", async () => {
    agent = await startFakeAgentHealth(500, "rpc error: No cluster leader");
    const p = await start(agent.address);
    const res = await p.client.healthCheck({});
    expect(res.healthy).toBe(false);
    expect(res.components).toContainEqual(expect.objectContaining({ name: "agent", healthy: false, message: "rpc error: No cluster leader" }));
  });
});
