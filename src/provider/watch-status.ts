// WatchStatus. One upstream Nomad event stream per transport (so per plugin process) serves every watcher: events
// only say "job X changed"; each watcher then re-reads its instance's status and sends it when it differs from the
// last one sent. Re-reading instead of folding events keeps every message exact, and after a reconnection (resumed
// from the last index) every watcher re-reads once, so a change during a drop is never lost or sent twice.
// While the event stream cannot be had (refused, or failing to reconnect), namespace-wide blocking queries stand in
// for it (watch-fallback.ts); the stream keeps being retried, and once it is back the fallback stops.

import { create, equals } from "@bufbuild/protobuf";
import { InstanceState, InstanceStatusSchema, type InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { StreamEvent } from "../nomad/types.js";
import { followEventStream } from "../nomad/event-stream.js";
import { Code, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import { AllocPortCache, readInstanceStatus } from "./status.js";
import { followNamespaceChanges } from "./watch-fallback.js";

/** A watcher's doorbell: rings coalesce until the watcher comes back for the next one. */
export class ChangeSignal {
  #pending = false;
  #wake: (() => void) | undefined;

  ring(): void {
    this.#pending = true;
    this.#wake?.();
  }

  /** Resolves at the next ring (at once if one came since the last call); rejects when the signal aborts. */
  next(signal: AbortSignal): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.#wake = undefined;
        reject(signal.reason);
      };
      signal.addEventListener("abort", onAbort, { once: true });
      this.#wake = () => {
        this.#wake = undefined;
        this.#pending = false;
        signal.removeEventListener("abort", onAbort);
        resolve();
      };
    });
  }
}

interface Watcher {
  jobId: string;
  changes: ChangeSignal;
}

export class StatusHub {
  readonly #nomad: NomadHttp;
  readonly #log: Logger;
  readonly #watchers = new Set<Watcher>();
  #upstream: AbortController | undefined;
  /** The namespace-wide blocking-query follower, while the event stream cannot be used. */
  #fallback: AbortController | undefined;
  /** The agent refused the event stream for good (404, 403...): don't ask again until every watcher has left. */
  #streamRefused = false;
  /**
   * The last batch index the stream delivered, kept across upstream restarts. A new upstream starts there: Nomad
   * sends every batch still in its buffer to a subscription without an index, and watchers re-read on every
   * connection anyway, so that history would only cost reads.
   */
  #lastIndex = 0;

  constructor(nomad: NomadHttp, log: Logger) {
    this.#nomad = nomad;
    this.#log = log;
  }

  /** True while watchers follow their jobs with blocking queries because the event stream is unusable. */
  get usingFallback(): boolean {
    return this.#fallback !== undefined;
  }

  get upstreamActive(): boolean {
    return this.#upstream !== undefined;
  }

  watch(jobId: string): Watcher {
    const watcher: Watcher = { jobId, changes: new ChangeSignal() };
    this.#watchers.add(watcher);
    if (!this.#streamRefused) this.#startUpstream();
    return watcher;
  }

  unwatch(watcher: Watcher): void {
    this.#watchers.delete(watcher);
    if (this.#watchers.size === 0) {
      this.#upstream?.abort();
      this.#upstream = undefined;
      this.#leaveFallback();
      this.#streamRefused = false;
    }
  }

  #ring(jobId: string | undefined): void {
    for (const w of this.#watchers) if (jobId === undefined || w.jobId === jobId) w.changes.ring();
  }

  #startUpstream(): void {
    if (this.#upstream) return;
    const controller = new AbortController();
    this.#upstream = controller;
    void this.#follow(controller.signal).finally(() => {
      if (this.#upstream === controller) this.#upstream = undefined;
    });
  }

