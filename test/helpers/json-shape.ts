// Shape comparison of JSON answers against recorded Nomad answers: every key of the recording with the same JSON
// type, recursively (values, IDs and times differ; shapes must not). Shared by the conformance tests.

export const kind = (v: unknown) => (v === null ? "null" : Array.isArray(v) ? "array" : typeof v);

/** Maps keyed by names (task groups, tasks, ...) rather than fixed fields: compare their values only. */
const nameKeyed = new Set(["TaskStates", "Summary", "TaskGroups", "Tasks", "TaskLifecycles", "TaskResources", "NodesAvailable", "QueuedAllocations", "Scores", "Details", "Tags", "FailedTGAllocs"]);
/** Free-form maps (driver config, user meta): no shape to compare. */
const opaque = new Set(["Config", "Meta"]);

/** Differences between the recording's shape and ours; null on either side is a value, not a shape. */
export function shapeDiff(expected: unknown, actual: unknown, path = "$"): string[] {
  if (expected === null || actual === null) return [];
  if (kind(expected) !== kind(actual)) return [`${path}: expected ${kind(expected)}, got ${kind(actual)}`];
  if (Array.isArray(expected)) {
    const a = actual as unknown[];
    return expected.length && a.length ? shapeDiff(expected[0], a[0], `${path}[0]`) : [];
  }
  if (typeof expected !== "object") return [];
  const e = expected as Record<string, unknown>;
  const a = actual as Record<string, unknown>;
  const last = path.split(".").pop()!;
  if (opaque.has(last)) return [];
  if (nameKeyed.has(last)) {
    const ev = Object.values(e)[0];
    const av = Object.values(a)[0];
    return ev === undefined || av === undefined ? [] : shapeDiff(ev, av, `${path}.*`);
  }
  return Object.keys(e).flatMap((k) => (k in a ? shapeDiff(e[k], a[k], `${path}.${k}`) : [`${path}.${k}: missing`]));
}
