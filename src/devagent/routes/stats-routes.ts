// GET /v1/devagent/stats: read-only counters of the dev agent itself (not a Nomad endpoint), so tests can observe
// how clients use it, e.g. that a plugin process holds a single event stream however many watchers it serves.

import { sendJson } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { EventBuffer } from "./event-routes.js";

export interface DevAgentStats {
  EventStreams: { Open: number; Opened: number };
  /** Index of the newest event batch published (0 before the first). */
  Events: { LastIndex: number };
  /**
   * Requests served per "METHOD /path" (query left out), e.g. "POST /v1/job/x/scale": how often a client asked.
   * Past the first 10,000 distinct paths, requests of new paths are counted under the key "* (other paths)", so the
   * values always add up to every request served.
   */
  Requests: Record<string, number>;
}

export const otherPathsKey = "* (other paths)";

/**
 * Counts requests per method and path: at most `maxKeys` distinct ones, so a long-lived agent stays small; the rest
 * are counted together, never dropped (a benchmark at 2,000 instances touches more than 10,000 paths).
 */
export class RequestCounter {
  readonly #counts = new Map<string, number>();
  #other = 0;
  constructor(private readonly maxKeys = 10_000) {}

  count(method: string, path: string): void {
    const key = `${method} ${path}`;
    const n = this.#counts.get(key);
    if (n !== undefined) this.#counts.set(key, n + 1);
    else if (this.#counts.size < this.maxKeys) this.#counts.set(key, 1);
    else this.#other++;
  }

  toJSON(): Record<string, number> {
    const out = Object.fromEntries(this.#counts);
    if (this.#other > 0) out[otherPathsKey] = this.#other;
    return out;
  }
}

export function registerStatsRoutes(router: Router, events: EventBuffer, requests: RequestCounter): void {
  router.add("GET", "/v1/devagent/stats", (ctx) => {
    const stats: DevAgentStats = {
      EventStreams: { Open: events.streams.open, Opened: events.streams.opened },
      Events: { LastIndex: events.lastIndex },
      Requests: requests.toJSON(),
    };
    sendJson(ctx.res, stats);
  });
}
