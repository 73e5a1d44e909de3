// What a ctrlplane host sees when Nomad misbehaves, driven through the dev agent's real fault switches (no mocks):
// every fault becomes one documented gRPC status, the plugin stays up, and the next call succeeds once Nomad is back.
// Status asks for an uncached read (StatusRequest.uncached): these faults hit Nomad's read path, which the plugin's
// event-fed instance cache would otherwise answer from memory (status-cache-*.test.ts cover the cache).
//
//   Nomad fault (dev agent switch)                         | what the caller gets
//   -------------------------------------------------------+----------------------------------------------------------
//   down (nothing listens; agent closed)                   | UNAVAILABLE; HealthCheck answers healthy=false (no error)
//   goes down while a call waits for its answer            | UNAVAILABLE
//   connections accepted then dropped (refuseConnections)  | UNAVAILABLE
//   HTTP 500 (failWith500)                                 | UNAVAILABLE, message carries Nomad's body
//   slower than the gRPC deadline (delayMs)                | DEADLINE_EXCEEDED when the deadline passes, not when Nomad answers
//   malformed JSON (malformedJson)                         | UNAVAILABLE ("malformed JSON from Nomad")
//   log stream reset mid-way (resetStreamAfterBytes)       | no error: Logs resumes at the exact byte, every line once
//   log frame cut in half, then reset (truncateFrame)      | no error: Logs resumes at the exact byte, every line once
//   log stream keeps failing (resetStreamAfterBytes 0)     | UNAVAILABLE after the plugin's bounded reconnect attempts
//   token refused by Nomad's ACL (403)                     | PERMISSION_DENIED

import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState, LogStream, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { families } from "../../src/provider/families.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { logsFamily } from "../../src/provider/observe-family.js";
import { api, until } from "../helpers/dev-agent.js";
import { startInProcessProvider, type InProcessProvider } from "../helpers/in-process-provider.js";
import { refusingAddress, startPluginProcess, providerClientOf } from "../helpers/plugin-process.js";
import { openServerConnections, portOf } from "../helpers/tcp-connections.js";

// The handlers under test whether or not their family is registered in the binary yet.
const implemented = [...new Set([...families, lifecycleFamily, logsFamily])];
const lineCount = 2000;

function printer(instanceId: string) {
  return {
    instanceId,
    services: [
      {
        name: "main",
        image: "busybox",
        role: ServiceRole.MAIN,
        command: ["/bin/sh", "-c", `i=1; while [ $i -le ${lineCount} ]; do echo "line $i"; i=$((i+1)); done; exec sleep 600`],
      },
    ],
  };
}

async function failure(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; details?: string };
    return { code: e.code ?? -1, details: e.details ?? String(err) };
  }
  throw new Error("the call succeeded");
}

async function stdoutLines(provider: InProcessProvider, instanceId: string): Promise<string[]> {
  const lines: string[] = [];
  for await (const m of provider.client.logs({ instanceId, stream: LogStream.STDOUT }, { deadlineMs: 20_000 })) lines.push(m.line);
  return lines;
}

const expectedLines = Array.from({ length: lineCount }, (_, i) => `line ${i + 1}`);

describe("Nomad down at start", () => {
  it("answers healthy=false and UNAVAILABLE, then works once Nomad comes up on that address", async () => {
    const address = await refusingAddress();
    const provider = await startInProcessProvider({ nomadAddress: address, families: implemented });
    let agent: DevAgent | undefined;
    try {
      const health = await provider.client.healthCheck({});
      expect(health.healthy).toBe(false);
      expect(health.components.find((c) => c.name === "api")?.healthy).toBe(false);
      expect((await failure(provider.client.status({ instanceId: "inst_down", uncached: true }))).code).toBe(GrpcStatus.UNAVAILABLE);
      expect((await failure(provider.client.provision(printer("inst_down"), { deadlineMs: 5000 }))).code).toBe(GrpcStatus.UNAVAILABLE);

      agent = await startDevAgent({ port: portOf(address) });
      expect((await provider.client.healthCheck({})).healthy).toBe(true);
      // The failed Provision left nothing behind, and now a Provision goes through.
      expect((await failure(provider.client.status({ instanceId: "inst_down", uncached: true }))).code).toBe(GrpcStatus.NOT_FOUND);
      expect((await provider.client.provision(printer("inst_down"), { deadlineMs: 20_000 })).state).toBe(InstanceState.RUNNING);
    } finally {
      await provider.close();
      await agent?.close();
    }
  });
});

describe("Nomad down when the plugin process starts", () => {
  it("still handshakes and serves; HealthCheck turns healthy once Nomad comes up", async () => {
    const address = await refusingAddress();
    const plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: address } });
    const client = providerClientOf(plugin);
    let agent: DevAgent | undefined;
    try {
      expect((await client.healthCheck({})).healthy).toBe(false);
      agent = await startDevAgent({ port: portOf(address) });
      expect((await client.healthCheck({})).healthy).toBe(true);
      expect(plugin.child.exitCode).toBeNull();
    } finally {
      client.close();
      await plugin.kill();
      await agent?.close();
    }
  });
});

