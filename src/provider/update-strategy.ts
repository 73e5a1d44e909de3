// DeployStrategy + DeployOptions -> the task group's Nomad update stanza. Nomad drives every strategy through the
// same stanza: rolling is max_parallel without canaries; canary is `canary = n` held for promotion; blue/green is
// a full set of canaries (canary = count) switched over at promotion. Options are validated here so a bad value is
// INVALID_ARGUMENT ("options.healthy_deadline: ...") before anything is registered.

import { durationMs, type Duration } from "@bufbuild/protobuf/wkt";
import { DeployStrategy, type DeployOptions } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { UpdateStrategy } from "../nomad/types.js";
import { invalidArgument } from "../errors.js";

const msToNs = (ms: number) => Math.round(ms * 1e6);

/** DeployOptions defaults (documented in the proto). */
export const deployDefaults = {
  maxParallel: 1,
  canaryCount: 1,
  autoRevert: true,
  minHealthyTimeMs: 10_000,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
} as const;

/** The strategy's name as it appears in messages and capability strings. */
export function strategyName(strategy: DeployStrategy): "rolling" | "canary" | "blue-green" {
  if (strategy === DeployStrategy.CANARY) return "canary";
  if (strategy === DeployStrategy.BLUE_GREEN) return "blue-green";
  return "rolling";
}

export interface UpdateStanzaInput {
  strategy: DeployStrategy;
  options: DeployOptions | undefined;
  /** The group's allocation count (blue/green starts this many canaries). */
  count: number;
  /** Whether the group will have service checks: then health is judged by them, else by task states. */
  hasChecks: boolean;
}

/** The group's Update stanza for a release. Throws INVALID_ARGUMENT (field under "options") for bad options. */
export function updateStanza(input: UpdateStanzaInput): UpdateStrategy {
  const { strategy, options: o, count } = input;
  if (!(Object.values(DeployStrategy) as unknown[]).includes(strategy)) throw invalidArgument("strategy", `unknown strategy ${strategy}`);
  if ((o?.maxParallel ?? 0) < 0) throw invalidArgument("options.max_parallel", "must not be negative");
  if ((o?.canaryCount ?? 0) < 0) throw invalidArgument("options.canary_count", "must not be negative");
  const minHealthy = durationOption(o?.minHealthyTime, "options.min_healthy_time", deployDefaults.minHealthyTimeMs, true);
  const healthy = durationOption(o?.healthyDeadline, "options.healthy_deadline", deployDefaults.healthyDeadlineMs, false);
  const progress = durationOption(o?.progressDeadline, "options.progress_deadline", deployDefaults.progressDeadlineMs, false);
  if (minHealthy >= healthy) {
    throw invalidArgument("options.min_healthy_time", `must be shorter than the healthy deadline (${healthy} ms)`);
  }
  if (progress <= healthy) {
    throw invalidArgument("options.progress_deadline", `must be longer than the healthy deadline (${healthy} ms)`);
  }

  const update: UpdateStrategy = {
    MaxParallel: o?.maxParallel || deployDefaults.maxParallel,
    HealthCheck: input.hasChecks ? "checks" : "task_states",
    MinHealthyTime: msToNs(minHealthy),
    HealthyDeadline: msToNs(healthy),
    ProgressDeadline: msToNs(progress),
    AutoRevert: o?.autoRevert ?? deployDefaults.autoRevert,
    AutoPromote: false,
    Canary: 0,
  };
  if (strategy === DeployStrategy.CANARY) {
    update.Canary = o?.canaryCount || deployDefaults.canaryCount;
  } else if (strategy === DeployStrategy.BLUE_GREEN) {
    // The green set is complete before anything switches; Nomad promotes it itself once every canary is healthy,
    // so the switch happens even if the Deploy call is gone by then. Promotion then retires all blue allocations.
    update.Canary = count;
    update.MaxParallel = o?.maxParallel || Math.max(count, 1);
    update.AutoPromote = count > 0;
  }
  return update;
}

function durationOption(d: Duration | undefined, field: string, fallbackMs: number, zeroAllowed: boolean): number {
  if (!d) return fallbackMs;
  const ms = durationMs(d);
  if (ms < 0 || (!zeroAllowed && ms === 0)) throw invalidArgument(field, zeroAllowed ? "must not be negative" : "must be positive");
  return ms;
}
