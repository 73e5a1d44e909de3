// One watch per job on its allocation list, shared by every stream that needs to know when allocations appear or
// end (Logs follow). Listeners get each list that differs from the last one; the watch stops when the last listener
// leaves.
//
// While the plugin's instance cache is live the watch is fed by it: the cache already follows every instance's
// allocations on one event stream, so a followed job costs no Nomad request. While the cache is not live (priming,
// stream down or refused) the watch runs its own blocking query on the job's allocation list, and it switches back
// as soon as the cache is live again (the blocking read is abandoned; the cache's list is then read at once).
//
// Nomad answers Job.Allocations with the allocs *table* index: in a busy cluster every allocation change anywhere
// moves it, and a read blocked on the old index returns at once with the same list. So a new index alone is no news:
// listeners hear of a list only when an allocation of this job was added, removed or modified (its ModifyIndex), and
// the reads are paced (at most one per minIntervalMs) so other jobs' churn cannot turn the watch into a busy loop.
// The same fingerprint dedupes the cache's notifications (any batch touching the job) and the switches between the
// two sources.

import { setTimeout as sleep } from "node:timers/promises";
import { Code, ProviderError } from "../errors.js";
import { listJobAllocations } from "../nomad/jobs.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { AllocListStub } from "../nomad/types.js";
import type { InstanceCache } from "./instance-cache.js";
import { ChangeSignal } from "./change-signal.js";

export type AllocListener = (allocs: AllocListStub[] | ProviderError) => void;

interface Watch {
  listeners: Set<AllocListener>;
  abort: AbortController;
  latest: AllocListStub[] | undefined;
  /** The fingerprint of `latest`. */
  seen: string | undefined;
}

export interface AllocWatchOptions {
  /** How long one blocking read may be held by Nomad. Default 30 s. */
  waitMs?: number;
  /** Least time between the starts of two reads of one job's list. Default 1 s. */
  minIntervalMs?: number;
  /** The plugin's instance cache: while it is live, it feeds the watches instead of blocking queries. */
  cache?: InstanceCache;
}

export class AllocWatch {
  readonly #nomad: NomadHttp;
  readonly #cache: InstanceCache | undefined;
  readonly #watches = new Map<string, Watch>();
  readonly #waitMs: number;
  readonly #minIntervalMs: number;

  constructor(nomad: NomadHttp, options: AllocWatchOptions = {}) {
    this.#nomad = nomad;
    this.#cache = options.cache;
    this.#waitMs = options.waitMs ?? 30_000;
    this.#minIntervalMs = options.minIntervalMs ?? 1_000;
  }

  /** Calls `listener` with the current list (as soon as known) and every change; returns the unsubscribe function. */
  subscribe(jobId: string, listener: AllocListener): () => void {
    let watch = this.#watches.get(jobId);
    if (!watch) {
      watch = { listeners: new Set(), abort: new AbortController(), latest: undefined, seen: undefined };
      this.#watches.set(jobId, watch);
      void this.#loop(jobId, watch);
    } else if (watch.latest) {
      const latest = watch.latest;
      queueMicrotask(() => listener(latest));
    }
    watch.listeners.add(listener);
    const w = watch;
    return () => {
      w.listeners.delete(listener);
      if (w.listeners.size > 0) return;
      w.abort.abort();
      if (this.#watches.get(jobId) === w) this.#watches.delete(jobId);
    };
  }

  async #loop(jobId: string, watch: Watch): Promise<void> {
    const cache = this.#cache;
    while (!watch.abort.signal.aborted) {
      if (cache?.live) await this.#fromCache(cache, jobId, watch);
      else if (!(await this.#fromNomad(jobId, watch))) return;
    }
  }

  /** Tells the listeners of a list unless it is the one they heard last. */
  #publish(watch: Watch, allocs: AllocListStub[]): void {
    const fingerprint = listFingerprint(allocs);
    if (fingerprint === watch.seen && watch.latest) return;
    watch.seen = fingerprint;
    watch.latest = allocs;
    for (const l of watch.listeners) l(allocs);
  }

  /** Publishes the cache's list of the job at once and after each batch touching it; returns once the cache is not live. */
  async #fromCache(cache: InstanceCache, jobId: string, watch: Watch): Promise<void> {
    const signal = watch.abort.signal;
    // Rung by the cache's event loop (a batch touching the job, or a state change); the listeners run here.
    const changes = new ChangeSignal();
    const unfollow = cache.follow(jobId, changes);
    try {
      for (;;) {
        const allocs = cache.allocationList(jobId);
        if (!allocs || signal.aborted) return;
        this.#publish(watch, allocs);
        // Rejects only when the watch ends.
        if (!(await changes.next(signal).then(() => true, () => false))) return;
      }
    } finally {
      unfollow();
    }
  }

  /**
   * Blocking queries on the job's allocation list until the cache (if any) is live again; false once the watch ended
   * with an error (told to the listeners).
   */
  async #fromNomad(jobId: string, watch: Watch): Promise<boolean> {
    const live = new AbortController();
    const offLive = this.#cache?.onLiveChange((isLive) => {
      if (isLive) live.abort();
    });
    const signal = AbortSignal.any([watch.abort.signal, live.signal]);
    let index: bigint | undefined;
    let failures = 0;
    let lastRead = -Infinity;
    try {
      while (!signal.aborted) {
        try {
          const wait = lastRead + this.#minIntervalMs - performance.now();
          if (wait > 0) await sleep(wait, undefined, { signal });
          lastRead = performance.now();
          const res = await listJobAllocations(this.#nomad, jobId, { index, waitMs: this.#waitMs, signal });
          failures = 0;
          // An index going backwards means Nomad restarted or lost state: re-read without blocking.
          index = res.index !== undefined && (index === undefined || res.index > index) ? res.index : undefined;
          this.#publish(watch, res.value);
        } catch (err) {
          if (signal.aborted) return true;
          const e = ProviderError.from(err, Code.Unavailable);
          if (e.code !== Code.Unavailable || ++failures > 5) {
            if (this.#watches.get(jobId) === watch) this.#watches.delete(jobId);
            for (const l of watch.listeners) l(e);
            return false;
          }
          await sleep(200 * failures, undefined, { signal }).catch(() => undefined);
        }
      }
      return true;
    } finally {
      offLive?.();
    }
  }
}

/** What identifies a version of the list: each allocation and its ModifyIndex (any change to it moves that). */
function listFingerprint(allocs: AllocListStub[]): string {
  return allocs
    .map((a) => `${a.ID}@${a.ModifyIndex}/${a.ClientStatus}/${a.DesiredStatus}`)
    .sort()
    .join(",");
}
