// WatchStatus, fed by the process's instance cache (instance-cache.ts), whose one event stream serves Status too.
// Each watcher is rung when the cache applies a batch touching its job (or serves again after a re-prime); it then
// takes the job's status from the cache, computed once per change for every watcher and Status call of that job, and
// sends it when it differs from the last one sent. Nothing is re-read per watcher.
// When the cache cannot answer (priming, its stream down or refused, the plugin's own write not applied in time),
// the watcher reads Nomad, and a later cached answer is only taken once the cache has seen at least what that read
// saw (StatusMarks), so a watcher's messages never go backwards when it moves between the two.
// While the cache cannot follow the stream (refused, or failing to reconnect), blocking queries on the lists of the
// plugin's jobs ring the watchers instead (watch-fallback.ts); the cache keeps retrying, and once it serves again the
// fallback stops.
// A re-prime rings every watcher, so a change during a drop is seen once: each watcher compares before sending.

import { create, equals } from "@bufbuild/protobuf";
import { InstanceState, InstanceStatusSchema, type InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { Code, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import { AllocPortCache, readInstanceStatus, type StatusMarks } from "./status.js";
import { followNamespaceChanges } from "./watch-fallback.js";
import { instanceCache, type InstanceCache } from "./instance-cache.js";
import { ChangeSignal } from "./change-signal.js";

interface Watcher {
  jobId: string;
  changes: ChangeSignal;
}

export class StatusHub {
  readonly #cache: InstanceCache;
  readonly #nomad: NomadHttp;
  readonly #log: Logger;
  /** Watchers by job ID: a batch rings the watchers of the jobs it touched, not everyone. */
  readonly #watchers = new Map<string, Set<Watcher>>();
  #count = 0;
  #subscriptions: (() => void)[] = [];
  /** The blocking-query follower (watch-fallback.ts), while the cache cannot follow the event stream. */
  #fallback: AbortController | undefined;

  constructor(nomad: NomadHttp, log: Logger, cache: InstanceCache) {
    this.#nomad = nomad;
    this.#log = log;
    this.#cache = cache;
  }

  /** True while watchers follow their jobs with blocking queries because the event stream is unusable. */
  get usingFallback(): boolean {
    return this.#fallback !== undefined;
  }

  get cache(): InstanceCache {
    return this.#cache;
  }

  watch(jobId: string): Watcher {
    const watcher: Watcher = { jobId, changes: new ChangeSignal() };
    let set = this.#watchers.get(jobId);
    if (!set) this.#watchers.set(jobId, (set = new Set()));
    set.add(watcher);
    if (this.#count++ === 0) this.#subscribe();
    this.#cache.start();
    const state = this.#cache.state;
    if (state === "down" || state === "refused") this.#enterFallback(this.#cache.problem);
    return watcher;
  }

  unwatch(watcher: Watcher): void {
    const set = this.#watchers.get(watcher.jobId);
    if (!set?.delete(watcher)) return;
    if (set.size === 0) this.#watchers.delete(watcher.jobId);
    if (--this.#count > 0) return;
    for (const unsubscribe of this.#subscriptions) unsubscribe();
    this.#subscriptions = [];
    this.#leaveFallback();
  }

  #subscribe(): void {
    this.#subscriptions = [
      this.#cache.onChange((jobIds) => {
        for (const id of jobIds) this.#ring(id);
      }),
      this.#cache.onState((state, was) => {
        if (state === "live") {
          if (this.#leaveFallback()) this.#log.info("event stream back; blocking-query fallback stopped");
          // Watchers of jobs the cache does not hold (gone during the drop) learn it from Nomad.
          this.#ringAll();
        } else if (state === "refused" || (state === "down" && was !== "live")) {
          // One drop of a working stream is bridged by the re-prime; a failed reconnection leaves the cache blind.
          this.#enterFallback(this.#cache.problem);
        }
      }),
    ];
  }

  #ring(jobId: string): void {
    const set = this.#watchers.get(jobId);
    if (set) for (const w of set) w.changes.ring();
  }

  #ringAll(): void {
    for (const set of this.#watchers.values()) for (const w of set) w.changes.ring();
  }

  #enterFallback(error: unknown): void {
    if (this.#fallback || this.#count === 0) return;
    this.#log.warn("event stream unusable; following jobs with blocking queries", { error });
    this.#fallback = new AbortController();
    const watched = () => new Set(this.#watchers.keys());
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

const hubs = new WeakMap<NomadHttp, StatusHub>();

/** The process-wide hub of a transport. */
export function statusHub(nomad: NomadHttp, log: Logger): StatusHub {
  let hub = hubs.get(nomad);
  if (!hub) {
    hub = new StatusHub(nomad, log, instanceCache(nomad, log));
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
  const ports = new AllocPortCache();
  let last: InstanceStatus | undefined;
  // The marks of the last status read from Nomad: the cache must have seen at least that much before it answers.
  let floor: StatusMarks | undefined;
  try {
    for (;;) {
      let status: InstanceStatus | undefined;
      try {
        status = await hub.cache.status(jobId, signal, floor);
        if (status) floor = undefined;
        else {
          const read = await readInstanceStatus(nomad, jobId, signal, ports);
          status = read.status;
          floor = read.marks;
        }
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
