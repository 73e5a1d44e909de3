// With --acl the agent wants its management token: no token is 403 "Permission denied", an unknown one
// 403 "ACL token not found"; health stays open.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { api, withDevAgent } from "../helpers/dev-agent.js";

const denied = readFileSync(new URL("../fixtures/nomad/GET_v1_nodes.403.txt", import.meta.url), "utf8");

it("refuses requests without the management token", () =>
  withDevAgent(
    async (agent) => {
      expect(agent.managementToken).toMatch(/^[0-9a-f-]{36}$/);
      const anon = await fetch(`${agent.address}/v1/jobs`);
      expect([anon.status, await anon.text()]).toEqual([403, denied]);
      const unknown = await fetch(`${agent.address}/v1/jobs`, { headers: { "X-Nomad-Token": "00000000-0000-0000-0000-000000000000" } });
      expect([unknown.status, await unknown.text()]).toEqual([403, "ACL token not found"]);
      const bearer = await fetch(`${agent.address}/v1/jobs`, { headers: { Authorization: `Bearer ${agent.managementToken}` } });
      expect(bearer.status).toBe(200);
      expect((await api(agent, "GET", "/v1/jobs")).status).toBe(200);
      expect((await fetch(`${agent.address}/v1/agent/health`)).status).toBe(200);
    },
    { acl: true },
  ));
