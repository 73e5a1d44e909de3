// GET /v1/event/stream: Nomad's event stream as newline-delimited JSON, one {"Index":N,"Events":[...]} per write,
// "{}" heartbeats (at once, then every 30 s: nomad/event_endpoint.go builds its stream with NewJsonStream(ctx, 30s),
// which sends one right away), topic filters "Topic:Key" ("*" for any), resume with ?index=N (from
// the batch at N, inclusive, as Nomad's StartAtClosest does); without an index (or 0) every batch still in the buffer
// (Nomad's default 100) comes first, as Nomad's subscription from the buffer's head does. Events are snapshots taken when they were published: a resumed client sees each object
// as it was at the event's index, not as it is now (the store mutates its objects in place).

import { badRequest } from "../http/http-error.js";
import type { RequestContext } from "../http/request-context.js";
import type { Router } from "../http/router.js";
import type { StateStore, StoreEvent } from "../state/state-store.js";
import type { RouteDeps } from "./route-deps.js";

/** Nomad's default event_buffer_size: the batches kept for subscribers that start in the past. */
const bufferSize = 100;
export const heartbeatMs = 30_000;

/** The recent event batches, so a client can resume from an index it saw. */
export class EventBuffer {
  private readonly batches: { Index: number; Events: StoreEvent[] }[] = [];
  /** Event stream requests being served now, and ever (GET /v1/devagent/stats). */
  readonly streams = { open: 0, opened: 0 };

  constructor(store: StateStore) {
    store.subscribe((events) => {
      this.batches.push({ Index: events[0]!.Index, Events: structuredClone(events) });
      if (this.batches.length > bufferSize) this.batches.shift();
    });
  }

  get lastIndex(): number {
    return this.batches[this.batches.length - 1]?.Index ?? 0;
  }

  /**
   * The batches a subscription resuming at `index` gets, as Nomad's eventBuffer.StartAtClosest picks them: from the
   * batch at `index` itself (inclusive), else the closest one after it (the oldest kept when `index` is older than the
   * buffer); an `index` past the newest batch starts at the newest, which is sent again.
   */
  startingAt(index: number): { Index: number; Events: StoreEvent[] }[] {
    // Index 0 (or none) is Nomad's eventBuffer.Head(): every batch still kept, oldest first.
    if (index <= 0) return [...this.batches];
    const first = this.batches.findIndex((b) => b.Index >= index);
    return first >= 0 ? this.batches.slice(first) : this.batches.slice(-1);
  }
}

type Filter = (e: StoreEvent) => boolean;

function parseTopics(ctx: RequestContext): Filter {
  const topics = ctx.query.getAll("topic");
  const wanted = topics.length ? topics : ["*:*"];
  const pairs = wanted.map((t) => {
    const i = t.indexOf(":");
    if (i < 0) throw badRequest(`Invalid topic format: ${t}`);
    return [t.slice(0, i), t.slice(i + 1)] as const;
  });
  const ns = ctx.namespace;
  return (e) =>
    (ns === "*" || e.Namespace === ns || e.Namespace === "") &&
    pairs.some(([topic, key]) => (topic === "*" || topic === e.Topic) && (key === "*" || key === e.Key || (e.FilterKeys ?? []).includes(key)));
}

export function registerEventRoutes(router: Router, deps: RouteDeps, buffer: EventBuffer, heartbeatEveryMs = heartbeatMs): void {
  router.add("GET", "/v1/event/stream", (ctx) => {
    const filter = parseTopics(ctx);
    const idx = ctx.query.get("index");
    if (idx && !/^-?\d+$/.test(idx)) throw badRequest(`Unable to parse index: strconv.Atoi: parsing ${JSON.stringify(idx)}: invalid syntax`);
    const { res } = ctx;
    res.statusCode = 200;
    res.setHeader("Content-Type", "application/json");
    res.flushHeaders();
    const send = (batch: { Index: number; Events: StoreEvent[] }) => {
      const events = batch.Events.filter(filter);
      if (events.length) res.write(JSON.stringify({ Index: batch.Index, Events: events }) + "\n");
    };
    buffer.streams.open++;
    buffer.streams.opened++;
    res.write("{}\n");
    buffer.startingAt(Number(idx ?? 0)).forEach(send);
    const unsubscribe = deps.store.subscribe((events) => send({ Index: events[0]!.Index, Events: events }));
    const heartbeat = setInterval(() => res.write("{}\n"), heartbeatEveryMs);
    return new Promise<void>((resolve) => {
      res.once("close", () => {
        buffer.streams.open--;
        unsubscribe();
        clearInterval(heartbeat);
        resolve();
      });
    });
  });
}
