// How long a unary RPC may wait for Nomad to converge: until shortly before the caller's deadline (so the answer
// still arrives in time), or a default when the caller set none.

import type { CallContext } from "../grpc/service-impl.js";

/** Epoch ms until which the handler may wait. */
export function waitUntil(ctx: Pick<CallContext, "deadline">, defaultMs: number, now = Date.now()): number {
  if (!ctx.deadline) return now + defaultMs;
  const remaining = ctx.deadline.getTime() - now;
  // Keep a slice of the remaining time for the last reads and the answer itself.
  const margin = Math.min(1_000, Math.max(50, remaining * 0.1));
  return now + Math.max(0, remaining - margin);
}
