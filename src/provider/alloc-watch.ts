// One blocking query per job on its allocation list, shared by every stream that needs to know when allocations
// appear or end (Logs follow). Listeners get each list that differs from the last one; the loop stops when the last
// listener leaves.
//
// Nomad answers Job.Allocations with the allocs *table* index: in a busy cluster every allocation change anywhere
// moves it, and a read blocked on the old index returns at once with the same list. So a new index alone is no news:
// listeners hear of a list only when an allocation of this job was added, removed or modified (its ModifyIndex), and
// the reads are paced (at most one per minIntervalMs) so other jobs' churn cannot turn the watch into a busy loop.

import { setTimeout as sleep } from "node:timers/promises";
import { Code, ProviderError } from "../errors.js";
import { listJobAllocations } from "../nomad/jobs.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { AllocListStub } from "../nomad/types.js";

export type AllocListener = (allocs: AllocListStub[] | ProviderError) => void;

interface Watch {
  listeners: Set<AllocListener>;
  abort: AbortController;
  latest: AllocListStub[] | undefined;
}

export interface AllocWatchOptions {
  /** How long one blocking read may be held by Nomad. Default 30 s. */
  waitMs?: number;
  /** Least time between the starts of two reads of one job's list. Default 1 s. */
  minIntervalMs?: number;
}

export class AllocWatch {
  readonly #nomad: NomadHttp;
  readonly #watches = new Map<string, Watch>();
  readonly #waitMs: number;
  readonly #minIntervalMs: number;

  constructor(nomad: NomadHttp, options: AllocWatchOptions = {}) {
    this.#nomad = nomad;
    this.#waitMs = options.waitMs ?? 30_000;
    this.#minIntervalMs = options.minIntervalMs ?? 1_000;
  }

  /** Calls `listener` with the current list (as soon as known) and every change; returns the unsubscribe function. */
  subscribe(jobId: string, listener: AllocListener): () => void {
    let watch = this.#watches.get(jobId);
    if (!watch) {
      watch = { listeners: new Set(), abort: new AbortController(), latest: undefined };
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
    let index: bigint | undefined;
    let failures = 0;
    let seen: string | undefined;
    let lastRead = -Infinity;
    while (!watch.abort.signal.aborted) {
      try {
        const wait = lastRead + this.#minIntervalMs - performance.now();
        if (wait > 0) await sleep(wait, undefined, { signal: watch.abort.signal });
        lastRead = performance.now();
        const res = await listJobAllocations(this.#nomad, jobId, { index, waitMs: this.#waitMs, signal: watch.abort.signal });
        failures = 0;
        // An index going backwards means Nomad restarted or lost state: re-read without blocking.
        index = res.index !== undefined && (index === undefined || res.index > index) ? res.index : undefined;
        const fingerprint = listFingerprint(res.value);
        if (fingerprint === seen && watch.latest) continue;
        seen = fingerprint;
        watch.latest = res.value;
        for (const l of watch.listeners) l(res.value);
      } catch (err) {
        if (watch.abort.signal.aborted) return;
        const e = ProviderError.from(err, Code.Unavailable);
        if (e.code !== Code.Unavailable || ++failures > 5) {
          if (this.#watches.get(jobId) === watch) this.#watches.delete(jobId);
          for (const l of watch.listeners) l(e);
          return;
        }
        await sleep(200 * failures, undefined, { signal: watch.abort.signal }).catch(() => undefined);
      }
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
