// Nomad's restart tracker (client/allocrunner/taskrunner/restarts): decides, after a task exits or fails to
// start, whether it restarts (and after how long) or is done, with the same reasons Nomad reports.

import { goDuration } from "./go-duration.js";
import { ReasonWithinPolicy } from "./task-events.js";

export interface RestartPolicy {
  attempts: number;
  intervalMs: number;
  delayMs: number;
  mode: "fail" | "delay";
}

export type RestartDecision =
  | { kind: "restart"; delayMs: number; reason: string }
  | { kind: "terminated"; reason: string }
  | { kind: "fail"; reason: string };

const ms = (ns: unknown, fallbackMs: number) => (typeof ns === "number" && ns >= 0 ? ns / 1e6 : fallbackMs);

/** The task's RestartPolicy, else its group's, else Nomad's defaults for the job type. */
export function restartPolicyOf(job: Record<string, any>, group: Record<string, any>, task: Record<string, any>): RestartPolicy {
  const batch = job.Type === "batch" || job.Type === "sysbatch";
  const p = task.RestartPolicy ?? group.RestartPolicy ?? {};
  return {
    attempts: typeof p.Attempts === "number" ? p.Attempts : batch ? 3 : 2,
    intervalMs: ms(p.Interval, batch ? 24 * 3600e3 : 30 * 60e3),
    delayMs: ms(p.Delay, 15e3),
    mode: p.Mode === "delay" ? "delay" : "fail",
  };
}

export type ExitOutcome = { exitCode: number } | { startError: string; recoverable: boolean };

export class RestartTracker {
  private count = 0;
  private intervalStart: number;

  constructor(
    private readonly policy: RestartPolicy,
    /** Service tasks restart even after exit 0; batch and ephemeral lifecycle tasks do not. */
    private readonly restartOnSuccess: boolean,
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.intervalStart = now();
  }

  next(outcome: ExitOutcome): RestartDecision {
    const succeeded = "exitCode" in outcome && outcome.exitCode === 0;
    if (this.policy.attempts === 0) {
      if (!this.restartOnSuccess && succeeded) return { kind: "terminated", reason: "Policy allows no restarts" };
      return { kind: "fail", reason: "Policy allows no restarts" };
    }
    if (this.now() > this.intervalStart + this.policy.intervalMs) {
      this.count = 0;
      this.intervalStart = this.now();
    }
    this.count++;
    if ("startError" in outcome && !outcome.recoverable) return { kind: "fail", reason: "Error was unrecoverable" };
    if (succeeded && !this.restartOnSuccess) {
      return { kind: "terminated", reason: "Restart unnecessary as task terminated successfully" };
    }
    if (this.count > this.policy.attempts) {
      if (this.policy.mode === "fail") {
        const interval = goDuration(this.policy.intervalMs * 1e6);
        return { kind: "fail", reason: `Exceeded allowed attempts ${this.policy.attempts} in interval ${interval} and mode is "fail"` };
      }
      const untilNextInterval = this.intervalStart + this.policy.intervalMs - this.now();
      return { kind: "restart", delayMs: Math.max(0, untilNextInterval), reason: "Exceeded allowed attempts, applying a delay" };
    }
    return { kind: "restart", delayMs: this.jittered(), reason: ReasonWithinPolicy };
  }

  /** Delay plus up to 25% jitter, like Nomad. */
  private jittered(): number {
    const d = Math.max(this.policy.delayMs, 1e-6);
    return d + d * 0.25 * this.random();
  }
}
