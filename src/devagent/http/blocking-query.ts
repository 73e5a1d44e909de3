// Nomad's blocking reads: with ?index=N the answer waits until the data's index passes N or ?wait (default 5m,
// at most 10m, plus up to wait/16 jitter) elapses; then it answers with whatever is current, changed or not.

import type { StateStore } from "../state/state-store.js";
import { badRequest } from "./http-error.js";
import { parseGoDuration } from "./go-duration.js";
import type { RequestContext } from "./request-context.js";
import { sendJson, setQueryMeta } from "./reply.js";

const defaultWaitMs = 5 * 60_000;
const maxWaitMs = 10 * 60_000;

export interface QueryResult {
  index: number;
  body: unknown;
}

export function parseBlocking(query: URLSearchParams): { minIndex: number; waitMs: number } {
  const idx = query.get("index");
  const wait = query.get("wait");
  let minIndex = 0;
  let waitMs = defaultWaitMs;
  if (wait) {
    const parsed = parseGoDuration(wait);
    if (parsed === undefined) throw badRequest("Invalid wait time");
    waitMs = Math.min(parsed || defaultWaitMs, maxWaitMs);
  }
  if (idx) {
    if (!/^\d+$/.test(idx)) throw badRequest("Invalid index");
    minIndex = Number(idx);
  }
  return { minIndex, waitMs };
}

/** Runs `run` until its index passes ?index or the wait runs out, then answers with the meta headers set. */
export async function blockingQuery(ctx: RequestContext, store: StateStore, run: () => QueryResult): Promise<void> {
  const { minIndex, waitMs } = parseBlocking(ctx.query);
  let result = run();
  if (minIndex > 0 && result.index <= minIndex) {
    const deadline = Date.now() + waitMs + Math.random() * (waitMs / 16);
    let closed = false;
    let onClose!: () => void;
    const gone = new Promise<void>((r) => (onClose = () => ((closed = true), r())));
    ctx.res.once("close", onClose);
    while (!closed && result.index <= minIndex && Date.now() < deadline) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, deadline - Date.now()))));
      await Promise.race([store.changed(), timeout, gone]);
      clearTimeout(timer);
      result = run();
    }
    ctx.res.off("close", onClose);
    if (closed) return;
  }
  setQueryMeta(ctx.res, result.index);
  sendJson(ctx.res, result.body, 200, ctx.query.has("pretty"));
}
