// The lifecycle RPCs through the real plugin binary, launched the way a go-plugin host launches it (AutoMTLS,
// handshake), against the dev agent: Capabilities, Provision, Status, Stop, Deprovision.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { useDevAgent } from "../helpers/dev-agent.js";
import { startPluginProcess, type PluginProcess, providerClientOf } from "../helpers/plugin-process.js";
import type { ProviderClient } from "../helpers/provider-client.js";
import { fetchWhenUp, threeServiceRequest } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
let plugin: PluginProcess;
let client: ProviderClient;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: agent().address } });
  client = providerClientOf(plugin);
});
afterAll(async () => {
  client?.close();
  await plugin?.kill();
});

describe("lifecycle through the plugin subprocess", () => {
  it("declares provision and scale", async () => {
    const { capabilities } = await client.capabilities({}, call);
    expect(capabilities).toEqual(expect.arrayContaining(["provision", "scale"]));
  });

  it("provisions, serves, stops and deprovisions a three-service instance", async () => {
    const res = await client.provision(threeServiceRequest("inst_plugin"), call);
    expect(res.state).toBe(InstanceState.RUNNING);
    expect((await fetchWhenUp(`${res.endpoints[0]!.url}/order`)).startsWith("init\n")).toBe(true);
    const { status } = await client.status({ instanceId: "inst_plugin" }, call);
    expect(status!.state).toBe(InstanceState.RUNNING);
    expect((await client.stop({ instanceId: "inst_plugin" }, call)).state).toBe(InstanceState.STOPPED);
    expect((await client.deprovision({ instanceId: "inst_plugin" }, call)).state).toBe(InstanceState.DESTROYED);
  });
});
