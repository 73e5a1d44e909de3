// The lines of one (allocation, task, stream) with the exact log position after each line: from a position, or the
// last N lines (tail), optionally following until told to stop. Positions feed the Logs cursor.

import { LineSplitter } from "../nomad/line-splitter.js";
import { readLog, type LogChunk, type LogPosition } from "../nomad/logs.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { pauseUnless, type FollowTarget, type LogFollowHub } from "./log-follow-hub.js";
import { isNoPathToNode } from "../nomad/nomad-error.js";

export interface PositionedLine {
  text: string;
  /** Position right after the line (where a resumed read starts). */
  end: LogPosition;
}

/** Lines as one block of "line\n" bytes (see LineSplitter.pushBlocks). */
export interface PositionedBlock {
  data: Buffer;
  /** Position right after the block's last line. */
  end: LogPosition;
}

/**
 * Lines (a batch: at most what one log chunk held, so batching adds no buffering), or blocks of lines (when the source
 * was asked for blocks), or (once, first) the position the source starts from, so a cursor can name the source before
 * its first line.
 */
export type LineEvent = { lines: PositionedLine[] } | { blocks: PositionedBlock[] } | { start: LogPosition };

export interface LineSourceOptions {
  nomad: NomadHttp;
  hub: LogFollowHub;
  target: FollowTarget;
  from: { position: LogPosition } | { tail: number };
  /** Keep reading new output until `stop` fires, then read what is left and end. */
  follow?: { stop: AbortSignal };
  signal: AbortSignal;
  idleTimeoutMs?: number;
  /** Emit { blocks } of at most this many bytes instead of { lines }. */
  blockBytes?: number;
}

export async function* lineSource(o: LineSourceOptions): AsyncGenerator<LineEvent> {
  let position: LogPosition;
  const splitter = new PositionedSplitter();
  const out = o.blockBytes ? blockEmitter(splitter, o.blockBytes) : lineEmitter(splitter);
  if ("tail" in o.from) {
    const from = o.from;
    const read = () => tailLines(o.nomad, o.target, from.tail, !o.follow, o.signal, o.idleTimeoutMs);
    // Following, a node out of reach is waited for (as the shared follow does) until the allocation ends.
    const tail = o.follow ? await whileNodeUnreachable(read, o.follow.stop, o.signal) : await read();
    yield { start: tail.start };
    if (tail.lines.length > 0) yield o.blockBytes ? { blocks: linesToBlocks(tail.lines, o.blockBytes) } : { lines: tail.lines };
    if (!o.follow) return;
    position = tail.end;
  } else {
    position = o.from.position;
    yield { start: position };
  }
  const readOptions = { task: o.target.task, type: o.target.type, signal: o.signal, idleTimeoutMs: o.idleTimeoutMs };
  if (o.follow) {
    for await (const chunk of o.hub.follow(o.target, position, o.follow.stop, o.signal)) {
      const event = out.push(chunk);
      if (event) yield event;
      position = chunk.end;
    }
  }
  // Without follow this is the whole read; after following it picks up what was written before the task ended.
  for await (const chunk of readLog(o.nomad, o.target.allocId, { position }, { ...readOptions, follow: false, plain: true })) {
    const event = out.push(chunk);
    if (event) yield event;
  }
  const last = out.flush();
  if (last) yield last;
}

interface Emitter {
  push(chunk: LogChunk): LineEvent | undefined;
  flush(): LineEvent | undefined;
}

function lineEmitter(splitter: PositionedSplitter): Emitter {
  return {
    push: (chunk) => {
      const lines = splitter.push(chunk);
      return lines.length > 0 ? { lines } : undefined;
    },
    flush: () => {
      const last = splitter.flush();
      return last ? { lines: [last] } : undefined;
    },
  };
}

function blockEmitter(splitter: PositionedSplitter, max: number): Emitter {
  return {
    push: (chunk) => {
      const blocks = splitter.pushBlocks(chunk, max);
      return blocks.length > 0 ? { blocks } : undefined;
    },
    flush: () => {
      const last = splitter.flushBlock();
      return last ? { blocks: [last] } : undefined;
    },
  };
}

/** Already split lines (a tail) as blocks. */
function linesToBlocks(lines: PositionedLine[], max: number): PositionedBlock[] {
  const blocks: PositionedBlock[] = [];
  let parts: Buffer[] = [];
  let bytes = 0;
  for (let i = 0; i < lines.length; i++) {
    const piece = Buffer.from(`${lines[i]!.text}\n`);
    parts.push(piece);
    bytes += piece.length;
    const next = lines[i + 1];
    if (!next || bytes + Buffer.byteLength(next.text) + 1 > max) {
      blocks.push({ data: Buffer.concat(parts, bytes), end: lines[i]!.end });
      parts = [];
      bytes = 0;
    }
  }
  return blocks;
}

