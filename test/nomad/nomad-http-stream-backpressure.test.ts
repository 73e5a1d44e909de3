// A streaming answer (a log read) that the plugin reads more slowly than Nomad sends it: the plugin holds at most about
// a megabyte of it and stops reading the socket, so Nomad is held back by TCP instead of the plugin's memory growing;
// once the reader goes on, every byte arrives intact and in order. Breaking off mid-body closes the upstream request.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { until } from "../helpers/dev-agent.js";

const total = 48 * 1024 * 1024;
const piece = 64 * 1024;
let server: Server;
let nomad: NomadHttp;
/** What the server managed to hand to its socket, and whether it is waiting for the socket to drain. */
const sender = { written: 0, blocked: false, closed: false };
let expectedDigest = "";

/** Piece i of the body: its index repeated, so a lost, repeated or reordered piece changes the digest. */
function pieceAt(i: number): Buffer {
  return Buffer.alloc(piece, `${i}:`);
}

function send(res: ServerResponse): void {
  res.writeHead(200, { "content-type": "application/octet-stream" });
  res.on("close", () => (sender.closed = true));
  let i = 0;
  const more = () => {
    while (i < total / piece) {
      const ok = res.write(pieceAt(i++));
      sender.written += piece;
      if (!ok) {
        sender.blocked = true;
        res.once("drain", () => {
          sender.blocked = false;
          more();
        });
        return;
      }
    }
    res.end();
  };
  more();
}

beforeAll(async () => {
  const hash = createHash("sha256");
  for (let i = 0; i < total / piece; i++) hash.update(pieceAt(i));
  expectedDigest = hash.digest("hex");
  server = createServer((_req, res) => send(res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  nomad = new NomadHttp({ address: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await nomad.close().catch(() => undefined);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe("NomadHttp streaming body", () => {
  it("stops reading from Nomad while its reader lags, then delivers every byte in order", async () => {
    Object.assign(sender, { written: 0, blocked: false, closed: false });
    const { body } = await nomad.stream("GET", "/v1/client/fs/logs/a1");
    // Nobody reads: the plugin stops taking bytes at about a megabyte, the kernel's buffers fill, the server waits.
    await until(async () => body.paused, "the upstream request paused");
    expect(body.queuedBytes).toBeLessThanOrEqual(1024 * 1024 + piece);
    await until(async () => sender.blocked, "the server blocked on a full socket");
    expect(sender.written).toBeLessThan(total / 2);
    expect(body.queuedBytes).toBeLessThanOrEqual(1024 * 1024 + piece);

    const hash = createHash("sha256");
    let received = 0;
    let maxQueued = 0;
    let empty = 0;
    for await (const chunk of body) {
      // undici resumes a paused parser with an empty chunk; a reader must never see one (it reads as "nothing left").
      if (chunk.length === 0) empty++;
      hash.update(chunk);
      received += chunk.length;
      maxQueued = Math.max(maxQueued, body.queuedBytes);
    }
    expect(empty).toBe(0);
    expect(received).toBe(total);
    expect(hash.digest("hex")).toBe(expectedDigest);
    expect(maxQueued).toBeLessThanOrEqual(1024 * 1024 + piece);
  });

  it("a reader that stops early ends the upstream request", async () => {
    Object.assign(sender, { written: 0, blocked: false, closed: false });
    const { body } = await nomad.stream("GET", "/v1/client/fs/logs/a1");
    for await (const chunk of body) {
      expect(chunk.length).toBeGreaterThan(0);
      break;
    }
    await until(async () => sender.closed, "the server saw the request go away");
    expect(sender.written).toBeLessThan(total);
  });
});
