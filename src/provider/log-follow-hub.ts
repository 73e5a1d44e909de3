// Shares one upstream follow connection per (allocation, task, stream) among every Logs call following it, so a
// thousand clients tailing one service cost one Nomad connection per allocation, not a thousand.
//
// Each follower has an exact start position. It joins the shared upstream and, when the upstream is already past that
// position, first catches up with its own non-follow read (which ends where the upstream was when it joined when that
// is in file 0 and the read can be plain, otherwise at the end of the file, at or past that point). Shared chunks before the follower's position are trimmed. A follower that falls behind
// by more than queueLimitBytes is dropped from the shared upstream and catches up again on its own, so a slow client
// costs neither memory nor the other followers' speed.

import { Code, ProviderError } from "../errors.js";
import { comparePositions, readLog, type LogChunk, type LogPosition, type LogType } from "../nomad/logs.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { isNoPathToNode } from "../nomad/nomad-error.js";

export interface LogFollowHubOptions {
  /** Bytes a follower may have queued before it is detached to catch up on its own. Default 4 MiB. */
  queueLimitBytes?: number;
  idleTimeoutMs?: number;
}

export interface FollowTarget {
  allocId: string;
  task: string;
  type: LogType;
}

const OVERFLOW = Symbol("overflow");

class Follower {
  readonly #queue: LogChunk[] = [];
  #bytes = 0;
  #wake: (() => void) | undefined;
  overflowed = false;
  failure: ProviderError | undefined;

  constructor(
    public floor: LogPosition,
    readonly limit: number,
  ) {}

  offer(chunk: LogChunk): void {
    // A truncation moves positions backwards; it is always news to a follower.
    if (this.overflowed || (!chunk.truncated && comparePositions(chunk.end, this.floor) <= 0)) return;
    this.#queue.push(chunk);
    this.#bytes += chunk.data.length;
    if (this.#bytes > this.limit) this.overflowed = true;
    this.#notify();
  }

  fail(err: ProviderError): void {
    this.failure = err;
    this.#notify();
  }

  /**
   * The next queued chunk; OVERFLOW once the queue ran dry after an overflow; undefined when `stop` fired.
   * Throws when `signal` aborts (the call is gone) or the upstream failed for good.
   */
  async next(stop: AbortSignal, signal: AbortSignal): Promise<LogChunk | typeof OVERFLOW | undefined> {
    for (;;) {
      if (signal.aborted) throw ProviderError.from(signal.reason, Code.Canceled);
      const chunk = this.#queue.shift();
      if (chunk) {
        this.#bytes -= chunk.data.length;
        return chunk;
      }
      if (this.failure) throw this.failure;
      if (this.overflowed) return OVERFLOW;
      if (stop.aborted) return undefined;
      await new Promise<void>((resolve) => {
        const done = () => {
          stop.removeEventListener("abort", done);
          signal.removeEventListener("abort", done);
          this.#wake = undefined;
          resolve();
        };
        this.#wake = done;
        stop.addEventListener("abort", done, { once: true });
        signal.addEventListener("abort", done, { once: true });
      });
    }
  }

  #notify(): void {
    this.#wake?.();
  }
}

class Upstream {
  readonly followers = new Set<Follower>();
  readonly abort = new AbortController();
  position: LogPosition;

  constructor(start: LogPosition) {
    this.position = start;
  }
}

export class LogFollowHub {
  readonly #nomad: NomadHttp;
  readonly #upstreams = new Map<string, Upstream>();
  readonly #queueLimit: number;
  readonly #idleTimeoutMs: number | undefined;

  constructor(nomad: NomadHttp, options: LogFollowHubOptions = {}) {
    this.#nomad = nomad;
    this.#queueLimit = options.queueLimitBytes ?? 4 * 1024 * 1024;
    this.#idleTimeoutMs = options.idleTimeoutMs;
  }

  /** Open upstream connections (for tests and metrics). */
  get upstreamCount(): number {
    return this.#upstreams.size;
  }

