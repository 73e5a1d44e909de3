// WatchStatus. One upstream Nomad event stream per transport (so per plugin process) serves every watcher: events
// only say "job X changed"; each watcher then re-reads its instance's status and sends it when it differs from the
// last one sent. Re-reading instead of folding events keeps every message exact, and after a reconnection (resumed
// from the last index) every watcher re-reads once, so a change during a drop is never lost or sent twice.
// When the agent has no event stream (or refuses it), each watcher follows its job with blocking queries instead.

import { create, equals } from "@bufbuild/protobuf";
import { InstanceState, InstanceStatusSchema, type InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { StreamEvent } from "../nomad/types.js";
import { followEventStream } from "../nomad/event-stream.js";
import { listJobAllocations, readJob } from "../nomad/jobs.js";
import { Code, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import { AllocPortCache, readInstanceStatus } from "./status.js";

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
  /** Stops this watcher's blocking-query follower (fallback mode). */
  poller?: AbortController;
}

export class StatusHub {
  readonly #nomad: NomadHttp;
  readonly #log: Logger;
  readonly #watchers = new Set<Watcher>();
  #upstream: AbortController | undefined;
  #fallback = false;

  constructor(nomad: NomadHttp, log: Logger) {
    this.#nomad = nomad;
    this.#log = log;
  }

  /** True once the event stream proved unusable and watchers follow their jobs with blocking queries. */
  get usingFallback(): boolean {
    return this.#fallback;
  }

  get upstreamActive(): boolean {
    return this.#upstream !== undefined;
  }

  watch(jobId: string): Watcher {
    const watcher: Watcher = { jobId, changes: new ChangeSignal() };
    this.#watchers.add(watcher);
    if (this.#fallback) this.#poll(watcher);
    else this.#startUpstream();
    return watcher;
  }

  unwatch(watcher: Watcher): void {
    this.#watchers.delete(watcher);
    watcher.poller?.abort();
    if (this.#watchers.size === 0) {
      this.#upstream?.abort();
      this.#upstream = undefined;
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
    try {
      for await (const notice of followEventStream(this.#nomad, { topics, signal })) {
        if (notice.kind === "connected") {
          // Whatever happened before this connection (watchers that just read, or a drop) is re-read by everyone.
          this.#ring(undefined);
        } else if (notice.kind === "down") {
          this.#log.debug("event stream down; reconnecting", { error: notice.error.message, retry_ms: notice.retryInMs });
        } else {
          for (const event of notice.batch.events) this.#ring(eventJobId(event, this.#nomad.namespace));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      this.#log.warn("event stream unusable; following jobs with blocking queries", { error: err });
      this.#fallback = true;
      for (const w of this.#watchers) this.#poll(w);
    }
  }

  /** Fallback: block on the job and on its allocations; any answer with a new index rings the watcher. */
  #poll(watcher: Watcher): void {
    const controller = new AbortController();
    watcher.poller = controller;
    const { signal } = controller;
    const follow = async (read: (index: bigint | undefined) => Promise<bigint | undefined>) => {
      let index: bigint | undefined;
      while (!signal.aborted) {
        try {
          const next = await read(index);
          if (index !== undefined && next !== undefined && next !== index) watcher.changes.ring();
          if (next === index || next === undefined) await pause(200, signal);
          index = next;
        } catch {
          if (!signal.aborted) await pause(1_000, signal);
        }
      }
    };
    const opts = (index: bigint | undefined) => ({ index, waitMs: 60_000, signal });
    void follow(async (i) => (await listJobAllocations(this.#nomad, watcher.jobId, opts(i))).index);
    void follow(async (i) => (await readJob(this.#nomad, watcher.jobId, opts(i))).index);
    watcher.changes.ring();
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(timer), resolve()), { once: true });
  });
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
