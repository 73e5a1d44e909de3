// readLog against a minimal fake of Nomad's fs/logs endpoint that drops connections: the reader must resume at the
// exact byte it stopped at (nothing lost, nothing repeated) and treat a silent upstream as dead.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { readLog } from "../../src/nomad/logs.js";
import { tailLines } from "../../src/provider/log-lines.js";
import { LogFollowHub } from "../../src/provider/log-follow-hub.js";

const file = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `line ${i + 1}\n`).join(""));

interface Fake {
  nomad: NomadHttp;
  server: Server;
  requests: URLSearchParams[];
}

let fake: Fake | undefined;
afterEach(async () => {
  await fake?.nomad.close();
  await new Promise((r) => fake?.server.close(r));
  fake = undefined;
});

/** Serves `file` as task "web" stdout; `behave(n)` decides how the n-th request misbehaves. */
async function startFake(behave: (n: number) => "reset" | "silent" | "ok" | "truncate"): Promise<Fake> {
  const requests: URLSearchParams[] = [];
  const server = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams;
    requests.push(q);
    const mode = behave(requests.length);
    if (mode === "silent") {
      res.writeHead(200);
      res.flushHeaders();
      return;
    }
    const offset = Number(q.get("offset") ?? 0);
    let pos = q.get("origin") === "end" ? Math.max(0, file.length - offset) : Math.min(offset, file.length);
    // Like Nomad, plain=true sends the bytes alone: no frames, heartbeats or file events.
    const plain = q.get("plain") === "true";
    res.writeHead(200, { "content-type": plain ? "text/plain" : "application/json" });
    let frames = 0;
    while (pos < file.length) {
      const data = file.subarray(pos, Math.min(file.length, pos + 1000));
      pos += data.length;
      res.write(plain ? data : JSON.stringify({ Offset: pos, Data: data.toString("base64"), File: "alloc/logs/web.stdout.0" }));
      if (++frames % 7 === 0 && !plain) res.write("{}");
      if (mode === "reset" && frames === 40) {
        // Cut the connection after the bytes so far reached the client, as a proxy or a crashing agent would.
        res.write("", () => res.socket?.destroy());
        return;
      }
    }
    if (q.get("follow") !== "true") return void res.end();
    if (mode === "truncate") {
      // Someone truncated the file (copytruncate) and the task went on writing from 0.
      const after = Buffer.from("after truncation\n");
      res.write(JSON.stringify({ Offset: pos, File: "alloc/logs/web.stdout.0", FileEvent: "file truncated" }));
      res.write(JSON.stringify({ Offset: after.length, Data: after.toString("base64"), File: "alloc/logs/web.stdout.0" }));
    }
    // Like Nomad, a follow stream never ends: it beats until the client goes away.
    const beat = setInterval(() => res.write("{}"), 100);
    res.on("close", () => clearInterval(beat));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  fake = { nomad, server, requests };
  return fake;
}

async function collect(it: AsyncIterable<{ data: Buffer }>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c.data);
  return Buffer.concat(parts);
}