describe("Nomad goes down while a call waits for it", () => {
  it("fails the waiting call with UNAVAILABLE, and the next call succeeds when Nomad is back", async () => {
    let agent = await startDevAgent({ port: 0 });
    const port = portOf(agent.address);
    const provider = await startInProcessProvider({ nomadAddress: agent.address, families: implemented });
    try {
      agent.faults.set({ delayMs: 60_000 });
      const started = Date.now();
      const waiting = failure(provider.client.status({ instanceId: "inst_mid", uncached: true }, { deadlineMs: 30_000 }));
      // The plugin's request is on the wire when the agent holds a connection from it.
      await until(async () => openServerConnections(port) > 0, "the plugin to connect to Nomad", 5000);
      await agent.close();
      expect((await waiting).code).toBe(GrpcStatus.UNAVAILABLE);
      expect(Date.now() - started).toBeLessThan(30_000);

      agent = await startDevAgent({ port });
      expect((await failure(provider.client.status({ instanceId: "inst_mid", uncached: true }))).code).toBe(GrpcStatus.NOT_FOUND);
      expect((await provider.client.healthCheck({})).healthy).toBe(true);
    } finally {
      await provider.close();
      await agent.close();
    }
  });
});

describe("Nomad refuses the token", () => {
  it("answers PERMISSION_DENIED; with a token Nomad accepts, the same call reaches Nomad", async () => {
    const agent = await startDevAgent({ port: 0, acl: true });
    const refused = await startInProcessProvider({ nomadAddress: agent.address, token: "not-a-valid-token", families: implemented });
    const accepted = await startInProcessProvider({ nomadAddress: agent.address, token: agent.managementToken!, families: implemented });
    try {
      expect((await failure(refused.client.status({ instanceId: "inst_acl", uncached: true }))).code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect((await failure(refused.client.provision(printer("inst_acl"), { deadlineMs: 5000 }))).code).toBe(GrpcStatus.PERMISSION_DENIED);
      expect((await failure(accepted.client.status({ instanceId: "inst_acl", uncached: true }))).code).toBe(GrpcStatus.NOT_FOUND);
    } finally {
      await refused.close();
      await accepted.close();
      await agent.close();
    }
  });
});

describe("faults of a running Nomad", () => {
  let agent: DevAgent;
  let provider: InProcessProvider;
  const id = "inst_faults";

  beforeAll(async () => {
    agent = await startDevAgent({ port: 0 });
    provider = await startInProcessProvider({ nomadAddress: agent.address, families: implemented });
    expect((await provider.client.provision(printer(id), { deadlineMs: 20_000 })).state).toBe(InstanceState.RUNNING);
    await until(async () => (await stdoutLines(provider, id)).length === lineCount && true, "the task to print every line");
  });
  afterEach(() => agent.faults.clear());
  afterAll(async () => {
    await provider?.close();
    await agent?.close();
  });

  const statusSucceeds = async () => expect((await provider.client.status({ instanceId: id, uncached: true })).status?.state).toBe(InstanceState.RUNNING);

  it("maps HTTP 500 to UNAVAILABLE with Nomad's message", async () => {
    agent.faults.set({ failWith500: { pathPrefix: "/v1/job", body: "rpc error: leader lost", times: 1 } });
    const f = await failure(provider.client.status({ instanceId: id, uncached: true }));
    expect(f.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(f.details).toContain("rpc error: leader lost");
    await statusSucceeds();
  });

  it("maps an answer slower than the deadline to DEADLINE_EXCEEDED when the deadline passes", async () => {
    agent.faults.set({ delayMs: 20_000 });
    const started = Date.now();
    const f = await failure(provider.client.status({ instanceId: id, uncached: true }, { deadlineMs: 300 }));
    const elapsed = Date.now() - started;
    expect(f.code).toBe(GrpcStatus.DEADLINE_EXCEEDED);
    // Bounded by the deadline, not by Nomad's 20 s answer.
    expect(elapsed).toBeLessThan(5000);
    agent.faults.clear();
    await statusSucceeds();
  });

  it("maps malformed JSON to UNAVAILABLE", async () => {
    agent.faults.set({ malformedJson: { pathPrefix: "/v1/job/", times: 1 } });
    const f = await failure(provider.client.status({ instanceId: id, uncached: true }));
    expect(f.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(f.details).toMatch(/malformed JSON/);
    await statusSucceeds();
  });

  it("maps dropped connections to UNAVAILABLE (and HealthCheck to healthy=false)", async () => {
    agent.faults.set({ refuseConnections: true });
    expect((await failure(provider.client.status({ instanceId: id, uncached: true }))).code).toBe(GrpcStatus.UNAVAILABLE);
    expect((await provider.client.healthCheck({})).healthy).toBe(false);
    agent.faults.clear();
    await statusSucceeds();
  });

  it("resumes a log stream reset mid-way at the exact line", async () => {
    agent.faults.set({ resetStreamAfterBytes: { bytes: 7000, pathPrefix: "/v1/client/fs/logs", once: true } });
    expect(await stdoutLines(provider, id)).toEqual(expectedLines);
    // The fault fired (it is consumed once used).
    expect(agent.faults.get().resetStreamAfterBytes).toBeUndefined();
  });

  it("resumes after a truncated log frame at the exact line", async () => {
    agent.faults.set({ truncateFrame: { pathPrefix: "/v1/client/fs/logs", once: true } });
    expect(await stdoutLines(provider, id)).toEqual(expectedLines);
    expect(agent.faults.get().truncateFrame).toBeUndefined();
  });

  it("ends a log stream with UNAVAILABLE when Nomad stays unreachable, and streams again afterwards", async () => {
    // Every log stream is reset at once and nothing new connects: the plugin's reconnects run out.
    agent.faults.set({ resetStreamAfterBytes: { bytes: 0, pathPrefix: "/v1/client/fs/logs", once: false } });
    const f = await failure(stdoutLines(provider, id));
    expect(f.code).toBe(GrpcStatus.UNAVAILABLE);
    agent.faults.clear();
    expect(await stdoutLines(provider, id)).toEqual(expectedLines);
    const res = await api(agent, "GET", `/v1/job/cp-${id}`);
    expect(res.status).toBe(200);
  });
});
