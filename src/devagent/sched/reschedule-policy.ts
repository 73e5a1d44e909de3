// When a failed allocation may be replaced, after how long: the group's ReschedulePolicy applied to the allocation's
// RescheduleTracker (the chain of earlier reschedules), as Nomad's reconciler does for service and batch jobs.

import type { Json } from "../state/state-store.js";

export interface RescheduleDecision {
  eligible: boolean;
  /** Unix ms at which the replacement may be placed. */
  at: number;
  delayNs: number;
}

function nextDelayNs(policy: Json, events: Json[]): number {
  const base: number = policy.Delay ?? 0;
  const max: number = policy.MaxDelay || Number.MAX_SAFE_INTEGER;
  const n = events.length;
  if (policy.DelayFunction === "exponential") return Math.min(base * 2 ** n, max);
  if (policy.DelayFunction === "fibonacci") {
    let [a, b] = [base, base];
    for (let i = 1; i < n; i++) [a, b] = [b, a + b];
    return Math.min(n === 0 ? base : b, max);
  }
  return base;
}

export function rescheduleDecision(alloc: Json, policy: Json | null, failedAtMs: number): RescheduleDecision {
  const events: Json[] = alloc.RescheduleTracker?.Events ?? [];
  if (!policy) return { eligible: false, at: 0, delayNs: 0 };
  const delayNs = nextDelayNs(policy, events);
  const at = failedAtMs + delayNs / 1e6;
  if (policy.Unlimited) return { eligible: true, at, delayNs };
  if (!policy.Attempts) return { eligible: false, at: 0, delayNs: 0 };
  const windowStart = failedAtMs * 1e6 - (policy.Interval ?? 0);
  const recent = events.filter((e) => e.RescheduleTime >= windowStart).length;
  return { eligible: recent < policy.Attempts, at, delayNs };
}
