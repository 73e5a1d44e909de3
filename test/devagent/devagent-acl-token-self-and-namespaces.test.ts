// The dev agent answers /v1/acl/token/self, /v1/namespace/:name and /v1/regions as Nomad 1.6 does, with ACLs on
// and off (command/agent/acl_endpoint.go aclTokenSelf over ACL.ResolveToken; namespace_endpoint.go namespaceQuery).

import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { api, withDevAgent } from "../helpers/dev-agent.js";

const fixture = (name: string) => readFileSync(new URL(`../fixtures/nomad/${name}`, import.meta.url), "utf8");

it("answers token self: 400 with ACLs off, the token for its secret, 404 for an unknown or missing one", async () => {
  await withDevAgent(async (agent) => {
    const off = await api(agent, "GET", "/v1/acl/token/self");
    expect([off.status, off.text]).toEqual([400, "ACL support disabled"]);
  });
  await withDevAgent(
    async (agent) => {
      const self = await api(agent, "GET", "/v1/acl/token/self");
      expect(self.status).toBe(200);
      expect(Object.keys(self.json)).toEqual([
        "AccessorID", "SecretID", "Name", "Type", "Policies", "Roles", "Global", "Hash", "CreateTime", "ExpirationTime", "ExpirationTTL", "CreateIndex", "ModifyIndex",
      ]);
      expect(self.json).toMatchObject({ SecretID: agent.managementToken, Name: "Bootstrap Token", Type: "management", Global: true });
      const unknown = await api(agent, "GET", "/v1/acl/token/self", undefined, { "X-Nomad-Token": "00000000-0000-0000-0000-000000000000" });
      expect([unknown.status, unknown.text]).toEqual([404, "ACL token not found"]);
      const missing = await fetch(`${agent.address}/v1/acl/token/self`);
      expect([missing.status, await missing.text()]).toEqual([404, "ACL token not found"]);
    },
    { acl: true },
  );
});

it("answers a namespace by name, 404 for an unknown one, 403 to anonymous callers with ACLs on", async () => {
  await withDevAgent(
    async (agent) => {
      const ns = await api(agent, "GET", "/v1/namespace/default");
      expect(ns.status).toBe(200);
      expect(ns.json).toMatchObject({ Name: "default", Description: "Default shared namespace", Quota: "" });
      expect((await api(agent, "GET", "/v1/namespace/team-a")).json.Name).toBe("team-a");
      const nope = await api(agent, "GET", "/v1/namespace/nope");
      expect([nope.status, nope.text]).toEqual([404, "Namespace not found"]);
      const anonymous = await fetch(`${agent.address}/v1/namespace/default`);
      expect([anonymous.status, await anonymous.text()]).toEqual([403, fixture("GET_v1_nodes.403.txt")]);
      expect((await api(agent, "GET", "/v1/namespaces")).json.map((n: { Name: string }) => n.Name)).toEqual(["default", "team-a"]);
    },
    { acl: true, namespaces: ["team-a"] },
  );
});

it("lists its region like Nomad's region list (a bare array of names), without a token", async () => {
  await withDevAgent(
    async (agent) => {
      const regions = await fetch(`${agent.address}/v1/regions`);
      const body = await regions.json();
      expect(Array.isArray(body) && body.every((r) => typeof r === "string")).toBe(true);
      expect(JSON.parse(fixture("GET_v1_regions.response.json")).every((r: unknown) => typeof r === "string")).toBe(true);
      expect(body).toEqual(["west"]);
    },
    { acl: true, region: "west" },
  );
});
