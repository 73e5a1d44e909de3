// WatchStatus without an event stream: three blocking queries on the namespace's lists (jobs, allocations, deployments)
// shared by every watcher of the process. Each answer is reduced to a per-job fingerprint (row count and highest
// ModifyIndex); a watched job whose fingerprint moved is rung. Nomad sends only the rows of the plugin's jobs (`prefix`
// and `filter` on the lists), not the whole namespace's. The connection count stays at three however many instances are
// watched, so a fallback never starves the transport's pool for the plugin's other calls.

import { delayUnlessAborted } from "../abortable-delay.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { listChangeRows, type ChangeRow, type NamespaceList } from "../nomad/namespace-lists.js";
import { jobIdPrefix } from "./instance-id.js";
import type { Logger } from "../log.js";

export interface FallbackTarget {
  /** The jobs someone watches right now. */
  watched(): ReadonlySet<string>;
  ring(jobId: string): void;
}

const lists: NamespaceList[] = ["jobs", "allocations", "deployments"];
const waitMs = 60_000;

/** Follows the lists until the signal aborts. */
export function followNamespaceChanges(nomad: NomadHttp, target: FallbackTarget, log: Logger, signal: AbortSignal): void {
  for (const list of lists) void followList(nomad, list, target, log, signal);
}

async function followList(nomad: NomadHttp, list: NamespaceList, target: FallbackTarget, log: Logger, signal: AbortSignal): Promise<void> {
  let index: bigint | undefined;
  let seen = new Map<string, string>();
  while (!signal.aborted) {
    try {
      const answer = await listChangeRows(nomad, list, { index, waitMs, signal }, jobIdPrefix);
      const now = fingerprints(answer.value, target.watched());
      // The first answer rings everyone: a change between a watcher's last read and this answer would be in the baseline.
      const first = index === undefined;
      for (const jobId of target.watched()) if (first || now.get(jobId) !== seen.get(jobId)) target.ring(jobId);
      seen = now;
      // An index that went backwards (agent restarted with fresh state) must not pin us on a far-future index.
      const next = answer.index !== undefined && index !== undefined && answer.index < index ? 0n : answer.index;
      // Some agents answer a blocking read at once when nothing changed; don't spin on them.
      if (next === undefined || next === index) await delayUnlessAborted(200, signal);
      index = next ?? index;
    } catch (err) {
      if (signal.aborted) return;
      log.debug("fallback list failed; retrying", { list, error: err });
      await delayUnlessAborted(1_000, signal);
    }
  }
}

function fingerprints(rows: ChangeRow[], watched: ReadonlySet<string>): Map<string, string> {
  const acc = new Map<string, { count: number; max: number }>();
  for (const r of rows) {
    if (!watched.has(r.jobId)) continue;
    const a = acc.get(r.jobId) ?? { count: 0, max: 0 };
    a.count++;
    a.max = Math.max(a.max, r.modifyIndex);
    acc.set(r.jobId, a);
  }
  return new Map([...acc].map(([jobId, a]) => [jobId, `${a.count}/${a.max}`]));
}

