// Nomad's task log API: GET /v1/client/fs/logs/:alloc (framed stream) and GET /v1/client/fs/ls/:alloc (file sizes).
//
// Nomad keeps a task's output in rotated files alloc/logs/<task>.<type>.<n>. Its `offset` with origin=start counts bytes
// across the files that still exist, but the Offset inside frames is not a reliable position (it is taken after the
// first read merged into the frame). So positions here are (file index, byte offset in that file), counted from the
// decoded bytes themselves; readLog turns them back into Nomad's cumulative offset to (re)open a stream, and reconnects
// from the last byte it delivered when the connection drops or goes silent (no heartbeat within idleTimeoutMs).

import type { Readable } from "node:stream";
import { Code, ProviderError } from "../errors.js";
import { decodeLogFrames, type LogFrame } from "./log-frames.js";
import type { NomadHttp } from "./nomad-http.js";

export type LogType = "stdout" | "stderr";

/** A byte position in a task's log: the rotated file's index and the offset inside it. */
export interface LogPosition {
  file: number;
  off: number;
}

export function comparePositions(a: LogPosition, b: LogPosition): number {
  return a.file - b.file || a.off - b.off;
}

/** Bytes of one log file, with their exact positions (start and end lie in the same file). */
export interface LogChunk {
  data: Buffer;
  start: LogPosition;
  end: LogPosition;
  /** The file was truncated (copytruncate) or a new file began: any unfinished line before `start` is over. */
  restarted: boolean;
  /** The file was truncated: positions in it start over at 0 (so they go backwards). */
  truncated?: boolean;
}

export interface LogFrameStreamOptions {
  task: string;
  type: LogType;
  follow: boolean;
  origin: "start" | "end";
  offset: number;
  signal?: AbortSignal;
  /** Fail with UNAVAILABLE when not even a heartbeat arrives for this long. Default 10 s (Nomad beats every second). */
  idleTimeoutMs?: number;
}

const defaultIdleTimeoutMs = 10_000;

/** One raw request to the logs endpoint, as frames. The connection is released when the generator ends. */
export async function* streamLogFrames(nomad: NomadHttp, allocId: string, o: LogFrameStreamOptions): AsyncGenerator<LogFrame> {
  if (o.signal?.aborted) throw ProviderError.from(o.signal.reason, Code.Canceled);
  const idle = new AbortController();
  const onAbort = () => idle.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const idleMs = o.idleTimeoutMs ?? defaultIdleTimeoutMs;
  const timer = setTimeout(() => idle.abort(idleError(allocId, idleMs)), idleMs);
  const what = `stream ${o.type} logs of task ${o.task} in allocation ${allocId}`;
  let body: Readable | undefined;
  try {
    const res = await nomad.stream("GET", `/v1/client/fs/logs/${encodeURIComponent(allocId)}`, {
      query: { task: o.task, type: o.type, follow: o.follow, origin: o.origin, offset: o.offset, plain: false },
      signal: idle.signal,
      what,
    });
    body = res.body;
    timer.refresh();
    for await (const frame of decodeLogFrames(withRefresh(res.body, timer))) yield frame;
  } catch (err) {
    if (idle.signal.aborted && !o.signal?.aborted && idle.signal.reason instanceof ProviderError) throw idle.signal.reason;
    if (err instanceof ProviderError) throw err;
    throw new ProviderError(o.signal?.aborted ? Code.Canceled : Code.Unavailable, `nomad: ${what}: ${(err as Error).message}`, {
      cause: err,
    });
  } finally {
    clearTimeout(timer);
    o.signal?.removeEventListener("abort", onAbort);
    body?.destroy();
  }
}

async function* withRefresh(body: AsyncIterable<Uint8Array>, timer: NodeJS.Timeout): AsyncGenerator<Uint8Array> {
  for await (const chunk of body) {
    timer.refresh();
    yield chunk;
  }
}

function idleError(allocId: string, ms: number): ProviderError {
  return new ProviderError(Code.Unavailable, `nomad: log stream of allocation ${allocId} sent no heartbeat for ${ms} ms`);
}

export interface LogFileInfo {
  index: number;
  size: number;
}

/** The task's existing log files of one type, oldest first. */
export async function listLogFiles(
  nomad: NomadHttp,
  allocId: string,
  task: string,
  type: LogType,
  signal?: AbortSignal,
): Promise<LogFileInfo[]> {
  const res = await nomad.request<Array<{ Name: string; IsDir: boolean; Size: number }> | null>(
    "GET",
    `/v1/client/fs/ls/${encodeURIComponent(allocId)}`,
    { query: { path: "alloc/logs" }, signal, what: `list log files of allocation ${allocId}` },
  );
  const files: LogFileInfo[] = [];
  for (const entry of res.body ?? []) {
    if (entry.IsDir) continue;
    const index = logFileIndex(entry.Name, task, type);
    if (index !== undefined) files.push({ index, size: entry.Size });
  }
  return files.sort((a, b) => a.index - b.index);
}

