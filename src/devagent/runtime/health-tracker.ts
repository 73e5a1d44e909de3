// Deployment health of one allocation (Nomad's allochealth tracker) and check_restart:
//  task_states: healthy once every main and sidecar task has been running for min_healthy_time;
//  checks:      additionally every service check has been passing for that long;
//  manual:      never decided here.
// Unhealthy when a task fails or healthy_deadline passes first. Independently of deployments, a check with
// check_restart {limit} that fails `limit` times in a row (after its grace) restarts its task.

import type { AllocRunSpec, HealthSettings } from "../alloc-runtime.js";
import { goDuration } from "./go-duration.js";
import { probe, serviceChecks, type ServiceCheck } from "./service-checks.js";
import type { TaskRunner } from "./task-runner.js";

export interface HealthHooks {
  onHealth(healthy: boolean, description: string): void;
  restartTask(task: string, reason: string): Promise<void> | undefined;
}

interface CheckState {
  check: ServiceCheck;
  passing: boolean;
  consecutiveFailures: number;
  timer?: NodeJS.Timeout;
}

export class HealthTracker {
  private readonly checks: CheckState[];
  private decided: boolean | undefined;
  private healthySince: number | undefined;
  private deadlineTimer: NodeJS.Timeout | undefined;
  private minHealthyTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  static hasChecks(spec: AllocRunSpec): boolean {
    return serviceChecks(spec).length > 0;
  }

  constructor(
    spec: AllocRunSpec,
    private readonly settings: HealthSettings | undefined,
    private readonly tasks: TaskRunner[],
    private readonly hooks: HealthHooks,
  ) {
    this.checks = serviceChecks(spec).map((check) => ({ check, passing: false, consecutiveFailures: 0 }));
  }

  start(): void {
    for (const state of this.checks) this.schedule(state, 0);
    if (this.settings && this.settings.mode !== "manual") {
      const ms = this.settings.healthyDeadlineMs;
      this.deadlineTimer = setTimeout(() => {
        const min = goDuration(this.settings!.minHealthyTimeMs * 1e6);
        this.decide(false, `Task not running for min_healthy_time of ${min} by healthy_deadline of ${goDuration(ms * 1e6)}`);
      }, ms);
    }
  }

  stop(): void {
    this.stopped = true;
    for (const state of this.checks) clearTimeout(state.timer);
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.minHealthyTimer);
  }

  decision(): boolean | undefined {
    return this.decided;
  }

  /** Check status, for callers that want to show it. */
  checkStatus(): { name: string; task: string | undefined; passing: boolean }[] {
    return this.checks.map((s) => ({ name: s.check.name, task: s.check.task, passing: s.passing }));
  }

  /** Re-evaluates health; called on every task state change and after each probe. */
  evaluate(): void {
    if (this.decided !== undefined || !this.settings || this.settings.mode === "manual" || this.stopped) return;
    const relevant = this.tasks.filter((t) => t.kind === "main" || t.kind.endsWith("sidecar"));
    const failed = relevant.find((t) => t.state.Failed);
    if (failed) return this.decide(false, `Task ${JSON.stringify(failed.name)} failed`);
    const checksOk = this.settings.mode !== "checks" || this.checks.every((s) => s.passing);
    const ok = relevant.length > 0 && relevant.every((t) => t.state.State === "running") && checksOk;
    if (!ok) {
      this.healthySince = undefined;
      clearTimeout(this.minHealthyTimer);
      return;
    }
    const now = Date.now();
    this.healthySince ??= now;
    const remaining = this.healthySince + this.settings.minHealthyTimeMs - now;
    if (remaining <= 0) return this.decide(true, "Healthy");
    clearTimeout(this.minHealthyTimer);
    this.minHealthyTimer = setTimeout(() => this.evaluate(), remaining);
  }

  private decide(healthy: boolean, description: string): void {
    if (this.decided !== undefined || this.stopped) return;
    this.decided = healthy;
    clearTimeout(this.deadlineTimer);
    clearTimeout(this.minHealthyTimer);
    this.hooks.onHealth(healthy, description);
  }

  private schedule(state: CheckState, delayMs: number): void {
    if (this.stopped) return;
    state.timer = setTimeout(() => void this.runCheck(state), delayMs);
  }

  private async runCheck(state: CheckState): Promise<void> {
    const task = this.tasks.find((t) => t.name === state.check.task);
    const passing = await probe(state.check);
    if (this.stopped) return;
    const changed = passing !== state.passing;
    state.passing = passing;
    state.consecutiveFailures = passing ? 0 : state.consecutiveFailures + 1;
    this.maybeRestart(state, task);
    if (changed) this.evaluate();
    this.schedule(state, state.check.intervalMs);
  }

  private maybeRestart(state: CheckState, task: TaskRunner | undefined): void {
    const restart = state.check.restart;
    if (!restart || !task || task.state.State !== "running" || state.consecutiveFailures < restart.limit) return;
    const startedAt = task.state.StartedAt ? Date.parse(task.state.StartedAt) : Date.now();
    if (Date.now() - startedAt < restart.graceMs) return;
    state.consecutiveFailures = 0;
    void this.hooks.restartTask(task.name, `healthcheck: check ${JSON.stringify(state.check.name)} unhealthy`)?.catch(() => {});
  }
}