/** LineSplitter over positioned chunks: turns byte counts back into (file, offset) positions. */
export class PositionedSplitter {
  readonly #splitter = new LineSplitter();
  #last: LogPosition | undefined;

  push(chunk: LogChunk): PositionedLine[] {
    const out: PositionedLine[] = [];
    if (chunk.restarted) {
      const cut = this.flush();
      if (cut) out.push(cut);
    }
    const base = this.#splitter.consumed;
    for (const l of this.#splitter.push(chunk.data)) {
      out.push({ text: l.text, end: { file: chunk.start.file, off: chunk.start.off + (l.end - base) } });
    }
    this.#last = chunk.end;
    return out;
  }

  /** push() as blocks of at most `max` bytes. */
  pushBlocks(chunk: LogChunk, max: number): PositionedBlock[] {
    const out: PositionedBlock[] = [];
    if (chunk.restarted) {
      const cut = this.flushBlock();
      if (cut) out.push(cut);
    }
    const base = this.#splitter.consumed;
    for (const b of this.#splitter.pushBlocks(chunk.data, max)) {
      out.push({ data: b.data, end: { file: chunk.start.file, off: chunk.start.off + (b.end - base) } });
    }
    this.#last = chunk.end;
    return out;
  }

  flushBlock(): PositionedBlock | undefined {
    const b = this.#splitter.flushBlock();
    return b && this.#last ? { data: b.data, end: this.#last } : undefined;
  }

  flush(): PositionedLine | undefined {
    const l = this.#splitter.flush();
    return l && this.#last ? { text: l.text, end: this.#last } : undefined;
  }

  /** Position where the unfinished line (if any) starts; undefined before any chunk. */
  get pendingStart(): LogPosition | undefined {
    if (!this.#last) return undefined;
    return { file: this.#last.file, off: this.#last.off - this.#splitter.pendingBytes };
  }
}

export interface TailResult {
  /** Position before the first returned line. */
  start: LogPosition;
  lines: PositionedLine[];
  /** Where reading continues: after the last complete line (an unfinished last line is re-read by a follower). */
  end: LogPosition;
}

/**
 * The last `n` lines: reads a window of bytes from the end (Nomad origin=end), drops the first line of the window
 * (it may be cut) unless the window reached the start of the log, and widens the window until it holds n lines.
 */
export async function tailLines(
  nomad: NomadHttp,
  target: FollowTarget,
  n: number,
  includeUnfinished: boolean,
  signal: AbortSignal,
  idleTimeoutMs?: number,
): Promise<TailResult> {
  let window = Math.max(16 * 1024, n * 128);
  for (;;) {
    const splitter = new PositionedSplitter();
    let lines: PositionedLine[] = [];
    let first: LogPosition | undefined;
    let total = 0;
    const chunks = readLog(nomad, target.allocId, { tailBytes: window }, { task: target.task, type: target.type, follow: false, signal, idleTimeoutMs });
    for await (const chunk of chunks) {
      first ??= chunk.start;
      total += chunk.data.length;
      for (const line of splitter.push(chunk)) lines.push(line);
    }
    if (!first) return { start: { file: 0, off: 0 }, lines: [], end: { file: 0, off: 0 } };
    const fromBeginning = total < window || (first.file === 0 && first.off === 0);
    const end = splitter.pendingStart ?? first;
    const unfinished = splitter.flush();
    if (includeUnfinished && unfinished) lines.push(unfinished);
    let start = first;
    if (!fromBeginning && lines.length > 0) start = lines.shift()!.end;
    if (lines.length >= n || fromBeginning || window >= 1 << 30) {
      if (lines.length > n) {
        start = lines[lines.length - n - 1]!.end;
        lines = lines.slice(lines.length - n);
      }
      return { start, lines, end };
    }
    window *= 4;
  }
}

/** Runs `read` again, with backoff, while Nomad answers "No path to node" and neither `stop` nor `signal` fired. */
async function whileNodeUnreachable<T>(read: () => Promise<T>, stop: AbortSignal, signal: AbortSignal): Promise<T> {
  let backoff = 250;
  for (;;) {
    try {
      return await read();
    } catch (err) {
      if (!isNoPathToNode(err) || stop.aborted || signal.aborted) throw err;
      if (!(await pauseUnless(backoff, AbortSignal.any([stop, signal])))) throw err;
      backoff = Math.min(10_000, backoff * 2);
    }
  }
}
