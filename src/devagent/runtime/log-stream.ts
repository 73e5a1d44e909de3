// Streams one log file to an HTTP response like Nomad's FileSystem.Logs: framed (or plain bytes), from an
// offset, optionally following new writes. Following never ends on its own (Nomad keeps the stream open after
// the task dies; the client decides when to stop). Backpressure: the next read only happens once the socket
// has drained the previous frame.

import { watch, type FSWatcher } from "node:fs";
import { open, stat, type FileHandle } from "node:fs/promises";
import type { ServerResponse } from "node:http";
import { encodeFrame, fileDeletedEvent, fileTruncatedEvent, heartbeatFrame, maxFrameData } from "./log-frames.js";

export interface LogStreamOptions {
  path: string;
  /** The file name frames carry, relative to the alloc dir: alloc/logs/<task>.<type>.0 */
  file: string;
  offset: number;
  follow: boolean;
  plain: boolean;
  heartbeatMs: number;
  /** Poll interval backing up fs.watch (which can miss events on some filesystems). */
  pollMs?: number;
}

class Writer {
  closed = false;
  constructor(private readonly res: ServerResponse) {
    res.once("close", () => (this.closed = true));
  }

  /** Writes and waits for the socket to drain, or for the client to go away. */
  async write(chunk: string | Buffer): Promise<void> {
    if (this.closed) return;
    if (this.res.write(chunk)) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        this.res.off("drain", done);
        this.res.off("close", done);
        resolve();
      };
      this.res.once("drain", done);
      this.res.once("close", done);
    });
  }
}

/** Waits for the file to change, a poll tick, or the client to leave. */
function changeOrTick(path: string, res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined;
    const done = () => {
      clearTimeout(timer);
      watcher?.close();
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    try {
      watcher = watch(path, { persistent: false }, done);
      watcher.on("error", done);
    } catch {
      // the file is gone; the next stat reports it
    }
    res.once("close", done);
  });
}

async function readChunk(fh: FileHandle, offset: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(maxFrameData);
  const { bytesRead } = await fh.read(buf, 0, maxFrameData, offset);
  return buf.subarray(0, bytesRead);
}

export async function streamLog(res: ServerResponse, options: LogStreamOptions): Promise<void> {
  const out = new Writer(res);
  const fh = await open(options.path, "r");
  let offset = options.offset;
  let nextHeartbeat = Date.now() + options.heartbeatMs;
  const frame = (data: Buffer, fileEvent?: string) =>
    options.plain ? data : encodeFrame({ Offset: offset, Data: data, File: options.file, FileEvent: fileEvent });
  try {
    while (!out.closed) {
      const data = await readChunk(fh, offset);
      if (data.length > 0) {
        offset += data.length;
        await out.write(frame(data));
        continue;
      }
      if (!options.follow) break;
      const size = await stat(options.path).then((s) => s.size, () => undefined);
      if (size === undefined) {
        if (!options.plain) await out.write(frame(Buffer.alloc(0), fileDeletedEvent));
        break;
      }
      if (size < offset) {
        offset = 0;
        if (!options.plain) await out.write(frame(Buffer.alloc(0), fileTruncatedEvent));
        continue;
      }
      if (Date.now() >= nextHeartbeat) {
        if (!options.plain) await out.write(heartbeatFrame);
        nextHeartbeat = Date.now() + options.heartbeatMs;
      }
      await changeOrTick(options.path, res, Math.min(options.pollMs ?? 250, Math.max(1, nextHeartbeat - Date.now())));
    }
  } finally {
    await fh.close();
  }
  if (!out.closed) res.end();
}
