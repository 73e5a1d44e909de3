// Nomad 1.7+ answers /v1/acl/token/self through ACL.WhoAmI, not as 1.6 does (which the dev agent serves): ACLs off is
// a 200 with the "acls-disabled" pseudo token, no token a 200 with the "anonymous" token, an unknown one 403
// "Permission denied". HealthCheck reads each the same way.

import { createServer } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { healthCheckFamily } from "../../src/provider/health-check.js";
import { startInProcessProvider } from "../helpers/in-process-provider.js";

let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

/** A Nomad that is healthy, in region global with namespace default, and answers token self with `token`. */
async function nomadAnsweringTokenSelf(token: { status: number; body: string }): Promise<string> {
  const server = createServer((req, res) => {
    const json = (body: string) => res.writeHead(200, { "content-type": "application/json" }).end(body);
    if (req.url?.startsWith("/v1/agent/health")) return json('{"client":{"ok":true,"message":"ok"},"server":{"ok":true,"message":"ok"}}');
    if (req.url?.startsWith("/v1/regions")) return json('["global"]');
    if (req.url?.startsWith("/v1/namespace/default")) return json('{"Name":"default"}');
    if (req.url?.startsWith("/v1/acl/token/self")) {
      return token.status === 200 ? json(token.body) : res.writeHead(token.status, { "content-type": "text/plain; charset=utf-8" }).end(token.body);
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function health(address: string, token?: string) {
  const p = await startInProcessProvider({ nomadAddress: address, token, families: [healthCheckFamily] });
  try {
    return await p.client.healthCheck({});
  } finally {
    await p.close();
  }
}

describe("HealthCheck against Nomad 1.7+ token answers", () => {
  it("is healthy with ACLs off (the acls-disabled pseudo token)", async () => {
    const address = await nomadAnsweringTokenSelf({ status: 200, body: '{"AccessorID":"acls-disabled","Name":"ACLs disabled token","Type":"client"}' });
    const res = await health(address);
    expect([res.healthy, res.components.find((c) => c.name === "acl")?.message]).toEqual([true, "ACLs are disabled on Nomad"]);
  });

  it("is unhealthy when calls would run as the anonymous token", async () => {
    const address = await nomadAnsweringTokenSelf({ status: 200, body: '{"AccessorID":"anonymous","Name":"Anonymous Token","Type":"client","Policies":["anonymous"]}' });
    const res = await health(address);
    expect(res.healthy).toBe(false);
    expect(res.message).toBe("acl: no ACL token is configured but Nomad has ACLs enabled (calls run as Nomad's anonymous token); set CP_NOMAD_TOKEN or NOMAD_TOKEN");
  });

  it("is unhealthy for a token Nomad refuses with 403 Permission denied", async () => {
    const address = await nomadAnsweringTokenSelf({ status: 403, body: "Permission denied" });
    const res = await health(address, "d0c8a1f0-5f1e-4b8e-9c43-2f6a1a3b7e21");
    expect(res.message).toBe("acl: Nomad does not accept the configured ACL token (Permission denied); check CP_NOMAD_TOKEN / NOMAD_TOKEN");
    expect(res.message).not.toContain("d0c8a1f0");
  });
});
