// GET /v1/devagent/stats: read-only counters of the dev agent itself (not a Nomad endpoint), so tests can observe
// how clients use it, e.g. that a plugin process holds a single event stream however many watchers it serves.

import { sendJson } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { EventBuffer } from "./event-routes.js";

export interface DevAgentStats {
  EventStreams: { Open: number; Opened: number };
  /** Index of the newest event batch published (0 before the first). */
  Events: { LastIndex: number };
  /** Requests served per "METHOD /path" (query left out), e.g. "POST /v1/job/x/scale": how often a client asked. */
  Requests: Record<string, number>;
}

/** Counts requests per method and path (at most `maxKeys` distinct ones, so a long-lived agent stays small). */
export class RequestCounter {
  readonly #counts = new Map<string, number>();
  constructor(private readonly maxKeys = 10_000) {}

  count(method: string, path: string): void {
    const key = `${method} ${path}`;
    const n = this.#counts.get(key);
    if (n !== undefined) this.#counts.set(key, n + 1);
    else if (this.#counts.size < this.maxKeys) this.#counts.set(key, 1);
  }

  toJSON(): Record<string, number> {
    return Object.fromEntries(this.#counts);
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