describe("reading Nomad logs through connection failures", () => {
  it("resumes after resets at the exact byte: nothing lost, nothing duplicated", async () => {
    const f = await startFake((n) => (n <= 3 ? "reset" : "ok"));
    const data = await collect(readLog(f.nomad, "a1", { position: { file: 0, off: 0 } }, { task: "web", type: "stdout", follow: false, retryDelayMs: 1 }));
    expect(data.equals(file)).toBe(true);
    expect(f.requests.map((q) => Number(q.get("offset")))).toEqual([0, 40_000, 80_000, 120_000]);
  });

  it("treats an upstream without heartbeats as dead and reconnects", async () => {
    const f = await startFake((n) => (n === 1 ? "silent" : "ok"));
    const data = await collect(
      readLog(f.nomad, "a1", { position: { file: 0, off: 0 } }, { task: "web", type: "stdout", follow: false, idleTimeoutMs: 300, retryDelayMs: 1 }),
    );
    expect(data.equals(file)).toBe(true);
    expect(f.requests).toHaveLength(2);
  });

  it("gives up with UNAVAILABLE when every attempt fails before any data", async () => {
    const f = await startFake(() => "silent");
    const reading = collect(readLog(f.nomad, "a1", { position: { file: 0, off: 0 } }, { task: "web", type: "stdout", follow: false, idleTimeoutMs: 100, retryDelayMs: 1, maxRetries: 2 }));
    await expect(reading).rejects.toMatchObject({ code: 14 });
    expect(f.requests).toHaveLength(3);
  });

  it("tail returns exactly the last N lines with the position before them", async () => {
    const f = await startFake(() => "ok");
    const target = { allocId: "a1", task: "web", type: "stdout" as const };
    for (const n of [1, 10, 500, 19_999, 20_000, 50_000]) {
      const tail = await tailLines(f.nomad, target, n, true, new AbortController().signal);
      const expected = Array.from({ length: Math.min(n, 20_000) }, (_, i) => `line ${20_000 - Math.min(n, 20_000) + i + 1}`);
      expect(tail.lines.map((l) => l.text)).toEqual(expected);
      expect(tail.end).toEqual({ file: 0, off: file.length });
      const before = file.subarray(0, tail.start.off).toString();
      expect(before === "" || before.endsWith("\n")).toBe(true);
      expect(file.subarray(tail.start.off).toString().split("\n")[0]).toBe(expected[0]);
    }
  });

  it("a follower joining a shared upstream catches up on its own and gets every byte once", async () => {
    const f = await startFake(() => "ok");
    const hub = new LogFollowHub(f.nomad);
    const stop = new AbortController();
    const signal = new AbortController().signal;
    const target = { allocId: "a1", task: "web", type: "stdout" as const };
    const first = hub.follow(target, { file: 0, off: 0 }, stop.signal, signal)[Symbol.asyncIterator]();
    const got1: Buffer[] = [];
    let size1 = 0;
    while (size1 < 100_000) {
      const c = (await first.next()).value!;
      got1.push(c.data);
      size1 += c.data.length;
    }
    expect(hub.upstreamCount).toBe(1);
    const before = f.requests.length;
    // The second follower starts behind the shared upstream and needs its own catch-up read.
    const second = hub.follow(target, { file: 0, off: 10 }, stop.signal, signal)[Symbol.asyncIterator]();
    const got2: Buffer[] = [];
    let size = 0;
    while (size < file.length - 10) {
      const c = (await second.next()).value!;
      got2.push(c.data);
      size += c.data.length;
    }
    expect(Buffer.concat(got2).equals(file.subarray(10))).toBe(true);
    expect(f.requests.slice(before).map((q) => [q.get("follow"), q.get("offset")])).toEqual([["false", "10"]]);
    while (size1 < file.length) {
      const c = (await first.next()).value!;
      got1.push(c.data);
      size1 += c.data.length;
    }
    stop.abort();
    expect((await first.next()).done).toBe(true);
    expect((await second.next()).done).toBe(true);
    expect(Buffer.concat(got1).equals(file)).toBe(true);
    expect(hub.upstreamCount).toBe(0);
  });

  it("a follower too slow for the shared upstream is detached and catches up alone, losing nothing (bounded queue)", async () => {
    const f = await startFake(() => "ok");
    const hub = new LogFollowHub(f.nomad, { queueLimitBytes: 8 * 1024 });
    const stop = new AbortController();
    const signal = new AbortController().signal;
    const target = { allocId: "a1", task: "web", type: "stdout" as const };
    const fast = hub.follow(target, { file: 0, off: 0 }, stop.signal, signal)[Symbol.asyncIterator]();
    const slow = hub.follow(target, { file: 0, off: 0 }, stop.signal, signal)[Symbol.asyncIterator]();
    // The slow follower takes one chunk and then nothing while the shared upstream delivers the whole file.
    const slowParts: Buffer[] = [(await slow.next()).value!.data];
    let fastSize = 0;
    while (fastSize < file.length) fastSize += (await fast.next()).value!.data.length;
    const requestsBefore = f.requests.length;
    let slowSize = slowParts[0]!.length;
    while (slowSize < file.length) {
      const c = (await slow.next()).value!;
      slowParts.push(c.data);
      slowSize += c.data.length;
    }
    expect(Buffer.concat(slowParts).equals(file)).toBe(true);
    // It caught up with a read of its own instead of an unbounded queue.
    expect(f.requests.slice(requestsBefore).some((q) => q.get("follow") === "false")).toBe(true);
    stop.abort();
    await fast.return(undefined);
    await slow.return(undefined);
    expect(hub.upstreamCount).toBe(0);
  });

  it("a truncated file reaches followers although its positions start over", async () => {
    const f = await startFake(() => "truncate");
    const hub = new LogFollowHub(f.nomad);
    const stop = new AbortController();
    const target = { allocId: "a1", task: "web", type: "stdout" as const };
    const it = hub.follow(target, { file: 0, off: 0 }, stop.signal, new AbortController().signal)[Symbol.asyncIterator]();
    let size = 0;
    while (size < file.length) size += (await it.next()).value!.data.length;
    const truncated = (await it.next()).value!;
    expect(truncated).toMatchObject({ truncated: true, start: { file: 0, off: 0 } });
    const after = truncated.data.length > 0 ? truncated : (await it.next()).value!;
    expect(after.data.toString()).toBe("after truncation\n");
    expect(after.end).toEqual({ file: 0, off: 17 });
    stop.abort();
    await it.return(undefined);
  });
});