  /**
   * Follows a task's log from `from`. Ends (returns) when `stop` fires and everything received so far was yielded;
   * the caller then reads any remainder with a non-follow read. Throws when the upstream fails for good or `signal`
   * aborts.
   */
  async *follow(target: FollowTarget, from: LogPosition, stop: AbortSignal, signal: AbortSignal): AsyncGenerator<LogChunk> {
    let position = from;
    while (!stop.aborted) {
      const { follower, upstream } = this.#attach(target, position);
      try {
        const joinedAt = upstream.position;
        if (comparePositions(joinedAt, position) > 0) {
          // Up to where the upstream was (every later chunk is queued for this follower); plain when in file 0.
          const options = { ...this.#readOptions(target, false, signal), plain: { until: joinedAt } };
          for await (const chunk of readLog(this.#nomad, target.allocId, { position }, options)) {
            position = chunk.end;
            follower.floor = position;
            yield chunk;
          }
        }
        for (;;) {
          const next = await follower.next(stop, signal);
          if (next === undefined) return;
          if (next === OVERFLOW) break;
          const chunk = trim(next, position);
          if (!chunk) continue;
          position = chunk.end;
          follower.floor = position;
          yield chunk;
        }
      } finally {
        this.#detach(target, upstream, follower);
      }
    }
  }

  #readOptions(target: FollowTarget, follow: boolean, signal: AbortSignal) {
    return { task: target.task, type: target.type, follow, signal, idleTimeoutMs: this.#idleTimeoutMs };
  }

  #attach(target: FollowTarget, position: LogPosition): { follower: Follower; upstream: Upstream } {
    const key = `${target.allocId}\u0000${target.task}\u0000${target.type}`;
    let upstream = this.#upstreams.get(key);
    if (!upstream) {
      upstream = new Upstream(position);
      this.#upstreams.set(key, upstream);
      void this.#pump(key, target, upstream);
    }
    const follower = new Follower(position, this.#queueLimit);
    upstream.followers.add(follower);
    return { follower, upstream };
  }

  #detach(target: FollowTarget, upstream: Upstream, follower: Follower): void {
    upstream.followers.delete(follower);
    if (upstream.followers.size > 0) return;
    upstream.abort.abort();
    const key = `${target.allocId}\u0000${target.task}\u0000${target.type}`;
    if (this.#upstreams.get(key) === upstream) this.#upstreams.delete(key);
  }

  async #pump(key: string, target: FollowTarget, upstream: Upstream): Promise<void> {
    let backoff = nodeRetryMinMs;
    for (;;) {
      try {
        const chunks = readLog(this.#nomad, target.allocId, { position: upstream.position }, this.#readOptions(target, true, upstream.abort.signal));
        for await (const chunk of chunks) {
          backoff = nodeRetryMinMs;
          upstream.position = chunk.end;
          for (const f of upstream.followers) f.offer(chunk);
        }
        // Nomad never ends a follow stream by itself; if the agent did, the followers wait for their stop signal
        // (the allocation's end) and read the rest without following.
        if (this.#upstreams.get(key) === upstream) this.#upstreams.delete(key);
        return;
      } catch (err) {
        if (upstream.abort.signal.aborted) return;
        // The allocation's node is out of reach of every server (a network partition, a restarting client): it may
        // come back, so the follow waits for it, with backoff, until its followers stop (the allocation ended).
        if (isNoPathToNode(err)) {
          if (!(await pauseUnless(backoff, upstream.abort.signal))) return;
          backoff = Math.min(nodeRetryMaxMs, backoff * 2);
          continue;
        }
        const e = ProviderError.from(err, Code.Unavailable);
        if (this.#upstreams.get(key) === upstream) this.#upstreams.delete(key);
        for (const f of upstream.followers) f.fail(e);
        return;
      }
    }
  }
}

/** Backoff bounds while a followed allocation's node cannot be reached. */
const nodeRetryMinMs = 250;
const nodeRetryMaxMs = 10_000;

/** Waits `ms`; false when `signal` aborted first. */
export function pauseUnless(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", done);
      resolve(true);
    }, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/** Drops the part of a shared chunk before `position` (chunks from another file are kept or dropped whole). */
function trim(chunk: LogChunk, position: LogPosition): LogChunk | undefined {
  if (chunk.truncated) return chunk;
  if (comparePositions(chunk.end, position) <= 0) return undefined;
  if (chunk.start.file !== position.file || chunk.start.off >= position.off) return chunk;
  const skip = position.off - chunk.start.off;
  return { data: chunk.data.subarray(skip), start: position, end: chunk.end, restarted: false };
}
