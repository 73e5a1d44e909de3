// The gRPC transport: errors reach clients as the right status, cancel/deadline abort the handler's signal, and
// streams (server and bidi) deliver every message.

import { afterEach, describe, expect, it } from "vitest";
import { status } from "@grpc/grpc-js";
import { Code, ProviderError } from "../../src/errors.js";
import type { RpcFamily } from "../../src/provider/provider-service.js";
import { allocSplicedBytes } from "../../src/grpc/spliced-bytes.js";
import { startInProcessProvider, type InProcessProvider } from "../helpers/in-process-provider.js";

let provider: InProcessProvider | undefined;
afterEach(async () => {
  await provider?.close();
  provider = undefined;
});

function start(family: RpcFamily) {
  // Nothing here talks to Nomad: the address only has to parse.
  return startInProcessProvider({ nomadAddress: "http://127.0.0.1:9", families: [family] }).then((p) => (provider = p));
}

function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason), { once: true }));
}

describe("grpc bridge", () => {
  it("sends a ProviderError's code and message, and hides unexpected errors behind INTERNAL", async () => {
    const p = await start({
      capabilities: [],
      handlers: () => ({
        status: async (req) => {
          if (req.instanceId === "missing") throw new ProviderError(Code.NotFound, "instance missing not found");
          throw new Error("secret internal detail at /home/x");
        },
      }),
    });
    await expect(p.client.status({ instanceId: "missing" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: "instance missing not found",
    });
    const err = await p.client.status({ instanceId: "boom" }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: status.INTERNAL });
    expect((err as { details: string }).details).not.toContain("secret");
  });

  it("answers UNIMPLEMENTED for methods no family registers", async () => {
    const p = await start({ capabilities: [], handlers: () => ({}) });
    await expect(p.client.provision({ instanceId: "x" })).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
    const stream = p.client.logs({ instanceId: "x" });
    await expect((async () => { for await (const _ of stream) void _; })()).rejects.toMatchObject({ code: status.UNIMPLEMENTED });
  });

  it("aborts the handler's signal when the deadline passes", async () => {
    let reason: Promise<unknown> | undefined;
    const p = await start({
      capabilities: [],
      handlers: () => ({
        status: async (_req, ctx) => {
          reason = aborted(ctx.signal);
          await reason;
          throw new ProviderError(Code.Unavailable, "nomad call aborted");
        },
      }),
    });
    await expect(p.client.status({ instanceId: "x" }, { deadlineMs: 150 })).rejects.toMatchObject({ code: status.DEADLINE_EXCEEDED });
    expect(await reason).toMatchObject({ code: Code.DeadlineExceeded });
  });

  it("aborts a server stream's signal when the client stops reading", async () => {
    let reason: Promise<unknown> | undefined;
    const p = await start({
      capabilities: [],
      handlers: () => ({
        async *watchStatus(req, ctx) {
          reason = aborted(ctx.signal);
          for (let i = 0; !ctx.signal.aborted; i++) {
            yield { status: { message: `${req.instanceId} ${i}` } };
            await new Promise((r) => setImmediate(r));
          }
        },
      }),
    });
    const seen: string[] = [];
    for await (const msg of p.client.watchStatus({ instanceId: "a" })) {
      seen.push(msg.status?.message ?? "");
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(["a 0", "a 1", "a 2"]);
    expect(await reason).toMatchObject({ code: Code.Canceled });
  });

  it("keeps every message of a large server stream in order under backpressure", async () => {
    const line = "x".repeat(64 * 1024);
    const p = await start({
      capabilities: [],
      handlers: () => ({
        async *logs() {
          for (let i = 0; i < 400; i++) yield { line: `${i} ${line}` };
        },
      }),
    });
    let n = 0;
    for await (const msg of p.client.logs({ instanceId: "x" })) {
      expect(msg.line.startsWith(`${n} `)).toBe(true);
      n++;
    }
    expect(n).toBe(400);
  });

  it("holds only about two large messages for a client slower than the stream", async () => {
    // 1 MiB messages to a client with grpc-js's 64 KiB window that takes its time: whatever the handler has produced
    // and the client not yet read sits in the plugin's memory. grpc-js alone would queue 16 messages before pushing back.
    const batch = new Uint8Array(1024 * 1024).fill(120);
    let produced = 0;
    const p = await start({
      capabilities: [],
      handlers: () => ({
        async *logs() {
          for (let i = 0; i < 40; i++) {
            produced++;
            yield { lines: batch };
          }
        },
      }),
    });
    let consumed = 0;
    let held = 0;
    for await (const msg of p.client.logs({ instanceId: "x" })) {
      expect(msg.lines.length).toBe(batch.length);
      held = Math.max(held, produced - ++consumed);
      await new Promise((r) => setImmediate(r));
    }
    expect(consumed).toBe(40);
    expect(held).toBeLessThanOrEqual(4);
  });

  it("frames pooled batch bytes in place and reuses them only once sent: every message arrives intact", async () => {
    // Each message fills recycled memory with its own byte; reusing a buffer grpc-js still held would show up as
    // another message's byte inside this one.
    const sizes = Array.from({ length: 30 }, (_, i) => 100_000 + ((i * 137_777) % 900_000));
    const p = await start({
      capabilities: [],
      handlers: () => ({
        async *logs() {
          for (const [i, size] of sizes.entries()) yield { allocId: `alloc-${i}`, lines: allocSplicedBytes(size).fill(i + 1) };
        },
      }),
    });
    let i = 0;
    for await (const msg of p.client.logs({ instanceId: "x" })) {
      expect(msg.allocId).toBe(`alloc-${i}`);
      expect(msg.lines.length).toBe(sizes[i]);
      expect(msg.lines.every((b) => b === i + 1)).toBe(true);
      i++;
      await new Promise((r) => setImmediate(r));
    }
    expect(i).toBe(sizes.length);
  });

  it("carries a bidi conversation both ways until the client half-closes", async () => {
    const p = await start({
      capabilities: [],
      handlers: () => ({
        async *execStream(requests) {
          for await (const req of requests) {
            if (req.request.case === "stdin") yield { response: { case: "stdout", value: req.request.value } };
          }
          yield { response: { case: "exited", value: { exitCode: 7 } } };
        },
      }),
    });
    const call = p.client.execStream();
    const out: string[] = [];
    call.send({ request: { case: "stdin", value: new TextEncoder().encode("one") } });
    call.send({ request: { case: "stdin", value: new TextEncoder().encode("two") } });
    call.end();
    let exit: number | undefined;
    for await (const msg of call.responses) {
      if (msg.response.case === "stdout") out.push(new TextDecoder().decode(msg.response.value));
      if (msg.response.case === "exited") exit = msg.response.value.exitCode;
    }
    expect(out).toEqual(["one", "two"]);
    expect(exit).toBe(7);
  });
});
