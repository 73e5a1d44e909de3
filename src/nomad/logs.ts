// Nomad's task log API: GET /v1/client/fs/logs/:alloc (framed stream) and GET /v1/client/fs/ls/:alloc (file sizes).
//
// Nomad keeps a task's output in rotated files alloc/logs/<task>.<type>.<n>. Its `offset` with origin=start counts bytes
// across the files that still exist, but the Offset inside frames is not a reliable position (it is taken after the
// first read merged into the frame). So positions here are (file index, byte offset in that file), counted from the
// decoded bytes themselves; readLog turns them back into Nomad's cumulative offset to (re)open a stream, and reconnects
// from the last byte it delivered when the connection drops or goes silent (no heartbeat within idleTimeoutMs).
//
// Plain reads (plain=true: the bytes without base64/JSON frames, much cheaper for Nomad and for us) carry no file
// names, so they are used only where every byte's position is known anyway: inside file 0 (whose cumulative offset is
// its own offset), up to a position already seen in file 0 (by the shared follow upstream, or by a one-byte framed
// probe of the newest file's end). Log files only grow until rotated, so those bytes cannot change under us. The one
// case this cannot tell is file 0 being purged by rotation within the moment between probe and read (max_files = 1);
// cumulative offsets taken from fs/ls for later files have the same window.
//
// A plain read that fails partway carries no sign of it: Nomad's HTTP wrapper writes the error's text into the body
// already under way (status 200 sent) and ends it normally. So the newest plain bytes are held back until more follow
// or the known end is reached; a body that ends short is a failure (its held bytes may be error text, never log), and
// the read goes on from the last delivered byte with frames, up to the same end.

import { linkedSignal } from "../trace-context.js";
import type { StreamBody } from "./stream-body.js";
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
export function streamLogFrames(nomad: NomadHttp, allocId: string, o: LogFrameStreamOptions): AsyncGenerator<LogFrame> {
  return decodeLogFrames(streamLogBody(nomad, allocId, o, false));
}

