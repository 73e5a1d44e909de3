// Nomad's blocking queries: a read with ?index=<X-Nomad-Index>&wait=<duration> returns when the data changed past
// that index or the wait ran out (possibly with nothing changed). The index of each answer feeds the next read.

import type { Query } from "./nomad-http.js";

export interface ReadOptions {
  signal?: AbortSignal;
  /** Block until the data's index passes this one. */
  index?: bigint;
  /** How long Nomad may hold the read (ms); Nomad caps it at 10 minutes. Default 5 minutes when `index` is set. */
  waitMs?: number;
}

/** The query parameters of a (possibly blocking) read. */
export function blockingQuery(options: ReadOptions, extra: Query = {}): Query {
  if (options.index === undefined) return extra;
  const waitMs = Math.max(1, Math.min(options.waitMs ?? 300_000, 600_000));
  return { ...extra, index: options.index.toString(), wait: `${Math.ceil(waitMs)}ms` };
}

/** A read answer with the index to block on next. */
export interface Indexed<T> {
  value: T;
  index: bigint | undefined;
}
