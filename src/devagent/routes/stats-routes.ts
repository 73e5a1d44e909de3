// GET /v1/devagent/stats: read-only counters of the dev agent itself (not a Nomad endpoint), so tests can observe
// how clients use it, e.g. that a plugin process holds a single event stream however many watchers it serves.

import { sendJson } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { EventBuffer } from "./event-routes.js";

export interface DevAgentStats {
  EventStreams: { Open: number; Opened: number };
}

export function registerStatsRoutes(router: Router, events: EventBuffer): void {
  router.add("GET", "/v1/devagent/stats", (ctx) => {
    const stats: DevAgentStats = { EventStreams: { Open: events.streams.open, Opened: events.streams.opened } };
    sendJson(ctx.res, stats);
  });
}
