// readLog's plain reads (no base64/JSON frames) against a fake of Nomad's fs/logs with rotated files: plain only where
// every byte's position is known (file 0, up to a probed or given end), exact across resets, frames everywhere else.

import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { readLog, type LogChunk } from "../../src/nomad/logs.js";

const lines = (from: number, n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join(""));

interface Fake {
  nomad: NomadHttp;
  server: Server;
  requests: URLSearchParams[];
  files: Buffer[];
}

let fake: Fake | undefined;
afterEach(async () => {
  await fake?.nomad.close();
  await new Promise((r) => fake?.server.close(r));
  fake = undefined;
});

/**
 * Task "web" stdout in rotated files web.stdout.0..n (like Nomad: offset with origin=start counts across the files,
 * origin=end from the end of the newest). `resetPlainAfter` cuts the first plain answer after that many bytes.
 */
async function startFake(files: Buffer[], resetPlainAfter?: number): Promise<Fake> {
  const requests: URLSearchParams[] = [];
  let resets = resetPlainAfter === undefined ? 0 : 1;
  const server = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams;
    requests.push(q);
    const plain = q.get("plain") === "true";
    let offset = Number(q.get("offset") ?? 0);
    let index = 0;
    if (q.get("origin") === "end") {
      index = files.length - 1;
      offset = Math.max(0, files[index]!.length - offset);
    } else {
      while (index < files.length - 1 && offset >= files[index]!.length) offset -= files[index++]!.length;
    }
    res.writeHead(200, { "content-type": plain ? "text/plain" : "application/json" });
    let sent = 0;
    for (; index < files.length; index++, offset = 0) {
      for (let pos = offset; pos < files[index]!.length; ) {
        const data = files[index]!.subarray(pos, pos + 1000);
        pos += data.length;
        if (plain && resets > 0 && sent + data.length > resetPlainAfter!) {
          resets--;
          res.write(data.subarray(0, resetPlainAfter! - sent), () => res.socket?.destroy());
          return;
        }
        sent += data.length;
        res.write(plain ? data : JSON.stringify({ Offset: pos, Data: data.toString("base64"), File: `alloc/logs/web.stdout.${index}` }));
      }
    }
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
  fake = { nomad, server, requests, files };
  return fake;
}

async function collect(it: AsyncIterable<LogChunk>): Promise<LogChunk[]> {
  const out: LogChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

const read = { task: "web", type: "stdout" as const, follow: false, retryDelayMs: 1 };
const kinds = (f: Fake) => f.requests.map((q) => `${q.get("plain") === "true" ? "plain" : "framed"} ${q.get("origin")} ${q.get("offset")}`);

describe("plain log reads", () => {
  it("reads file 0 plain after a one-byte probe, with exact positions, resuming at the exact byte after a reset", async () => {
    const file = lines(1, 5000);
    const f = await startFake([file], 12_345);
    const chunks = await collect(readLog(f.nomad, "a1", { position: { file: 0, off: 100 } }, { ...read, plain: true }));
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(file.subarray(100))).toBe(true);
    for (let i = 1; i < chunks.length; i++) expect(chunks[i]!.start).toEqual(chunks[i - 1]!.end);
    expect(chunks.at(-1)!.end).toEqual({ file: 0, off: file.length });
    // The probe and the plain read go out together; the retry after the reset starts at the exact byte.
    expect(kinds(f).slice(0, 2).sort()).toEqual(["framed end 1", "plain start 100"]);
    expect(kinds(f).slice(2)).toEqual([`plain start ${100 + 12_345}`]);
  });

  it("stops at a given end in file 0 without a probe", async () => {
    const file = lines(1, 5000);
    const f = await startFake([file]);
    const chunks = await collect(readLog(f.nomad, "a1", { position: { file: 0, off: 10 } }, { ...read, plain: { until: { file: 0, off: 20_000 } } }));
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(file.subarray(10, 20_000))).toBe(true);
    expect(chunks.at(-1)!.end).toEqual({ file: 0, off: 20_000 });
    expect(kinds(f)).toEqual(["plain start 10"]);
  });

  it("uses frames once the log was rotated, so every byte keeps its file", async () => {
    const files = [lines(1, 3000), lines(3001, 3000)];
    const f = await startFake(files);
    const chunks = await collect(readLog(f.nomad, "a1", { position: { file: 0, off: 0 } }, { ...read, plain: true }));
    expect(Buffer.concat(chunks.map((c) => c.data)).equals(Buffer.concat(files))).toBe(true);
    expect(chunks.filter((c) => c.start.file === 1).map((c) => c.data.toString()).join("")).toBe(files[1]!.toString());
    expect(chunks.at(-1)!.end).toEqual({ file: 1, off: files[1]!.length });
    // (The plain request sent along with the probe is dropped unused.)
    expect(kinds(f).filter((k) => k.startsWith("framed"))).toEqual(["framed end 1", "framed start 0"]);
    // A given end outside file 0 is no reason to read plain either.
    f.requests.length = 0;
    await collect(readLog(f.nomad, "a1", { position: { file: 0, off: 0 } }, { ...read, plain: { until: { file: 1, off: 10 } } }));
    expect(kinds(f)).toEqual(["framed start 0"]);
  });

  it("reads nothing when the position is already at the probed end", async () => {
    const file = lines(1, 10);
    const f = await startFake([file]);
    expect(await collect(readLog(f.nomad, "a1", { position: { file: 0, off: file.length } }, { ...read, plain: true }))).toEqual([]);
    expect(kinds(f).filter((k) => k.startsWith("framed"))).toEqual(["framed end 1"]);
  });
});
