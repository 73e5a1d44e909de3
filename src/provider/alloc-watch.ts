// One blocking query per job on its allocation list, shared by every stream that needs to know when allocations
// appear or end (Logs follow). Listeners get each new list; the loop stops when the last listener leaves.

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
}

export class AllocWatch {
  readonly #nomad: NomadHttp;
  readonly #watches = new Map<string, Watch>();
  readonly #waitMs: number;

  constructor(nomad: NomadHttp, options: AllocWatchOptions = {}) {
    this.#nomad = nomad;
    this.#waitMs = options.waitMs ?? 30_000;
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
    while (!watch.abort.signal.aborted) {
      try {
        const res = await listJobAllocations(this.#nomad, jobId, { index, waitMs: this.#waitMs, signal: watch.abort.signal });
        failures = 0;
        if (index !== undefined && res.index === index && watch.latest) continue;
        // An index going backwards means Nomad restarted or lost state: re-read without blocking.
        index = res.index !== undefined && (index === undefined || res.index > index) ? res.index : undefined;
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
