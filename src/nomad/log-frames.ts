// Decoder of Nomad's framed log stream (GET /v1/client/fs/logs): JSON objects written back to back with no separator,
// e.g. {"Offset":5,"Data":"aGVsbG8K","File":"alloc/logs/web.stdout.0"}{}{"File":"...","FileEvent":"file truncated"}.
// Network chunks never line up with frames, so the decoder keeps only the bytes of the one frame in progress (bounded by
// maxFrameBytes) and scans for the closing brace; it never parses more than one frame's text at a time.

import { Code, ProviderError } from "../errors.js";

export interface LogFrame {
  /** Nomad's file position after the first read merged into the frame; not a reliable start or end of `data`. */
  offset: number;
  /** Decoded bytes (empty for heartbeats and pure file events). */
  data: Buffer;
  /** Path relative to the allocation dir, e.g. "alloc/logs/web.stdout.0"; "" when Nomad omitted it. */
  file: string;
  /** "file deleted", "file truncated" or "". */
  fileEvent: string;
}

/** Nomad frames carry at most 64 KiB of data (about 88 KB as base64); anything far beyond is a broken stream. */
const defaultMaxFrameBytes = 8 * 1024 * 1024;

const OPEN = 0x7b; // {
const CLOSE = 0x7d; // }
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

export class LogFrameDecoder {
  readonly #maxFrameBytes: number;
  /** Pieces of the frame in progress; empty between frames. */
  #parts: Buffer[] = [];
  #partBytes = 0;
  #depth = 0;
  #inString = false;
  #escaped = false;

  constructor(options: { maxFrameBytes?: number } = {}) {
    this.#maxFrameBytes = options.maxFrameBytes ?? defaultMaxFrameBytes;
  }

  /** True while a frame has started but not ended (a stream cut here lost data). */
  get midFrame(): boolean {
    return this.#depth > 0;
  }

  /** Feeds one network chunk; returns the frames it completed, in order. */
  push(chunk: Uint8Array): LogFrame[] {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const frames: LogFrame[] = [];
    let start = this.#depth > 0 ? 0 : -1;
    let i = 0;
    while (i < buf.length) {
      if (this.#depth === 0) {
        const b = buf[i]!;
        if (b === OPEN) {
          this.#depth = 1;
          start = i;
          i++;
          continue;
        }
        if (isWhitespace(b)) {
          i++;
          continue;
        }
        throw malformed(`unexpected byte 0x${b.toString(16)} between frames`);
      }
      const end = this.#scan(buf, i);
      if (end < 0) break;
      this.#parts.push(buf.subarray(start, end + 1));
      frames.push(parseFrame(this.#take()));
      start = -1;
      i = end + 1;
    }
    if (start >= 0 && this.#depth > 0) {
      this.#parts.push(buf.subarray(start));
      this.#partBytes += buf.length - start;
      if (this.#partBytes > this.#maxFrameBytes) throw malformed(`frame larger than ${this.#maxFrameBytes} bytes`);
    }
    return frames;
  }

  /** Scans from i inside a frame; returns the index of the closing brace or -1 when the chunk ends first. */
  #scan(buf: Buffer, i: number): number {
    while (i < buf.length) {
      if (this.#inString) {
        if (this.#escaped) {
          this.#escaped = false;
          i++;
          continue;
        }
        // Base64 data has no quotes or escapes: jump straight to the next quote or backslash.
        const q = buf.indexOf(QUOTE, i);
        const bs = buf.indexOf(BACKSLASH, i);
        const next = q < 0 ? bs : bs < 0 ? q : Math.min(q, bs);
        if (next < 0) return -1;
        if (buf[next] === BACKSLASH) this.#escaped = true;
        else this.#inString = false;
        i = next + 1;
        continue;
      }
      const b = buf[i]!;
      if (b === QUOTE) this.#inString = true;
      else if (b === OPEN) this.#depth++;
      else if (b === CLOSE && --this.#depth === 0) return i;
      i++;
    }
    return -1;
  }

  #take(): Buffer {
    const parts = this.#parts;
    this.#parts = [];
    this.#partBytes = 0;
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  }
}

/** Decodes a whole framed body (a Readable or any chunk iterable) into frames, lazily. */
export async function* decodeLogFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<LogFrame> {
  const decoder = new LogFrameDecoder();
  for await (const chunk of body) {
    for (const frame of decoder.push(chunk)) yield frame;
  }
  if (decoder.midFrame) throw malformed("stream ended inside a frame");
}

export function isHeartbeat(frame: LogFrame): boolean {
  return frame.data.length === 0 && frame.file === "" && frame.fileEvent === "" && frame.offset === 0;
}

function parseFrame(text: Buffer): LogFrame {
  let raw: unknown;
  try {
    raw = JSON.parse(text.toString("utf8"));
  } catch (err) {
    throw malformed(`invalid JSON frame (${(err as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw malformed("frame is not an object");
  const f = raw as Record<string, unknown>;
  const offset = f.Offset ?? 0;
  const data = f.Data ?? "";
  const file = f.File ?? "";
  const fileEvent = f.FileEvent ?? "";
  if (typeof offset !== "number" || typeof data !== "string" || typeof file !== "string" || typeof fileEvent !== "string") {
    throw malformed("frame fields have unexpected types");
  }
  return { offset, data: Buffer.from(data, "base64"), file, fileEvent };
}

function isWhitespace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
}

function malformed(detail: string): ProviderError {
  return new ProviderError(Code.Unavailable, `nomad: malformed log stream: ${detail}`);
}
