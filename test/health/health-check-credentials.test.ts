// HealthCheck tells the truth about credentials: a wrong or missing ACL token, an unknown namespace or an unknown
// region make it unhealthy with the reason named (never the token), against a dev agent with ACLs on and off.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { healthCheckFamily } from "../../src/provider/health-check.js";
import { startInProcessProvider } from "../helpers/in-process-provider.js";

let aclAgent: DevAgent;
let openAgent: DevAgent;
beforeAll(async () => {
  [aclAgent, openAgent] = await Promise.all([startDevAgent({ port: 0, acl: true }), startDevAgent({ port: 0 })]);
});
afterAll(async () => {
  await Promise.all([aclAgent?.close(), openAgent?.close()]);
});

async function healthOf(agent: DevAgent, options: { token?: string; namespace?: string; region?: string } = {}) {
  const p = await startInProcessProvider({ nomadAddress: agent.address, families: [healthCheckFamily], ...options });
  try {
    const res = await p.client.healthCheck({}, { deadlineMs: 10_000 });
    const components = Object.fromEntries(res.components.map((c) => [c.name, [c.healthy, c.message]]));
    return { healthy: res.healthy, message: res.message, components };
  } finally {
    await p.close();
  }
}

const wrongToken = "0b7b2c7e-3a6f-4c1e-9a55-6d3c2f1e0a99";

describe("HealthCheck with ACLs on", () => {
  it("is healthy with the management token", async () => {
    const h = await healthOf(aclAgent, { token: aclAgent.managementToken });
    expect(h.healthy).toBe(true);
    expect(h.components.acl).toEqual([true, 'token "Bootstrap Token" (management) accepted']);
    expect(h.message).not.toContain(aclAgent.managementToken!);
  });

  it("is unhealthy for a wrong token, saying so without the token", async () => {
    const h = await healthOf(aclAgent, { token: wrongToken });
    expect(h.healthy).toBe(false);
    expect(h.message).toBe("acl: Nomad does not accept the configured ACL token (ACL token not found); check CP_NOMAD_TOKEN / NOMAD_TOKEN");
    expect(JSON.stringify(h)).not.toContain(wrongToken);
    // Its namespace read is refused too, but that is a consequence, not a second problem.
    expect(h.components.namespace?.[0]).toBe(false);
  });

  it("is unhealthy without a token, telling how to set one", async () => {
    const h = await healthOf(aclAgent);
    expect(h.healthy).toBe(false);
    expect(h.message).toBe("acl: no ACL token is configured but Nomad has ACLs enabled (ACL token not found); set CP_NOMAD_TOKEN or NOMAD_TOKEN");
  });

  it("names an unknown namespace", async () => {
    const h = await healthOf(aclAgent, { token: aclAgent.managementToken, namespace: "nope" });
    expect(h.healthy).toBe(false);
    expect(h.message).toBe('namespace: namespace "nope" does not exist (Namespace not found)');
    const inRegion = await healthOf(aclAgent, { token: aclAgent.managementToken, namespace: "nope", region: "global" });
    expect(inRegion.message).toBe('namespace: namespace "nope" does not exist in region global (Namespace not found)');
  });
});

describe("HealthCheck with ACLs off", () => {
  it("is healthy without a token", async () => {
    const h = await healthOf(openAgent);
    expect(h).toMatchObject({ healthy: true, message: expect.stringMatching(/is healthy$/) });
    expect(h.components).toMatchObject({
      acl: [true, "ACLs are disabled on Nomad"],
      namespace: [true, '"default" exists'],
      region: [true, "none configured: the agent's own region applies (known: global)"],
    });
    expect((await healthOf(openAgent, { region: "global" })).components.region).toEqual([true, '"global" is known']);
  });

  it("names an unknown region, and only that", async () => {
    const h = await healthOf(openAgent, { region: "mars" });
    expect(h.healthy).toBe(false);
    expect(h.message).toBe('region: region "mars" is not one of Nomad\'s regions (global)');
  });

  it("says which checks an unknown region kept from running", async () => {
    const h = await healthOf(openAgent, { region: "mars" });
    expect(h.components).toMatchObject({
      acl: [false, 'not checked: region "mars" is unknown'],
      namespace: [false, 'not checked: region "mars" is unknown'],
      region: [false, 'region "mars" is not one of Nomad\'s regions (global)'],
    });
  });
});
