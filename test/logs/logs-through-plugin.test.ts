// Logs through the plugin against the dev agent with real processes.
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LogStream, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { until } from "../helpers/dev-agent.js";
import { allocStatus, collectLogs, newInstanceId, runInstance, runNumberedInstance, useObserveStack } from "../helpers/observe-stack.js";

const stack = useObserveStack();
const total = 100_000;

function expectNumbered(lines: LogsResponse[], from: number, to: number): void {
  expect(lines.length).toBe(to - from + 1);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.line !== String(from + i)) throw new Error(`line ${i}: expected ${from + i}, got ${JSON.stringify(lines[i]!.line)}`);
  }
}

describe("Logs through the plugin", () => {
  const instance = newInstanceId("logs");
  let allocId = "";

  async function numberedReady() {
    allocId ||= await runNumberedInstance(stack(), instance, total, "echo oops >&2");
  }

  // 100,000 gRPC messages: grpc-js alone needs seconds for that many in one process on a loaded two-core machine.
  it("returns all 100,000 numbered lines in order, none missing, labelled with allocation, service and stream", { timeout: 180_000 }, async () => {
    await numberedReady();
    const lines = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT }));
    expectNumbered(lines, 1, total);
    expect(new Set(lines.map((l) => l.allocId))).toEqual(new Set([allocId]));
    expect(lines.every((l) => l.serviceName === "app" && l.stream === LogStream.STDOUT && l.timestamp)).toBe(true);
  });

  it("tail=10 returns exactly the last 10 lines", async () => {
    await numberedReady();
    const lines = await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 10, stream: LogStream.STDOUT }));
    expectNumbered(lines, total - 9, total);
  });

  it("reads stdout and stderr together, or stderr alone", async () => {
    await numberedReady();
    const both = await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 1 }));
    expect(both.map((l) => [l.stream, l.line]).sort()).toEqual([
      [LogStream.STDOUT, String(total)],
      [LogStream.STDERR, "oops"],
    ].sort());
    const err = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDERR }));
    expect(err.map((l) => l.line)).toEqual(["oops"]);
  });

  it("rejects a malformed cursor and an unknown service with INVALID_ARGUMENT, a missing instance with NOT_FOUND", async () => {
    await numberedReady();
    await expect(collectLogs(stack().provider.client.logs({ instanceId: instance, cursor: "garbage!" }))).rejects.toMatchObject({ code: 3 });
    await expect(collectLogs(stack().provider.client.logs({ instanceId: instance, serviceName: "nope" }))).rejects.toMatchObject({ code: 3 });
    await expect(collectLogs(stack().provider.client.logs({ instanceId: "does-not-exist" }))).rejects.toMatchObject({ code: 5 });
  });
});

describe("Logs resume", () => {
  const instance = newInstanceId("resume");
  const count = 20_000;
  let ready = false;

  async function linesReady() {
    if (ready) return;
    await runInstance(stack().agent, instance, { script: `seq 1 ${count}; exec sleep 3600` });
    await until(async () => (await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 1, stream: LogStream.STDOUT })))[0]?.line === String(count), "all lines written");
    ready = true;
  }

  it("a new client resuming from a cursor gets every later line exactly once", async () => {
    await linesReady();
    const first = await collectLogs(stack().provider.client.logs({ instanceId: instance }), 12_345);
    expectNumbered(first, 1, 12_345);
    const { createProviderClient } = await import("../helpers/provider-client.js");
    const other = createProviderClient(stack().provider.address);
    try {
      const rest = await collectLogs(other.logs({ instanceId: instance, cursor: first.at(-1)!.cursor }));
      expectNumbered(rest, 12_346, count);
    } finally {
      other.close();
    }
  });

  it("survives upstream resets and truncated frames mid-stream without loss or duplicates", async () => {
    await linesReady();
    stack().agent.faults.set({ resetStreamAfterBytes: { bytes: 40_000, pathPrefix: "/v1/client/fs/logs", once: true } });
    try {
      expectNumbered(await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT })), 1, count);
      stack().agent.faults.set({ truncateFrame: { pathPrefix: "/v1/client/fs/logs", once: true } });
      expectNumbered(await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT })), 1, count);
    } finally {
      stack().agent.faults.clear();
    }
  });
});

