// Batch mode (LogsRequest.max_batch_bytes) through the plugin against the dev agent with real processes: the same
// lines as single-line mode, exactly once and in order, resumable by a batch's cursor, and never held back while
// following.
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { LogStream, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { until } from "../helpers/dev-agent.js";
import { collectLogs, newInstanceId, runInstance, runNumberedInstance, useObserveStack } from "../helpers/observe-stack.js";
import { createProviderClient } from "../helpers/provider-client.js";

const stack = useObserveStack();
const total = 20_000;

function linesOf(batch: LogsResponse): string[] {
  const text = Buffer.from(batch.lines).toString("utf8");
  if (!text.endsWith("\n")) throw new Error(`batch does not end with a newline: ${JSON.stringify(text.slice(-20))}`);
  return text.slice(0, -1).split("\n");
}

function expectNumbered(lines: string[], from: number, to: number): void {
  expect(lines.length).toBe(to - from + 1);
  for (let i = 0; i < lines.length; i++) {
    if (lines[i] !== String(from + i)) throw new Error(`line ${i}: expected ${from + i}, got ${JSON.stringify(lines[i])}`);
  }
}

describe("Logs in batches", () => {
  const instance = newInstanceId("batched");
  let allocId = "";

  async function numberedReady() {
    allocId ||= await runNumberedInstance(stack(), instance, total, "echo oops >&2");
  }

  it("delivers every line exactly once and in order, in labelled batches within max_batch_bytes", async () => {
    await numberedReady();
    const batches = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 4096 }));
    expect(batches.length).toBeGreaterThan(20);
    for (const b of batches) {
      expect(b.lines.length).toBeLessThanOrEqual(4096);
      expect(b.line).toBe("");
      expect([b.allocId, b.serviceName, b.stream, Boolean(b.timestamp), Boolean(b.cursor)]).toEqual([allocId, "app", LogStream.STDOUT, true, true]);
    }
    expectNumbered(batches.flatMap(linesOf), 1, total);
    // Large batches (the transport encodes big bytes fields its own way) arrive intact; the size asked for is capped.
    const big = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 1 << 30 }));
    expect(Math.max(...big.map((b) => b.lines.length))).toBeGreaterThan(32 * 1024);
    expect(Math.max(...big.map((b) => b.lines.length))).toBeLessThanOrEqual(1 << 20);
    expectNumbered(big.flatMap(linesOf), 1, total);
  });

  it("a new client resuming from a batch's cursor gets exactly the lines after that batch, in either mode", async () => {
    await numberedReady();
    const first = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 1000 }), 7);
    const delivered = first.flatMap(linesOf);
    expectNumbered(delivered, 1, delivered.length);
    const other = createProviderClient(stack().provider.address);
    try {
      const cursor = first.at(-1)!.cursor;
      const batched = await collectLogs(other.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 65536, cursor }));
      expectNumbered(batched.flatMap(linesOf), delivered.length + 1, total);
      const single = await collectLogs(other.logs({ instanceId: instance, stream: LogStream.STDOUT, cursor }), 3);
      expectNumbered(single.map((r) => r.line), delivered.length + 1, delivered.length + 3);
      // And a single-line cursor resumes a batch client.
      const afterSingle = await collectLogs(other.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 65536, cursor: single.at(-1)!.cursor }));
      expectNumbered(afterSingle.flatMap(linesOf), delivered.length + 4, total);
    } finally {
      other.close();
    }
  });

  it("tail=10 gives exactly the last 10 lines; both streams come labelled", async () => {
    await numberedReady();
    const tail = await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 10, stream: LogStream.STDOUT, maxBatchBytes: 65536 }));
    expectNumbered(tail.flatMap(linesOf), total - 9, total);
    const both = await collectLogs(stack().provider.client.logs({ instanceId: instance, tail: 1, maxBatchBytes: 65536 }));
    expect(both.map((b) => [b.stream, linesOf(b)]).sort()).toEqual([[LogStream.STDOUT, [String(total)]], [LogStream.STDERR, ["oops"]]].sort());
  });

  it("survives an upstream reset mid-stream without loss or duplicates", async () => {
    await numberedReady();
    stack().agent.faults.set({ resetStreamAfterBytes: { bytes: 40_000, pathPrefix: "/v1/client/fs/logs", once: true } });
    try {
      const batches = await collectLogs(stack().provider.client.logs({ instanceId: instance, stream: LogStream.STDOUT, maxBatchBytes: 8192 }));
      expectNumbered(batches.flatMap(linesOf), 1, total);
    } finally {
      stack().agent.faults.clear();
    }
  });

  it("a client slower than Nomad still gets every line of a large log", async () => {
    // ~10 MB: far more than the plugin holds for a lagging client, so its upstream read pauses and resumes many times.
    const lines = 1_400_000;
    const big = newInstanceId("big");
    await runNumberedInstance(stack(), big, lines);
    const batches = await collectLogs(stack().provider.client.logs({ instanceId: big, stream: LogStream.STDOUT, maxBatchBytes: 1 << 20 }));
    expectNumbered(batches.flatMap(linesOf), 1, lines);
  });

  it("rejects a negative max_batch_bytes with INVALID_ARGUMENT", async () => {
    await numberedReady();
    await expect(collectLogs(stack().provider.client.logs({ instanceId: instance, maxBatchBytes: -1 }))).rejects.toMatchObject({ code: 3 });
  });
});

describe("Logs in batches while following", () => {
  it("a line written while following arrives without waiting for a batch to fill, and the stream ends with the task", async () => {
    const dir = mkdtempSync(join(tmpdir(), "logs-batched-follow-"));
    const gate = (i: number) => join(dir, `go${i}`);
    const script = `echo ready; for i in 1 2 3; do while [ ! -f ${dir}/go$i ]; do sleep 0.02; done; echo line$i; done`;
    const instance = newInstanceId("batched-follow");
    await runInstance(stack().agent, instance, { script });
    const seen: string[] = [];
    const done = (async () => {
      for await (const b of stack().provider.client.logs({ instanceId: instance, follow: true, stream: LogStream.STDOUT, maxBatchBytes: 1 << 20 })) {
        seen.push(...linesOf(b));
      }
    })();
    done.catch(() => undefined);
    await until(async () => seen.includes("ready"), "first line while following", 10_000);
    // Each line is written only after the previous one arrived: a batch held back to fill up would never arrive.
    for (const i of [1, 2, 3]) {
      writeFileSync(gate(i), "");
      await until(async () => seen.includes(`line${i}`), `line${i} while following`, 10_000);
    }
    await done;
    expect(seen).toEqual(["ready", "line1", "line2", "line3"]);
  });
});
