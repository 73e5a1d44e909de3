// Waits for an instance to reach a condition, until a time limit; returns the last snapshot either way. While the
// process's instance cache is live (something started it: Status, WatchStatus, Logs...), the snapshots come from it
// and each of its changes to the job re-checks: no Nomad request (the write's own index is waited for, as for
// Status). Otherwise Nomad is read, driven by blocking queries on the job's allocations (every placement, task state
// or health change bumps their index) and its latest deployment.

import { linkedSignal } from "../trace-context.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { listJobAllocations, readLatestDeployment } from "../nomad/jobs.js";
import { Code, ProviderError } from "../errors.js";
import { AllocPortCache, readInstanceStatus, type StatusSnapshot } from "./status.js";
import { startedInstanceCache } from "./instance-cache.js";
import { ChangeSignal } from "./change-signal.js";

export interface WaitOptions {
  signal: AbortSignal;
  /** Epoch ms. */
  until: number;
}

export interface WaitResult {
  snapshot: StatusSnapshot;
  /** True when `done` held; false when time ran out first. */
  reached: boolean;
}

export async function waitForInstance(
  nomad: NomadHttp,
  jobId: string,
  done: (snapshot: StatusSnapshot) => boolean,
  options: WaitOptions,
): Promise<WaitResult> {
  const ports = new AllocPortCache();
  const cache = startedInstanceCache(nomad);
  // Subscribed before the first read, so a change between the two is not missed.
  const changes = new ChangeSignal();
  const unfollow = cache?.follow(jobId, changes);
  const current = async () => (await cache?.snapshot(jobId, options.signal)) ?? (await readInstanceStatus(nomad, jobId, options.signal, ports));
  try {
    let snapshot = await current();
    while (!done(snapshot)) {
      const remaining = options.until - Date.now();
      if (remaining <= 0) return { snapshot, reached: false };
      if (snapshot.cached) await nextChange(changes, remaining, options.signal);
      else await blockForChange(nomad, jobId, snapshot, remaining, options.signal);
      snapshot = await current();
    }
    return { snapshot, reached: true };
  } finally {
    unfollow?.();
  }
}

/** The cache's next change of the job (or of its state), or `ms` passing; throws only when `signal` aborts. */
async function nextChange(changes: ChangeSignal, ms: number, signal: AbortSignal): Promise<void> {
  try {
    await changes.next(linkedSignal([signal, AbortSignal.timeout(Math.max(1, ms))]));
  } catch (err) {
    if (signal.aborted) throw err;
  }
}

/**
 * Returns when the allocations or the latest deployment changed past the snapshot's indexes, or after `ms`. Never
 * returns sooner than a short pause when the agent answers without blocking, so an agent that ignores `index`
 * cannot make the caller spin.
 */
async function blockForChange(nomad: NomadHttp, jobId: string, snapshot: StatusSnapshot, ms: number, signal: AbortSignal): Promise<void> {
  const started = Date.now();
  const done = new AbortController();
  const timeout = AbortSignal.timeout(Math.max(1, ms));
  const both = linkedSignal([signal, timeout, done.signal]);
  const watch = async (read: () => Promise<bigint | undefined>, seen: bigint | undefined) => {
    const index = await read();
    if (index !== undefined && seen !== undefined && index > seen) done.abort();
    else await new Promise<void>((resolve) => both.addEventListener("abort", () => resolve(), { once: true }));
  };
  const opts = (index: bigint | undefined) => ({ index: index ?? 1n, waitMs: ms, signal: both });
  try {
    await Promise.race([
      watch(async () => (await listJobAllocations(nomad, jobId, opts(snapshot.allocationsIndex))).index, snapshot.allocationsIndex),
      watch(async () => (await readLatestDeployment(nomad, jobId, opts(snapshot.deploymentIndex))).index, snapshot.deploymentIndex),
    ]);
  } catch (err) {
    if (signal.aborted) throw err;
    if (!timeout.aborted && !done.signal.aborted && !(err instanceof ProviderError && err.code === Code.Unavailable)) throw err;
  } finally {
    done.abort();
  }
  const pause = Math.min(ms, 100) - (Date.now() - started);
  if (pause > 0 && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, pause));
}
