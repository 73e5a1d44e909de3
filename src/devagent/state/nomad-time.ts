// Nomad serves creation/modification times as int64 nanoseconds since the epoch. A JS number cannot hold every
// nanosecond, but it holds an integer of the right magnitude, which is what clients parse and compare.

let last = 0;

/** Current time in Unix nanoseconds, strictly increasing within this process so ordering by time is stable. */
export function nowNs(): number {
  const ns = Date.now() * 1_000_000;
  last = ns > last ? ns : last + 1_000;
  return last;
}

/** Nomad's UUID layout is the same 8-4-4-4-12 hex form as RFC 4122. */
export function newId(): string {
  return crypto.randomUUID();
}

/** Go's time.Duration JSON: integer nanoseconds. */
export function msFromNs(ns: unknown, fallbackMs = 0): number {
  return typeof ns === "number" && Number.isFinite(ns) ? Math.max(0, ns / 1_000_000) : fallbackMs;
}
