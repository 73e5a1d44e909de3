// Nomad's event stream (GET /v1/event/stream): newline-delimited JSON, one {"Index":N,"Events":[...]} per line and
// a `{}` heartbeat right after connecting and then every 30 s. readEventStream yields the batches of one connection;
// followEventStream reconnects after a drop from the last index it delivered, never delivering an index twice.

import { delayUnlessAborted } from "../abortable-delay.js";
import { linkedSignal } from "../trace-context.js";
import type { NomadHttp } from "./nomad-http.js";
import type { EventBatch, StreamEvent } from "./types.js";
import { Code, ProviderError } from "../errors.js";

/** Nomad sends a heartbeat every 30 s; twice that without a byte means the connection is dead. */
const defaultIdleTimeoutMs = 65_000;

export interface EventStreamOptions {
  /** e.g. ["Job:*", "Allocation:*"] or ["Job:cp-x"]. */
  topics: string[];
  /** Start at this index (the server may start later when it has dropped older events). */
  index?: number;
  signal?: AbortSignal;
  idleTimeoutMs?: number;
}

/** A batch of events at one index. */
export interface IndexedBatch {
  index: number;
  events: StreamEvent[];
}

/** What one connection delivers: batches, and heartbeats (the first arrives right after connecting). */
export type StreamItem = IndexedBatch | { heartbeat: true };

/** Splits a byte stream into JSON values, one per non-empty line; a multi-byte character may span chunks. */
export async function* ndjson(chunks: AsyncIterable<Uint8Array | string>): AsyncGenerator<unknown> {
  const decoder = new TextDecoder();
  let pending = "";
  for await (const chunk of chunks) {
    pending += typeof chunk === "string" ? chunk : decoder.decode(chunk, { stream: true });
    let newline: number;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = pending.slice(0, newline).trim();
      pending = pending.slice(newline + 1);
      if (line) yield parseLine(line);
    }
  }
  const rest = (pending + decoder.decode()).trim();
  if (rest) yield parseLine(rest);
}

function parseLine(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new ProviderError(Code.Unavailable, `nomad: event stream: malformed line: ${line.slice(0, 200)}`);
  }
}

/** One connection's items; ends when Nomad closes the stream, throws UNAVAILABLE when it goes silent. */
export async function* readEventStream(nomad: NomadHttp, options: EventStreamOptions): AsyncGenerator<StreamItem> {
  const local = new AbortController();
  const signal = options.signal ? linkedSignal([options.signal, local.signal]) : local.signal;
  const { body } = await nomad.stream("GET", "/v1/event/stream", {
    query: { topic: options.topics, index: options.index && options.index > 0 ? options.index : undefined },
    signal,
    what: "event stream",
  });
  const idleMs = options.idleTimeoutMs ?? defaultIdleTimeoutMs;
  let idle: NodeJS.Timeout | undefined;
  const armIdle = () => {
    clearTimeout(idle);
    idle = setTimeout(() => {
      body.destroy(new ProviderError(Code.Unavailable, `nomad: event stream: no heartbeat for ${idleMs} ms`));
    }, idleMs);
  };
  const watched = (async function* () {
    armIdle();
    for await (const chunk of body) {
      armIdle();
      yield chunk;
    }
  })();
  try {
    for await (const value of ndjson(watched)) {
      const batch = value as EventBatch;
      if (typeof batch.Index !== "number") yield { heartbeat: true };
      else yield { index: batch.Index, events: batch.Events ?? [] };
    }
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    if (options.signal?.aborted) throw ProviderError.from(options.signal.reason ?? err, Code.Canceled);
    throw new ProviderError(Code.Unavailable, `nomad: event stream dropped: ${(err as Error)?.message ?? err}`, { cause: err });
  } finally {
    clearTimeout(idle);
    local.abort();
    body.destroy();
  }
}

export type StreamNotice =
  | { kind: "batch"; batch: IndexedBatch }
  /** A (re)connection was established; events between the drop and now may only be known by re-reading state. */
  | { kind: "connected"; resumedFrom: number }
  /** The connection failed; the follower retries after `retryInMs`. */
  | { kind: "down"; error: ProviderError; retryInMs: number };

export interface FollowOptions extends EventStreamOptions {
  /** Backoff bounds between reconnection attempts. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
}

/** Errors that reconnecting cannot fix: the agent has no event stream, or refuses us. */
export function isPermanentStreamError(err: ProviderError): boolean {
  return [Code.NotFound, Code.Unimplemented, Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated].includes(
    err.code,
  );
}

/**
 * Follows the stream forever (until the signal aborts or a permanent error is thrown), reconnecting from the last
 * delivered index. Nomad resumes inclusively (its event buffer's StartAtClosest sends the batch at that index again,
 * and an index past the newest batch re-sends the newest), so a batch at or below an index already delivered is
 * dropped: nothing arrives twice.
 */
export async function* followEventStream(nomad: NomadHttp, options: FollowOptions): AsyncGenerator<StreamNotice> {
  let last = options.index ?? 0;
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let backoff = minBackoff;
  while (!options.signal?.aborted) {
    try {
      let announced = false;
      for await (const item of readEventStream(nomad, { ...options, index: last })) {
        if (!announced) {
          announced = true;
          backoff = minBackoff;
          yield { kind: "connected", resumedFrom: last };
        }
        if ("heartbeat" in item) continue;
        const batch = item;
        if (batch.index <= last) continue;
        last = batch.index;
        yield { kind: "batch", batch };
      }
      if (!announced) backoff = Math.min(backoff * 2, maxBackoff);
      yield { kind: "down", error: new ProviderError(Code.Unavailable, "nomad: event stream closed"), retryInMs: backoff };
    } catch (err) {
      const error = ProviderError.from(err, Code.Unavailable);
      if (options.signal?.aborted) return;
      if (isPermanentStreamError(error)) throw error;
      yield { kind: "down", error, retryInMs: backoff };
      await delayUnlessAborted(backoff, options.signal);
      backoff = Math.min(backoff * 2, maxBackoff);
      continue;
    }
    await delayUnlessAborted(backoff, options.signal);
  }
}