/** "alloc/logs/web.stdout.3" or "web.stdout.3" -> 3 (undefined for another task's or type's file). */
export function logFileIndex(name: string, task: string, type: LogType): number | undefined {
  const base = name.slice(name.lastIndexOf("/") + 1);
  const prefix = `${task}.${type}.`;
  if (!base.startsWith(prefix)) return undefined;
  const digits = base.slice(prefix.length);
  return /^\d+$/.test(digits) ? Number(digits) : undefined;
}

export interface ReadLogOptions {
  task: string;
  type: LogType;
  follow: boolean;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
  /** Reconnect attempts in a row without receiving data before giving up. Default 5. */
  maxRetries?: number;
  /** Base delay between reconnects (doubles each failed attempt, max 2 s). Default 100 ms. */
  retryDelayMs?: number;
}

/** Where to begin: an exact position, or the last `tailBytes` bytes (non-follow only: the frames then give exact positions). */
export type ReadLogFrom = { position: LogPosition } | { tailBytes: number };

/**
 * Reads a task's log as positioned chunks. Resumes by itself after a reset connection or a silent upstream: the next
 * request starts at the position after the last chunk yielded, so nothing is lost or repeated. Non-follow ends at the
 * end of the last file; follow never ends by itself (Nomad's stream does not close when the task dies).
 */
export async function* readLog(nomad: NomadHttp, allocId: string, from: ReadLogFrom, o: ReadLogOptions): AsyncGenerator<LogChunk> {
  let position: LogPosition | undefined = "position" in from ? { ...from.position } : undefined;
  if (!position && o.follow) throw new ProviderError(Code.Internal, "readLog: a tail read cannot follow");
  const maxRetries = o.maxRetries ?? 5;
  let failures = 0;
  for (;;) {
    let progressed = false;
    try {
      const open = position ? await openAt(nomad, allocId, position, o) : { origin: "end" as const, offset: (from as { tailBytes: number }).tailBytes };
      let first = true;
      for await (const frame of streamLogFrames(nomad, allocId, { ...o, ...open })) {
        const chunk = positionFrame(frame, position, first, o);
        if (!chunk) continue;
        first = false;
        position = chunk.end;
        if (chunk.data.length > 0 || chunk.restarted) {
          progressed = true;
          failures = 0;
          yield chunk;
        }
      }
      return;
    } catch (err) {
      const e = ProviderError.from(err);
      if (o.signal?.aborted || !retriable(e) || (!progressed && ++failures > maxRetries)) throw e;
      // A tail read that broke after delivering data continues from its exact position like any other read.
      await delay(Math.min(2000, (o.retryDelayMs ?? 100) * 2 ** Math.max(0, failures - 1)), o.signal);
    }
  }
}

function retriable(e: ProviderError): boolean {
  return e.code === Code.Unavailable || e.code === Code.DeadlineExceeded;
}

/** Nomad's origin=start offset for a position: the sizes of the older files still present, plus the offset. */
async function openAt(nomad: NomadHttp, allocId: string, p: LogPosition, o: ReadLogOptions) {
  if (p.file === 0) return { origin: "start" as const, offset: p.off };
  const files = await listLogFiles(nomad, allocId, o.task, o.type, o.signal);
  const earlier = files.filter((f) => f.index < p.file).reduce((sum, f) => sum + f.size, 0);
  // When the file itself was rotated away, the oldest file left is the closest we can get.
  const present = files.some((f) => f.index === p.file);
  return { origin: "start" as const, offset: present ? earlier + p.off : 0 };
}

/**
 * Places a frame's data at exact positions. Within a connection the data is contiguous per file; a new file starts at
 * 0; a truncation restarts the same file at 0. The first frame of a connection normally continues `expected`; for a
 * tail read (no expectation) Nomad's Offset minus the data length is exact, since a non-follow read sends each
 * file read as soon as it is done.
 */
function positionFrame(frame: LogFrame, expected: LogPosition | undefined, first: boolean, o: ReadLogOptions): LogChunk | undefined {
  if (frame.file === "") return undefined;
  const index = logFileIndex(frame.file, o.task, o.type);
  if (index === undefined) return undefined;
  let start: LogPosition;
  let restarted = false;
  const truncated = frame.fileEvent === "file truncated";
  if (truncated) {
    start = { file: index, off: 0 };
    restarted = true;
  } else if (expected && expected.file === index) {
    start = expected;
  } else if (!expected || (first && index < expected.file)) {
    start = { file: index, off: Math.max(0, frame.offset - frame.data.length) };
    restarted = expected !== undefined;
  } else {
    start = { file: index, off: 0 };
    restarted = true;
  }
  return { data: frame.data, start, end: { file: index, off: start.off + frame.data.length }, restarted, ...(truncated ? { truncated } : {}) };
}

function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(ProviderError.from(signal.reason, Code.Canceled));
    const onAbort = () => {
      clearTimeout(t);
      reject(ProviderError.from(signal!.reason, Code.Canceled));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
