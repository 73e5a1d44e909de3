// Logs: one service's output across the instance's allocations, merged in arrival order.
//
// Nomad's log API has no timestamps: LogsResponse.timestamp is when the plugin observed the line, and `since` drops
// lines observed before it (so for output already written when the call starts it filters nothing, unless `since`
// lies in the future). Without alloc_id the call reads every running allocation of the current job version; with
// follow it also picks up allocations created later (scale, restart, deploy), ends each allocation's stream once its
// task is dead or the allocation terminal (Nomad's own stream never closes), and ends when all of them did.
// A cursor takes precedence over tail: entries it names resume right after their last line, allocations it does not
// name are read from their beginning. With max_batch_bytes a response carries consecutive lines of one stream as
// "line\n" bytes, its cursor the one of its last line. A read that does not follow fills each batch up to
// max_batch_bytes (or the end of that stream's output); a follow sends what one upstream read held plus whatever else
// of that stream is at hand in the same event-loop turn, never waiting for more.
// The job and its allocation list come from the plugin's instance cache when it can answer (read-your-writes as for
// Status), else from Nomad; with follow, the allocation watch is fed by the cache while it is live (alloc-watch.ts).

import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import {
  LogStream,
  LogsResponseSchema,
  type LogsRequest,
  type LogsResponse,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { readAllocation } from "../nomad/allocations.js";
import { isNoPathToNode } from "../nomad/nomad-error.js";
import { listJobAllocations, readJob } from "../nomad/jobs.js";
import type { LogPosition, LogType } from "../nomad/logs.js";
import type { AllocListStub, Job } from "../nomad/types.js";
import type { CallContext } from "../grpc/service-impl.js";
import { allocSplicedBytes } from "../grpc/spliced-bytes.js";
import { jobIdFor } from "./instance-id.js";
import type { ProviderDeps } from "./provider-deps.js";
import type { AllocWatch } from "./alloc-watch.js";
import type { InstanceCache } from "./instance-cache.js";
import type { LogFollowHub } from "./log-follow-hub.js";
import { CursorWriter, decodeCursor, positionKey, type CursorPositions } from "./log-cursor.js";
import { lineSource, type LineEvent, type PositionedBlock, type PositionedLine } from "./log-lines.js";
import { StreamMerger } from "./merge-streams.js";
import { currentAllocations, hasTaskStarted, isTaskFinished, resolveTask } from "./service-target.js";

export interface LogsContext {
  deps: ProviderDeps;
  hub: LogFollowHub;
  cache: InstanceCache;
  watch: AllocWatch;
  idleTimeoutMs?: number;
}

interface Plan {
  jobId: string;
  job: Job;
  task: string;
  types: LogType[];
  cursor: CursorPositions | undefined;
  tail: number;
  since: number | undefined;
  /** The job's allocations, being read (without alloc_id). */
  listing: Promise<AllocListStub[]> | undefined;
  /** Batch mode: bytes per batch; undefined = one line per response. */
  batchBytes: number | undefined;
}

/** gRPC's default message limit is 4 MiB; a batch stays well below it even with one maximal line. */
const maxBatchBytes = 1024 * 1024;

interface Tagged {
  allocId: string;
  type: LogType;
  event: LineEvent;
}

export async function* streamLogs(c: LogsContext, req: LogsRequest, ctx: CallContext): AsyncGenerator<LogsResponse> {
  const plan = await planLogs(c, req, ctx.signal);
  const out = new Responses(plan);
  const abort = new AbortController();
  const onAbort = () => abort.abort(ctx.signal.reason);
  ctx.signal.addEventListener("abort", onAbort, { once: true });
  const allocs = new AllocSet(c, plan, abort.signal, req.follow);
  try {
    let existing: string[];
    if (req.allocId) {
      allocs.consider([(await readOwnedAllocation(c, plan, req.allocId, ctx.signal)) as AllocListStub], true);
      existing = [req.allocId];
    } else {
      const list = await plan.listing!;
      allocs.consider(currentAllocations(plan.job, list, req.follow), true);
      existing = list.map((a) => a.ID);
    }
    if (req.follow) allocs.watchForChanges(req.allocId, new Set(existing));
    let held: Tagged | undefined;
    let batches: BatchBuffer | undefined;
    for (;;) {
      const item = held ?? (await allocs.next());
      held = undefined;
      if (!item) return;
      if ("start" in item.event) {
        out.start(item, item.event.start);
      } else if ("lines" in item.event) {
        for (const line of item.event.lines) {
          const r = out.line(item, line);
          if (r) yield r;
        }
      } else {
        // Blocks of the same stream already at hand (this event-loop turn) join the batch; nothing waits for more.
        const batch = (batches ??= new BatchBuffer(plan.batchBytes!));
        for (let next: Tagged | undefined = item; next; ) {
          for (const block of (next.event as { blocks: PositionedBlock[] }).blocks) {
            if (!batch.fits(block)) {
              const r = out.batch(item, batch.take()!);
              if (r) yield r;
            }
            batch.add(block);
          }
          next = await allocs.nextReady();
          if (next && !sameBlockSource(next, item)) [held, next] = [next, undefined];
        }
        const r = out.batch(item, batch.take()!);
        if (r) yield r;
      }
    }
  } finally {
    abort.abort();
    ctx.signal.removeEventListener("abort", onAbort);
    allocs.close();
  }
}

function sameBlockSource(a: Tagged, b: Tagged): boolean {
  return a.allocId === b.allocId && a.type === b.type && "blocks" in a.event;
}

/** Builds responses and their cursors; drops (but still moves the cursor past) what `since` filters out. */
class Responses {
  readonly #writer = new CursorWriter();
  readonly #clock = new ObservedClock();

  constructor(readonly plan: Plan) {}

  start(item: Tagged, position: LogPosition): void {
    const key = positionKey(item.allocId, item.type);
    if (!this.#writer.has(key)) this.#writer.set(key, position);
  }

  line(item: Tagged, line: PositionedLine): LogsResponse | undefined {
    return this.#respond(item, line.end, { line: line.text });
  }

  batch(item: Tagged, block: PositionedBlock): LogsResponse | undefined {
    return this.#respond(item, block.end, { lines: block.data });
  }

  #respond(item: Tagged, end: LogPosition, content: { line: string } | { lines: Buffer }): LogsResponse | undefined {
    const key = positionKey(item.allocId, item.type);
    const now = this.#clock.now();
    if (this.plan.since !== undefined && now.ms < this.plan.since) {
      this.#writer.set(key, end);
      return undefined;
    }
    return create(LogsResponseSchema, {
      timestamp: now.timestamp,
      serviceName: this.plan.task,
      allocId: item.allocId,
      stream: item.type === "stdout" ? LogStream.STDOUT : LogStream.STDERR,
      cursor: this.#writer.advance(key, end),
      ...content,
    });
  }
}

/** The first batch's size limit: the client starts receiving while the plugin still reads (doubles per batch). */
const firstBatchBytes = 64 * 1024;

/**
 * One batch at a time of blocks of one stream, up to the requested size. The limit starts small and doubles with
 * every batch taken, so a large read gets going at once and then travels in full batches.
 */
class BatchBuffer {
  #parts: Buffer[] = [];
  #bytes = 0;
  #end: LogPosition | undefined;
  #max: number;

  constructor(readonly limit: number) {
    this.#max = Math.min(limit, firstBatchBytes);
  }

  fits(block: PositionedBlock): boolean {
    return this.#bytes === 0 || this.#bytes + block.data.length <= this.#max;
  }

  add(block: PositionedBlock): void {
    this.#parts.push(block.data);
    this.#bytes += block.data.length;
    this.#end = block.end;
  }

  take(): PositionedBlock | undefined {
    if (!this.#end) return undefined;
    // One copy, into bytes the transport frames in place and recycles (a single part is copied too: it would be).
    const data = allocSplicedBytes(this.#bytes);
    let at = 0;
    for (const part of this.#parts) at += part.copy(data, at);
    const taken = { data, end: this.#end };
    this.#max = Math.min(this.limit, this.#max * 2);
    this.#parts = [];
    this.#bytes = 0;
    this.#end = undefined;
    return taken;
  }
}

async function planLogs(c: LogsContext, req: LogsRequest, signal: AbortSignal): Promise<Plan> {
  const jobId = jobIdFor(req.instanceId);
  if (req.tail < 0) throw invalidArgument("tail", "must be >= 0");
  if (req.maxBatchBytes < 0) throw invalidArgument("max_batch_bytes", "must be >= 0");
  const batchBytes = req.maxBatchBytes > 0 ? Math.min(req.maxBatchBytes, maxBatchBytes) : undefined;
  const types: LogType[] =
    req.stream === LogStream.STDOUT ? ["stdout"] : req.stream === LogStream.STDERR ? ["stderr"] : req.stream === LogStream.UNSPECIFIED ? ["stdout", "stderr"] : [];
  if (types.length === 0) throw invalidArgument("stream", `unknown log stream ${req.stream}`);
  const cursor = req.cursor ? decodeCursor(req.cursor) : undefined;
  const since = req.since ? timestampDate(req.since).getTime() : undefined;
  const cached = await c.cache.jobWithAllocations(jobId, signal);
  let job: Job;
  let listing: Promise<AllocListStub[]> | undefined;
  if (cached) {
    job = cached.job;
    listing = req.allocId ? undefined : Promise.resolve(cached.allocations);
  } else {
    // The allocation list does not depend on the job's definition: both are read at once.
    listing = req.allocId ? undefined : listJobAllocations(c.deps.nomad, jobId, { signal }).then((r) => r.value);
    listing?.catch(() => undefined);
    job = (await readJob(c.deps.nomad, jobId, { signal })).value;
  }
  const task = resolveTask(job, req.serviceName).Name;
  return { jobId, job, task, types, cursor, tail: req.tail, since, batchBytes, listing };
}

async function readOwnedAllocation(c: LogsContext, plan: Plan, allocId: string, signal: AbortSignal) {
  const alloc = await readAllocation(c.deps.nomad, allocId, { signal });
  if (alloc.JobID !== plan.jobId) {
    throw new ProviderError(Code.NotFound, `allocation ${allocId} does not belong to instance job ${plan.jobId}`);
  }
  return alloc;
}

interface Followed {
  started: boolean;
  stop: AbortController;
}

/** The allocations a Logs call reads, their line sources merged, and (with follow) their comings and goings. */
class AllocSet {
  readonly #merger = new StreamMerger<Tagged>();
  readonly #followed = new Map<string, Followed>();
  #unsubscribe: (() => void) | undefined;
  #watchError: ProviderError | undefined;
  #changed: (() => void) | undefined;

  constructor(
    readonly c: LogsContext,
    readonly plan: Plan,
    readonly signal: AbortSignal,
    readonly follow: boolean,
  ) {
    signal.addEventListener("abort", () => this.#changed?.(), { once: true });
  }

  /** Adds allocations (initial ones, or ones that appeared later) and updates the state of known ones. */
  consider(allocs: AllocListStub[], initial: boolean): void {
    for (const a of allocs) {
      let f = this.#followed.get(a.ID);
      if (!f) {
        if (!initial && (a.ClientStatus !== "pending" && a.ClientStatus !== "running")) continue;
        f = { started: false, stop: new AbortController() };
        this.#followed.set(a.ID, f);
      }
      const finished = isTaskFinished(a, this.plan.task);
      if (!f.started && (!this.follow || hasTaskStarted(a, this.plan.task) || finished)) {
        f.started = true;
        for (const type of this.plan.types) this.#merger.add(this.#source(a.ID, type, f.stop.signal, !finished));
      }
      if (finished) f.stop.abort();
    }
    this.#changed?.();
  }

  /** Follows state changes of the allocations read, and allocations created after `existing` was listed. */
  watchForChanges(onlyAlloc: string, existing: Set<string>): void {
    this.#unsubscribe = this.c.watch.subscribe(this.plan.jobId, (update) => {
      if (update instanceof ProviderError) {
        this.#watchError = update;
        this.#changed?.();
        return;
      }
      const relevant = update.filter((a) => (onlyAlloc ? a.ID === onlyAlloc : this.#followed.has(a.ID) || !existing.has(a.ID)));
      this.consider(relevant, false);
    });
  }

  /** The next line or start event; undefined when every source ended and (following) no allocation is still alive. */
  async next(): Promise<Tagged | undefined> {
    for (;;) {
      if (this.signal.aborted) throw ProviderError.from(this.signal.reason, Code.Canceled);
      if (this.#watchError) throw this.#watchError;
      if (this.#merger.size > 0) {
        if (!this.follow) return this.#merger.next();
        const changed = new Promise<void>((r) => (this.#changed = r));
        const winner = await Promise.race([this.#merger.ready().then(() => "data" as const), changed.then(() => "changed" as const)]);
        this.#changed = undefined;
        if (winner === "data") {
          const item = await this.#merger.next();
          if (item) return item;
        }
        continue;
      }
      if (!this.follow || this.#allDone()) return undefined;
      await new Promise<void>((r) => (this.#changed = r));
      this.#changed = undefined;
    }
  }

  /**
   * The next event to add to a batch. Following, only one at hand within this event-loop turn (a line must not wait
   * for more to come); otherwise the next one, however long it takes (the output exists already: fuller batches).
   */
  async nextReady(): Promise<Tagged | undefined> {
    if (this.signal.aborted || this.#watchError) return undefined;
    if (!this.follow) return this.#merger.next();
    const got = await this.#merger.nextBefore(new Promise((resolve) => setImmediate(resolve)));
    return got?.value;
  }

  #allDone(): boolean {
    for (const f of this.#followed.values()) if (!f.stop.signal.aborted) return false;
    return true;
  }

  close(): void {
    this.#unsubscribe?.();
    for (const f of this.#followed.values()) f.stop.abort();
    this.#merger.close();
  }

  async *#source(allocId: string, type: LogType, stop: AbortSignal, follow: boolean): AsyncGenerator<Tagged> {
    const target = { allocId, task: this.plan.task, type };
    const cursorPosition: LogPosition | undefined = this.plan.cursor?.get(positionKey(allocId, type));
    const from = this.plan.cursor
      ? { position: cursorPosition ?? { file: 0, off: 0 } }
      : this.plan.tail > 0
        ? { tail: this.plan.tail }
        : { position: { file: 0, off: 0 } };
    const events = lineSource({
      nomad: this.c.deps.nomad,
      hub: this.c.hub,
      target,
      from,
      follow: this.follow && follow ? { stop } : undefined,
      signal: this.signal,
      idleTimeoutMs: this.c.idleTimeoutMs,
      blockBytes: this.plan.batchBytes,
    });
    try {
      for await (const event of events) yield { allocId, type, event };
    } catch (err) {
      // An allocation that ended before its task ever wrote a log file has no lines; that is not an error.
      if (err instanceof ProviderError && err.code === Code.NotFound && !this.signal.aborted) {
        this.c.deps.log.debug("no log file", { alloc_id: allocId, type, error: err.message });
        return;
      }
      // Followed to its end on a node no server reaches any more (Nomad's "No path to node"): what the node still
      // holds cannot be read; the other allocations' streams go on. Without follow the caller hears it (UNAVAILABLE).
      if (isNoPathToNode(err) && this.follow && follow && stop.aborted && !this.signal.aborted) {
        this.c.deps.log.warn("allocation ended on an unreachable node; its last log lines cannot be read", { alloc_id: allocId, type });
        return;
      }
      throw err;
    }
  }
}

/** Observation timestamps; one Timestamp message per millisecond is shared by the lines observed in it. */
class ObservedClock {
  #ms = -1;
  #timestamp: Timestamp | undefined;

  now(): { ms: number; timestamp: Timestamp } {
    const ms = Date.now();
    if (ms !== this.#ms || !this.#timestamp) {
      this.#ms = ms;
      this.#timestamp = timestampFromDate(new Date(ms));
    }
    return { ms, timestamp: this.#timestamp };
  }
}
