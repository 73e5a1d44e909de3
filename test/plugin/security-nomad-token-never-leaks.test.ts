// The Nomad token is a secret: whatever goes wrong — Nomad refuses it (403), a job is missing (404), Nomad answers
// 500 or cannot be reached, a request is malformed — it never shows up in the plugin's stderr (even at trace level),
// in a gRPC error, in a response, or in what reflection serves.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { ServerReflection } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { LogStream, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { createProviderClient, createServiceClient, type ProviderClient } from "../helpers/provider-client.js";
import { refusingAddress, startStandaloneProcess, type StandaloneProcess } from "../helpers/plugin-process.js";

// Distinctive, so any leak (whole or as a prefix/suffix) is found by a substring search.
const wrongToken = "0c1d2e3f-wrong-token-a1b2c3d4e5f6";

interface Outcome {
  ok: boolean;
  text: string;
}

async function outcome(call: Promise<unknown> | AsyncIterable<unknown>): Promise<Outcome> {
  try {
    if (Symbol.asyncIterator in call) {
      const items: unknown[] = [];
      for await (const item of call) items.push(item);
      return { ok: true, text: JSON.stringify(items, big) };
    }
    return { ok: true, text: JSON.stringify(await call, big) };
  } catch (err) {
    const e = err as { code?: number; details?: string; message?: string; metadata?: { getMap(): unknown } };
    return { ok: false, text: `${e.code} ${e.details} ${e.message} ${JSON.stringify(e.metadata?.getMap() ?? {})}` };
  }
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

/** Every kind of call, each bound to fail in its own way against the given Nomad. */
function calls(client: ProviderClient): Array<() => Promise<unknown> | AsyncIterable<unknown>> {
  return [
    () => client.info({}),
    () => client.healthCheck({}),
    () => client.status({ instanceId: "inst_secret" }),
    () => client.status({ instanceId: "bad id/with slash" }),
    () => client.provision({ instanceId: "inst_secret", services: [{ name: "main", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "sleep 60"], secrets: [{ key: "db", value: "v" }] }] }, { deadlineMs: 5000 }),
    () => client.deprovision({ instanceId: "inst_secret" }),
    () => client.stop({ instanceId: "inst_secret" }),
    () => client.scale({ instanceId: "inst_secret", resources: { replicas: 2 } }),
    () => client.deploy({ instanceId: "inst_secret", releaseId: "r1", services: [{ name: "main", image: "busybox" }] }),
    () => client.exec({ instanceId: "inst_secret", command: ["true"] }),
    () => client.logs({ instanceId: "inst_secret", stream: LogStream.STDOUT }),
    () => client.watchStatus({ instanceId: "inst_secret" }, { deadlineMs: 2000 }),
    () => client.resources({ instanceId: "inst_secret" }),
  ];
}

async function reflectionText(address: string): Promise<string> {
  const client = createServiceClient(ServerReflection, address);
  try {
    const call = client.serverReflectionInfo();
    call.send({ messageRequest: { case: "listServices", value: "" } });
    for (const symbol of ["ctrlplane.provider.v1.ProviderService", "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"]) {
      call.send({ messageRequest: { case: "fileContainingSymbol", value: symbol } });
    }
    call.end();
    let text = "";
    for await (const answer of call.responses) {
      const r = answer.messageResponse;
      if (r.case === "fileDescriptorResponse") {
        for (const b of r.value.fileDescriptorProto) text += JSON.stringify(fromBinary(FileDescriptorProtoSchema, b), big) + Buffer.from(b).toString("latin1");
      } else {
        text += JSON.stringify(r, big);
      }
    }
    return text;
  } finally {
    client.close();
  }
}

describe("the Nomad token", () => {
  let agent: DevAgent;
  beforeAll(async () => {
    agent = await startDevAgent({ port: 0, acl: true });
  });
  afterAll(() => agent?.close());

  const scenarios = [
    { name: "refused by Nomad (403)", token: () => wrongToken, address: async () => agent.address },
    { name: "accepted, with 404s and 500s", token: () => agent.managementToken!, address: async () => agent.address, faults: true },
    { name: "sent to an unreachable Nomad", token: () => wrongToken, address: refusingAddress },
  ];

  for (const s of scenarios) {
    it(`never appears in stderr, errors, responses or reflection when ${s.name}`, async () => {
      const token = s.token();
      expect(token.length).toBeGreaterThan(16);
      let plugin: StandaloneProcess | undefined;
      let client: ProviderClient | undefined;
      try {
        plugin = await startStandaloneProcess({ env: { NOMAD_ADDR: await s.address(), NOMAD_TOKEN: token, CP_NOMAD_LOG_LEVEL: "trace" } });
        client = createProviderClient(plugin.address);
        const results: Outcome[] = [];
        for (const call of calls(client)) results.push(await outcome(call()));
        if (s.faults) {
          agent.faults.set({ failWith500: { body: `upstream said ${token.slice(0, 8)}` } });
          for (const call of calls(client)) results.push(await outcome(call()));
          agent.faults.clear();
        }
        // The calls really went wrong (not a vacuous pass).
        expect(results.filter((r) => !r.ok).length).toBeGreaterThan(5);
        const everything = [...results.map((r) => r.text), await reflectionText(plugin.address), plugin.stderr(), plugin.stdout()].join("\n");
        expect(everything).not.toContain(token);
      } finally {
        agent.faults.clear();
        client?.close();
        await plugin?.kill();
      }
    });
  }
});
