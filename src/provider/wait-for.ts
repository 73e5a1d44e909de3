// Waits for an instance to reach a condition, driven by Nomad blocking queries on the job's allocations (every
// placement, task state or health change bumps their index), until a time limit. Returns the last snapshot either way.

import type { NomadHttp } from "../nomad/nomad-http.js";
import { listJobAllocations } from "../nomad/jobs.js";
import { Code, ProviderError } from "../errors.js";
import { AllocPortCache, readInstanceStatus, type StatusSnapshot } from "./status.js";

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
  const cache = new AllocPortCache();
  let snapshot = await readInstanceStatus(nomad, jobId, options.signal, cache);
  while (!done(snapshot)) {
    const remaining = options.until - Date.now();
    if (remaining <= 0) return { snapshot, reached: false };
    await blockForChange(nomad, jobId, snapshot.allocationsIndex, remaining, options.signal);
    snapshot = await readInstanceStatus(nomad, jobId, options.signal, cache);
  }
  return { snapshot, reached: true };
}

/** Returns when the allocations changed past `index`, or after `ms`. Never returns sooner than a short pause
 * when the agent answers without blocking, so a server that ignores `index` cannot make this spin. */
async function blockForChange(
  nomad: NomadHttp,
  jobId: string,
  index: bigint | undefined,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  const started = Date.now();
  const timeout = AbortSignal.timeout(Math.max(1, ms));
  try {
    const res = await listJobAllocations(nomad, jobId, {
      index: index ?? 1n,
      waitMs: ms,
      signal: AbortSignal.any([signal, timeout]),
    });
    if (res.index !== undefined && index !== undefined && res.index > index) return;
  } catch (err) {
    if (signal.aborted) throw err;
    if (timeout.aborted) return;
    if (!(err instanceof ProviderError) || err.code !== Code.Unavailable) throw err;
  }
  const pause = Math.min(ms, 100) - (Date.now() - started);
  if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
}