/** One raw request to the logs endpoint, as the bytes of its body (frames, or with `plain` the log bytes). */
async function* streamLogBody(nomad: NomadHttp, allocId: string, o: LogFrameStreamOptions, plain: boolean): AsyncGenerator<Buffer> {
  if (o.signal?.aborted) throw ProviderError.from(o.signal.reason, Code.Canceled);
  const idle = new AbortController();
  const onAbort = () => idle.abort(o.signal?.reason);
  o.signal?.addEventListener("abort", onAbort, { once: true });
  const idleMs = o.idleTimeoutMs ?? defaultIdleTimeoutMs;
  const timer = setTimeout(() => idle.abort(idleError(allocId, idleMs)), idleMs);
  const what = `stream ${o.type} logs of task ${o.task} in allocation ${allocId}`;
  let body: StreamBody | undefined;
  try {
    const res = await nomad.stream("GET", `/v1/client/fs/logs/${encodeURIComponent(allocId)}`, {
      query: { task: o.task, type: o.type, follow: o.follow, origin: o.origin, offset: o.offset, plain },
      signal: idle.signal,
      what,
    });
    body = res.body;
    timer.refresh();
    for await (const chunk of res.body) {
      timer.refresh();
      yield chunk;
    }
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
  /**
   * Non-follow reads from a position: read plain bytes where that is exact (see the top of this file), up to `until`
   * (a position the caller has seen in file 0), or with `true` up to the end of file 0 found by a probe. The read then
   * ends there (a snapshot); anything else falls back to frames.
   */
  plain?: true | { until: LogPosition };
}

/** Where to begin: an exact position, or the last `tailBytes` bytes (non-follow only: the frames then give exact positions). */
export type ReadLogFrom = { position: LogPosition } | { tailBytes: number };

/**
 * Reads a task's log as positioned chunks. Resumes by itself after a reset connection or a silent upstream: the next
 * request starts at the position after the last chunk yielded, so nothing is lost or repeated. Non-follow ends at the
 * end of the last file; follow never ends by itself (Nomad's stream does not close when the task dies).
 */
export async function* readLog(nomad: NomadHttp, allocId: string, from: ReadLogFrom, o: ReadLogOptions): AsyncGenerator<LogChunk> {
  const position: LogPosition | undefined = "position" in from ? { ...from.position } : undefined;
  if (!position && o.follow) throw new ProviderError(Code.Internal, "readLog: a tail read cannot follow");
  if (position && o.plain && !o.follow && position.file === 0) {
    const plain = await planPlain(nomad, allocId, position, o);
    if (plain) {
      if (plain.until > position.off) {
        // Plain (again after a reset connection); after a body that ended short, frames (which show a failure for
        // what it is) up to the same end.
        let endedShort = false;
        const end = { file: 0, off: plain.until };
        const shortEnd = () => (endedShort = true);
        yield* resuming(o, position, (p, first) =>
          endedShort ? upTo(framedAttempt(nomad, allocId, { position: p! }, p, first, o), end) : plainAttempt(nomad, allocId, p!, plain.until, o, shortEnd, plain.take()),
        );
      } else plain.discard();
      return;
    }
  }
  yield* resuming(o, position, (p, first) => framedAttempt(nomad, allocId, from, p, first, o));
}

interface PlainPlan {
  /** Offset in file 0 where the plain read ends. */
  until: number;
  /** The plain request already sent from the start position (once; later attempts open their own). */
  take(): AsyncIterable<Buffer> | undefined;
  discard(): void;
}

/**
 * Whether and how far file 0 can be read plain from `position`: to the given end, or to the end a probe finds. The
 * plain request goes out together with the probe, to save a round trip: its bytes wait in the connection until the
 * probe vouches for them, and it is dropped when the probe finds rotated files.
 */
async function planPlain(nomad: NomadHttp, allocId: string, position: LogPosition, o: ReadLogOptions): Promise<PlainPlan | undefined> {
  if (o.plain !== true) return o.plain?.until.file === 0 ? { until: o.plain.until.off, take: () => undefined, discard: () => undefined } : undefined;
  const early = new AbortController();
  const signal = o.signal ? linkedSignal([o.signal, early.signal]) : early.signal;
  const body = streamLogBody(nomad, allocId, { ...o, signal, follow: false, origin: "start", offset: position.off }, true);
  const first = body.next();
  first.catch(() => undefined);
  let end: LogPosition | undefined;
  try {
    end = await probeEnd(nomad, allocId, o);
  } finally {
    if (!end || end.file !== 0) early.abort();
  }
  if (!end || end.file !== 0) return undefined;
  let taken = false;
  return {
    until: end.off,
    take: () => (taken ? undefined : ((taken = true), continueBody(first, body))),
    discard: () => early.abort(),
  };
}

async function* continueBody(first: Promise<IteratorResult<Buffer>>, body: AsyncGenerator<Buffer>): AsyncGenerator<Buffer> {
  try {
    const head = await first;
    if (head.done) return;
    yield head.value;
    yield* body;
  } finally {
    await body.return(undefined);
  }
}

/**
 * Runs read attempts until one ends normally, each resuming at the position after the last chunk of the one before
 * (so nothing is lost or repeated). Gives up after maxRetries attempts in a row that failed without any data.
 */
async function* resuming(
  o: ReadLogOptions,
  start: LogPosition | undefined,
  attempt: (position: LogPosition | undefined, first: () => boolean) => AsyncIterable<LogChunk>,
): AsyncGenerator<LogChunk> {
  const maxRetries = o.maxRetries ?? 5;
  let position = start;
  let failures = 0;
  for (;;) {
    let progressed = false;
    let first = true;
    try {
      for await (const chunk of attempt(position, () => first)) {
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

async function* framedAttempt(
  nomad: NomadHttp,
  allocId: string,
  from: ReadLogFrom,
  position: LogPosition | undefined,
  first: () => boolean,
  o: ReadLogOptions,
): AsyncGenerator<LogChunk> {
  const open = position ? await openAt(nomad, allocId, position, o) : { origin: "end" as const, offset: (from as { tailBytes: number }).tailBytes };
  if ("skipTo" in open && open.skipTo) {
    yield* skippingTo(streamLogFrames(nomad, allocId, { ...o, origin: "start", offset: 0 }), open.skipTo, o);
    return;
  }
  for await (const frame of streamLogFrames(nomad, allocId, { ...o, ...open })) {
    const chunk = positionFrame(frame, position, first(), o);
    if (!chunk) continue;
    position = chunk.end;
    yield chunk;
  }
}

/**
 * The frames of a read from the very start of the oldest file, positioned by counting (each file starts at 0) and
 * dropped up to `target`: for a token that may read logs but not list files (read-logs without read-fs).
 */
async function* skippingTo(frames: AsyncIterable<LogFrame>, target: LogPosition, o: ReadLogOptions): AsyncGenerator<LogChunk> {
  let at: LogPosition | undefined;
  let reached = false;
  for await (const frame of frames) {
    const index = logFileIndex(frame.file, o.task, o.type);
    if (index === undefined) continue;
    const chunk = positionFrame(frame, at ?? { file: index, off: 0 }, false, o);
    if (!chunk) continue;
    at = chunk.end;
    if (!reached) {
      // The target's file was rotated away: the oldest file left is the closest we can get (as openAt does).
      if (chunk.start.file > target.file) reached = true;
      else if (comparePositions(chunk.end, target) <= 0) continue;
      else {
        reached = true;
        if (chunk.start.file === target.file && chunk.start.off < target.off) {
          yield { ...chunk, data: chunk.data.subarray(target.off - chunk.start.off), start: { ...target }, restarted: false };
          continue;
        }
      }
    }
    yield chunk;
  }
}

/** Chunks of `chunks` up to position `end` (the last one cut there). */
async function* upTo(chunks: AsyncIterable<LogChunk>, end: LogPosition): AsyncGenerator<LogChunk> {
  for await (const chunk of chunks) {
    if (comparePositions(chunk.start, end) >= 0) return;
    if (chunk.end.file === end.file && chunk.end.off > end.off) {
      yield { ...chunk, data: chunk.data.subarray(0, end.off - chunk.start.off), end: { ...end } };
      return;
    }
    yield chunk;
  }
}

/**
 * File 0 from `position` up to offset `until`, as plain bytes. The newest bytes wait until more arrive or `until` is
 * reached: a body that ends before `until` failed partway (see the top of this file) and its last bytes are dropped
 * (`onShortEnd` is told). A connection that breaks carries no error text: what it held is delivered.
 */
async function* plainAttempt(
  nomad: NomadHttp,
  allocId: string,
  position: LogPosition,
  until: number,
  o: ReadLogOptions,
  onShortEnd: () => void,
  opened?: AsyncIterable<Buffer>,
): AsyncGenerator<LogChunk> {
  let off = position.off;
  let held: LogChunk | undefined;
  try {
    for await (const data of opened ?? streamLogBody(nomad, allocId, { ...o, follow: false, origin: "start", offset: off }, true)) {
      const take = Math.min(data.length, until - off);
      if (take <= 0) break;
      const start = off;
      off += take;
      const chunk = { data: take < data.length ? data.subarray(0, take) : data, start: { file: 0, off: start }, end: { file: 0, off }, restarted: false };
      if (held) yield held;
      held = undefined;
      if (off >= until) {
        yield chunk;
        return;
      }
      held = chunk;
    }
  } catch (err) {
    if (held && !o.signal?.aborted) yield held;
    throw err;
  }
  onShortEnd();
  throw new ProviderError(
    Code.Unavailable,
    `nomad: plain read of ${o.type} logs of task ${o.task} in allocation ${allocId} ended at byte ${off} of ${until}: the read failed partway`,
  );
}

/**
 * The end of the newest log file that has data, from a framed read of its last byte (the frame names the file; its
 * Offset is where Nomad's first read ended: a size the file had, at least what it held when the probe began).
 * Undefined when there is nothing to read or the probe failed for a reason a framed read would retry.
 */
async function probeEnd(nomad: NomadHttp, allocId: string, o: ReadLogOptions): Promise<LogPosition | undefined> {
  try {
    for await (const frame of streamLogFrames(nomad, allocId, { ...o, follow: false, origin: "end", offset: 1 })) {
      if (frame.data.length === 0) continue;
      const index = logFileIndex(frame.file, o.task, o.type);
      return index === undefined ? undefined : { file: index, off: frame.offset };
    }
    return undefined;
  } catch (err) {
    const e = ProviderError.from(err);
    if (o.signal?.aborted || !retriable(e)) throw e;
    return undefined;
  }
}

function retriable(e: ProviderError): boolean {
  return e.code === Code.Unavailable || e.code === Code.DeadlineExceeded;
}

/** Nomad's origin=start offset for a position: the sizes of the older files still present, plus the offset. */
async function openAt(
  nomad: NomadHttp,
  allocId: string,
  p: LogPosition,
  o: ReadLogOptions,
): Promise<{ origin: "start"; offset: number; skipTo?: undefined } | { skipTo: LogPosition }> {
  if (p.file === 0) return { origin: "start" as const, offset: p.off };
  let files: LogFileInfo[];
  try {
    files = await listLogFiles(nomad, allocId, o.task, o.type, o.signal);
  } catch (err) {
    // fs/ls needs read-fs; logs also accept read-logs alone. Without the sizes, count from the start instead.
    if (err instanceof ProviderError && err.code === Code.PermissionDenied) return { skipTo: p };
    throw err;
  }
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