describe("Logs follow", () => {
  it("sees lines written after it started and ends when the task exits", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-follow-"));
    const trigger = join(dir, "go");
    const instance = newInstanceId("follow");
    const script = `echo ready; while [ ! -f ${trigger} ]; do sleep 0.05; done; i=1; while [ $i -le 20 ]; do echo line$i; i=$((i+1)); sleep 0.02; done`;
    const [allocId] = await runInstance(stack().agent, instance, { script });
    const seen: string[] = [];
    for await (const r of stack().provider.client.logs({ instanceId: instance, follow: true, stream: LogStream.STDOUT })) {
      seen.push(r.line);
      // Only once the plugin delivered "ready" does the task write the rest: those lines are new to the stream.
      if (r.line === "ready") writeFileSync(trigger, "");
    }
    expect(existsSync(trigger)).toBe(true);
    expect(seen).toEqual(["ready", ...Array.from({ length: 20 }, (_, i) => `line${i + 1}`)]);
    expect(["complete", "failed"]).toContain(await allocStatus(stack().agent, allocId!));
  });

  it("labels lines of all 3 allocations and ends when all of them exit", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-three-"));
    const trigger = join(dir, "go");
    const instance = newInstanceId("three");
    const script = `echo "$NOMAD_ALLOC_ID start"; while [ ! -f ${trigger} ]; do sleep 0.05; done; for i in 1 2 3; do echo "$NOMAD_ALLOC_ID $i"; done`;
    const allocs = await runInstance(stack().agent, instance, { script }, 3);
    const seen: LogsResponse[] = [];
    for await (const r of stack().provider.client.logs({ instanceId: instance, follow: true, stream: LogStream.STDOUT })) {
      seen.push(r);
      if (seen.length === 3) writeFileSync(trigger, "");
    }
    expect(new Set(seen.map((r) => r.allocId))).toEqual(new Set(allocs));
    for (const r of seen) expect(r.line.split(" ")[0]).toBe(r.allocId);
    for (const a of allocs) expect(seen.filter((r) => r.allocId === a).map((r) => r.line.split(" ")[1])).toEqual(["start", "1", "2", "3"]);
  });

  it("picks up an allocation added by scaling while following", async () => {
    const instance = newInstanceId("scale");
    const script = 'while :; do echo "$NOMAD_ALLOC_ID tick"; sleep 0.1; done';
    const [first] = await runInstance(stack().agent, instance, { script });
    const seen = new Set<string>();
    let scaled: Promise<string[]> | undefined;
    for await (const r of stack().provider.client.logs({ instanceId: instance, follow: true, stream: LogStream.STDOUT })) {
      expect(r.line).toBe(`${r.allocId} tick`);
      seen.add(r.allocId);
      scaled ??= runInstance(stack().agent, instance, { script }, 2);
      if (seen.size === 2) break;
    }
    const allocs = await scaled!;
    expect(allocs).toContain(first);
    expect(seen).toEqual(new Set(allocs));
  });

  it("since drops lines observed before it; a past since filters nothing", async () => {
    const instance = newInstanceId("since");
    await runInstance(stack().agent, instance, { script: "seq 1 5; exec sleep 3600" });
    await until(async () => (await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 1 })))[0]?.line === "5", "lines written");
    const past = { seconds: BigInt(Math.floor(Date.now() / 1000) - 3600), nanos: 0 };
    const future = { seconds: BigInt(Math.floor(Date.now() / 1000) + 3600), nanos: 0 };
    expect((await collectLogs(stack().provider.client.logs({ instanceId: instance, since: past }))).map((r) => r.line)).toEqual(["1", "2", "3", "4", "5"]);
    expect(await collectLogs(stack().provider.client.logs({ instanceId: instance, since: future }))).toEqual([]);
  });
});