  async #follow(signal: AbortSignal): Promise<void> {
    const topics = ["Job:*", "Allocation:*", "Deployment:*"];
    // Whether the stream has been up since the last failure: one drop of a working stream is bridged by resuming
    // from the last index, but a failed (re)connection leaves watchers blind until the stream is back.
    let up = false;
    try {
      for await (const notice of followEventStream(this.#nomad, { topics, signal, index: this.#lastIndex })) {
        if (signal.aborted) return;
        if (notice.kind === "connected") {
          up = true;
          if (this.#leaveFallback()) this.#log.info("event stream back; blocking-query fallback stopped");
          // Whatever happened before this connection (watchers that just read, or a drop) is re-read by everyone.
          this.#ring(undefined);
        } else if (notice.kind === "down") {
          this.#log.debug("event stream down; reconnecting", { error: notice.error.message, retry_ms: notice.retryInMs });
          if (!up) this.#enterFallback(notice.error);
          up = false;
        } else {
          this.#lastIndex = Math.max(this.#lastIndex, notice.batch.index);
          for (const event of notice.batch.events) this.#ring(eventJobId(event, this.#nomad.namespace));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      this.#streamRefused = true;
      this.#enterFallback(err);
    }
  }

  #enterFallback(error: unknown): void {
    if (this.#fallback || this.#watchers.size === 0) return;
    this.#log.warn("event stream unusable; following jobs with blocking queries", { error });
    this.#fallback = new AbortController();
    const watched = () => new Set([...this.#watchers].map((w) => w.jobId));
    followNamespaceChanges(this.#nomad, { watched, ring: (jobId) => this.#ring(jobId) }, this.#log, this.#fallback.signal);
  }

  /** Stops the fallback; true if one was running. */
  #leaveFallback(): boolean {
    const running = this.#fallback;
    running?.abort();
    this.#fallback = undefined;
    return running !== undefined;
  }
}

/** The job an event is about, or undefined for events of other namespaces or without a job. */
export function eventJobId(event: StreamEvent, namespace: string): string | undefined {
  if (event.Namespace && namespace && event.Namespace !== namespace) return undefined;
  const p = event.Payload;
  switch (event.Topic) {
    case "Job":
      return p?.Job?.ID ?? event.Key;
    case "Allocation":
      return p?.Allocation?.JobID ?? event.FilterKeys?.[0];
    case "Deployment":
      return p?.Deployment?.JobID ?? event.FilterKeys?.[0];
    case "Evaluation":
      return p?.Evaluation?.JobID ?? event.FilterKeys?.[0];
    default:
      return undefined;
  }
}

const hubs = new WeakMap<NomadHttp, StatusHub>();

/** The process-wide hub of a transport. */
export function statusHub(nomad: NomadHttp, log: Logger): StatusHub {
  let hub = hubs.get(nomad);
  if (!hub) {
    hub = new StatusHub(nomad, log);
    hubs.set(nomad, hub);
  }
  return hub;
}

/** The instance's status now, then each time it changes; DESTROYED (and the end) when the job disappears. */
export async function* watchInstanceStatus(
  hub: StatusHub,
  nomad: NomadHttp,
  jobId: string,
  signal: AbortSignal,
): AsyncGenerator<InstanceStatus> {
  // Subscribe before the first read so a change between the two is not missed.
  const watcher = hub.watch(jobId);
  const cache = new AllocPortCache();
  let last: InstanceStatus | undefined;
  try {
    for (;;) {
      let status: InstanceStatus | undefined;
      try {
        status = (await readInstanceStatus(nomad, jobId, signal, cache)).status;
      } catch (err) {
        if (signal.aborted) return;
        const code = err instanceof ProviderError ? err.code : undefined;
        if (code === Code.NotFound && last) {
          yield create(InstanceStatusSchema, { state: InstanceState.DESTROYED, message: "job no longer exists" });
          return;
        }
        // A transient failure mid-watch: the next change (or the reconnection) triggers another read.
        if (!last || code !== Code.Unavailable) throw err;
      }
      if (status && (!last || !equals(InstanceStatusSchema, last, status))) {
        last = status;
        yield status;
      }
      try {
        await watcher.changes.next(signal);
      } catch {
        return;
      }
    }
  } finally {
    hub.unwatch(watcher);
  }
}
