// The plugin's yamux server side against frames built by hand from hashicorp/yamux spec.md (so a mistake shared by
// both ends of our own module cannot hide), and against our client role for flow control with large messages.

import { connect, createServer, type Server, type Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { YamuxSession, type YamuxStream } from "../../src/plugin/yamux-session.js";

interface Frame {
  version: number;
  type: number;
  flags: number;
  streamId: number;
  length: number;
  body?: Buffer;
}

function frame(type: number, flags: number, streamId: number, length: number, body?: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt8(0, 0);
  head.writeUInt8(type, 1);
  head.writeUInt16BE(flags, 2);
  head.writeUInt32BE(streamId, 4);
  head.writeUInt32BE(body ? body.length : length, 8);
  return body ? Buffer.concat([head, body]) : head;
}

/** Reads frames the server writes, one at a time. */
function frameReader(socket: Socket) {
  let buffered = Buffer.alloc(0);
  const waiters: Array<() => void> = [];
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    waiters.splice(0).forEach((wake) => wake());
  });
  socket.on("close", () => waiters.splice(0).forEach((wake) => wake()));
  return async function next(): Promise<Frame | undefined> {
    for (;;) {
      if (buffered.length >= 12) {
        const length = buffered.readUInt32BE(8);
        const type = buffered.readUInt8(1);
        const total = 12 + (type === 0 ? length : 0);
        if (buffered.length >= total) {
          const f: Frame = {
            version: buffered.readUInt8(0),
            type,
            flags: buffered.readUInt16BE(2),
            streamId: buffered.readUInt32BE(4),
            length,
            body: type === 0 ? buffered.subarray(12, total) : undefined,
          };
          buffered = buffered.subarray(total);
          return f;
        }
      }
      if (socket.destroyed) return undefined;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
}

let server: Server | undefined;
let dir: string | undefined;
afterEach(() => {
  server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = dir = undefined;
});

/** A yamux server session behind a unix socket; returns the raw client socket and the streams the server accepted. */
async function serverSession(onStream: (stream: YamuxStream) => void) {
  dir = mkdtempSync(join(tmpdir(), "yamux-"));
  const path = join(dir, "s.sock");
  const errors: (Error | undefined)[] = [];
  server = createServer((socket) => new YamuxSession(socket, { role: "server", onStream, onClose: (e) => errors.push(e) }));
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  const socket = connect(path);
  await new Promise<void>((resolve) => socket.once("connect", resolve));
  return { socket, errors };
}

describe("yamux server session", () => {
  it("acknowledges a stream the peer opens, answers pings, and delivers data in order", async () => {
    const received: Buffer[] = [];
    const { socket } = await serverSession((stream) => stream.on("data", (d: Buffer) => received.push(d)));
    const next = frameReader(socket);

    socket.write(frame(1, 1 /* SYN */, 1, 0));
    expect(await next()).toMatchObject({ version: 0, type: 1, flags: 2 /* ACK */, streamId: 1, length: 0 });

    socket.write(frame(2, 1, 0, 0xdeadbeef));
    expect(await next()).toMatchObject({ type: 2, flags: 2, streamId: 0, length: 0xdeadbeef });

    socket.write(Buffer.concat([frame(0, 0, 1, 0, Buffer.from("hello ")), frame(0, 4 /* FIN */, 1, 0, Buffer.from("world"))]));
    // The server half-closes back when its side ends, and the data arrived whole.
    socket.write(frame(2, 1, 0, 7));
    expect(await next()).toMatchObject({ type: 2, flags: 2, length: 7 });
    expect(Buffer.concat(received).toString()).toBe("hello world");
  });

  it("grants window back as it reads, and ends the session when the peer sends past its window", async () => {
    const { socket, errors } = await serverSession((stream) => stream.resume());
    const next = frameReader(socket);
    socket.write(frame(1, 1, 1, 0));
    expect(await next()).toMatchObject({ type: 1, flags: 2, streamId: 1 });

    // 256 KiB, exactly the initial window: allowed, and once read, granted back as one update of at least half.
    socket.write(frame(0, 0, 1, 0, Buffer.alloc(256 * 1024, 1)));
    const update = await next();
    expect(update).toMatchObject({ type: 1, flags: 0, streamId: 1 });
    expect(update!.length).toBeGreaterThanOrEqual(128 * 1024);

    // Past the window (what is left plus one byte): a protocol error, Go Away code 1, and the session ends.
    socket.write(frame(0, 0, 1, 0, Buffer.alloc(update!.length + 1, 2)));
    expect(await next()).toMatchObject({ type: 3, streamId: 0, length: 1 });
    await new Promise<void>((resolve) => socket.once("close", () => resolve()));
    expect(errors[0]?.message).toMatch(/past its receive window/);
  });

  it("carries messages far larger than the window both ways, intact, when each side only reads as it goes", async () => {
    const size = 3 * 1024 * 1024 + 17;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = (i * 31 + (i >> 8)) & 0xff;
    // An echo server: every stream writes back what it reads.
    const { socket } = await serverSession((stream) => stream.pipe(stream));
    const client = new YamuxSession(socket, { role: "client" });
    const stream = client.openStream();
    const chunks: Buffer[] = [];
    const done = new Promise<void>((resolve) => stream.on("end", resolve));
    stream.on("data", (d: Buffer) => chunks.push(d));
    stream.end(payload);
    await done;
    expect(Buffer.concat(chunks).equals(payload)).toBe(true);
    client.close();
  });
});
