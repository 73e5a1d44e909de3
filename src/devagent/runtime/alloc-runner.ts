// Runs one allocation's tasks as real local processes, with Nomad's task lifecycle, restart and kill semantics.
//
// What is real and what is stood in for (README material):
//  REAL   raw_exec / exec: Config.command + Config.args run as local processes (no chroot, no cgroups).
//  REAL   docker / podman with Config.command / Config.entrypoint / Config.args: run as local processes, without
//         the image's filesystem (the command must exist on this machine).
//  STAND-IN docker / podman without a command: a small node script per image (stand-ins.ts): an HTTP server that
//         logs each request for web images (nginx, httpd, ...), an idle process (TCP accept on its port) otherwise.
//  REAL   environment: NOMAD_* runtime variables, ports (NOMAD_PORT_* = host port: there is no network namespace,
//         so `to` is not mapped), NOMAD_META_*, task Env with ${...} interpolation.
//  REAL   Templates (task-templates.ts): a Go text/template subset with env, nomadVar (Nomad Variables from the
//         agent, as the task's workload identity may read them), replaceAll, toJSON, ...; own delimiters; rendered
//         once before the task starts (no re-render on change); Envvars=true feeds the environment (envparse rules).
//  REAL   lifecycle: prestart tasks must exit 0 before main tasks start, prestart sidecars run alongside, poststart
//         tasks start once main tasks run, poststop tasks run after main tasks end; a failed task kills its
//         siblings; when main tasks are dead the sidecars are killed; a Leader task's death stops the group.
//  REAL   restart policy (Attempts, Interval, Delay with Nomad's 25% jitter, Mode fail|delay), TaskEvents with Nomad's
//         Type strings and DisplayMessages, in-place restarts (one task, running tasks, or all tasks).
//  REAL   stop: KillSignal (default SIGTERM) to the task's process group, SIGKILL after KillTimeout; after a task's
//         leader exits its whole group is SIGKILLed. No task outlives the agent (process-registry.ts, task-process.ts).
//  PARTLY memory: RLIMIT_AS (MemoryMaxMB, else MemoryMB) for exec and docker commands; not for raw_exec (Nomad's
//         raw_exec does not isolate either) nor stand-ins. CPU is NOT enforced (only measured, see proc-stats.ts).
//  REAL   logs: stdout/stderr appended to <allocDir>/alloc/logs/<task>.stdout.0 / .stderr.0 (no rotation).
//  REAL   deployment health (health-tracker.ts): task_states, or the group's and tasks' service checks (http, tcp)
//         run against the allocated host ports; check_restart restarts a task whose checks keep failing.
//  PARTLY volumes (task-mounts.ts): host volumes and relative docker binds as symlinks in the task directory.
//  NOT    artifacts, CSI, Vault/Consul, devices, network namespaces, log rotation, dispatch payloads.

import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Code, ProviderError } from "../../errors.js";
import type { AllocRunner, AllocRunnerEvents, AllocRunSpec, ClientStatus, CreateAllocRunner, TaskState } from "../alloc-runtime.js";
import { HealthTracker } from "./health-tracker.js";
import { taskEvent } from "./task-events.js";
import { TaskNotRunningError, TaskRunner, type TaskKind } from "./task-runner.js";

export const createAllocRunner: CreateAllocRunner = (spec, events) => new LocalAllocRunner(spec, events);

/** Upper bound for poststop tasks run while stopping, so a hanging one cannot block stop() forever. */
const poststopStopBudgetMs = 30_000;

class LocalAllocRunner implements AllocRunner {
  readonly allocId: string;
  readonly allocDir: string;
  private readonly tasks = new Map<string, TaskRunner>();
  private readonly waiters = new Set<() => void>();
  private readonly healthTracker: HealthTracker | undefined;
  private started = false;
  private stopping: Promise<void> | undefined;
  private generation = 0;
  private updateQueued = false;

  constructor(
    private readonly spec: AllocRunSpec,
    private readonly events: AllocRunnerEvents,
  ) {
    this.allocId = spec.allocId;
    this.allocDir = spec.allocDir;
    for (const dir of ["logs", "data", "tmp"]) mkdirSync(join(spec.allocDir, "alloc", dir), { recursive: true });
    for (const task of (spec.group.Tasks ?? []) as Record<string, any>[]) {
      this.tasks.set(String(task.Name), new TaskRunner(spec, task, () => this.changed()));
    }
    if (spec.health || HealthTracker.hasChecks(spec)) {
      this.healthTracker = new HealthTracker(spec, spec.health, [...this.tasks.values()], {
        onHealth: (healthy, description) => events.onHealth(healthy, description),
        restartTask: (name, reason) => this.tasks.get(name)?.restart(reason, { respawn: true, failure: true }),
      });
    }
  }

  start(): void {
    if (this.started || this.stopping) return;
    this.started = true;
    void this.lifecycle(this.generation);
    this.healthTracker?.start();
  }

  stop(reason: string): Promise<void> {
    this.stopping ??= this.stopAll(reason);
    return this.stopping;
  }

  async restart(options: { task?: string; allTasks?: boolean; reason?: string }): Promise<void> {
    const reason = options.reason || "User requested restart";
    if (this.stopping) throw new ProviderError(Code.FailedPrecondition, "Task not running", { httpStatus: 500 });
    try {
      if (options.task !== undefined) {
        await this.taskRunner(options.task).restart(reason, { respawn: true, failure: false });
      } else if (options.allTasks) {
        await this.restartAll(reason);
      } else {
        const running = [...this.tasks.values()].filter((t) => t.running);
        await Promise.all(running.map((t) => t.restart(reason, { respawn: true, failure: false })));
      }
    } catch (err) {
      if (err instanceof TaskNotRunningError) throw new ProviderError(Code.FailedPrecondition, err.message, { httpStatus: 500 });
      throw err;
    }
  }

  signal(signal: NodeJS.Signals, task?: string): void {
    const targets = task === undefined ? [...this.tasks.values()].filter((t) => t.running) : [this.taskRunner(task)];
    try {
      for (const t of targets) t.signal(signal);
    } catch (err) {
      if (err instanceof TaskNotRunningError) throw new ProviderError(Code.FailedPrecondition, err.message, { httpStatus: 500 });
      throw err;
    }
  }

  taskStates(): Record<string, TaskState> {
    const out: Record<string, TaskState> = {};
    for (const [name, t] of this.tasks) out[name] = { ...t.state, Events: t.state.Events.map((e) => ({ ...e, Details: { ...e.Details } })) };
    return out;
  }

  /** Nomad's getClientStatus: any failed task fails the allocation; then running, pending, complete. */
  clientStatus(): ClientStatus {
    const states = [...this.tasks.values()].map((t) => t.state);
    if (states.some((s) => s.State === "dead" && s.Failed)) return "failed";
    if (states.some((s) => s.State === "running")) return "running";
    if (states.some((s) => s.State === "pending")) return "pending";
    return "complete";
  }

  clientDescription(): string {
    const descriptions: Record<ClientStatus, string> = {
      failed: "Failed tasks",
      running: "Tasks are running",
      pending: "No tasks have started",
      complete: "All tasks have completed",
      lost: "",
    };
    return descriptions[this.clientStatus()];
  }

  health(): boolean | undefined {
    return this.healthTracker?.decision();
  }

  logPath(task: string, type: "stdout" | "stderr"): string {
    return join(this.allocDir, "alloc", "logs", `${task}.${type}.0`);
  }

  taskPids(task: string): number[] {
    const pid = this.tasks.get(task)?.pid;
    return pid === undefined ? [] : [pid];
  }

  execEnvironment(task: string): { cwd: string; env: Record<string, string>; driver: string } {
    return this.taskRunner(task).execEnvironment();
  }

  isTaskDead(task: string): boolean {
    return this.tasks.get(task)?.isDead ?? false;
  }

  hasTask(task: string): boolean {
    return this.tasks.has(task);
  }

  private taskRunner(name: string): TaskRunner {
    const t = this.tasks.get(name);
    if (!t) throw new ProviderError(Code.NotFound, `Could not find task runner for task: ${name}`, { httpStatus: 500 });
    return t;
  }

  private changed(): void {
    for (const wake of [...this.waiters]) wake();
    this.healthTracker?.evaluate();
    if (this.updateQueued) return;
    this.updateQueued = true;
    queueMicrotask(() => {
      this.updateQueued = false;
      this.events.onUpdate();
    });
  }

  /** Resolves once `predicate` holds; re-checked on every task state change. */
  private until(predicate: () => boolean): Promise<void> {
    if (predicate()) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate()) return;
        this.waiters.delete(check);
        resolve();
      };
      this.waiters.add(check);
    });
  }

  private ofKind(...kinds: TaskKind[]): TaskRunner[] {
    return [...this.tasks.values()].filter((t) => kinds.includes(t.kind));
  }

  private anyFailed(): boolean {
    return [...this.tasks.values()].some((t) => t.state.Failed);
  }

  /** prestart -> main (+ poststart once main runs) -> main dead: kill the rest -> poststop. */
  private async lifecycle(generation: number): Promise<void> {
    const current = () => generation === this.generation && !this.stopping;
    const settled = (cond: () => boolean) => this.until(() => !current() || this.anyFailed() || cond());
    const prestart = this.ofKind("prestart");
    const prestartSidecars = this.ofKind("prestart-sidecar");
    const mains = this.ofKind("main");
    for (const t of [...prestart, ...prestartSidecars]) t.start();
    await settled(() => prestart.every((t) => t.isDead) && prestartSidecars.every((t) => t.state.State !== "pending"));
    if (!current()) return;
    if (!this.anyFailed()) {
      for (const t of mains) t.start();
      await settled(() => mains.every((t) => t.state.State !== "pending"));
      if (!current()) return;
      if (!this.anyFailed()) for (const t of this.ofKind("poststart", "poststart-sidecar")) t.start();
      await settled(() => mains.every((t) => t.isDead) || mains.some((t) => t.task.Leader && t.isDead));
      if (!current()) return;
    }
    await this.killRemaining();
    if (!current()) return;
    await this.runPoststop();
  }

  private async killRemaining(): Promise<void> {
    const failed = [...this.tasks.values()].find((t) => t.state.Failed);
    const leader = this.ofKind("main").find((t) => t.task.Leader && t.isDead);
    const reason = () =>
      failed
        ? taskEvent("Sibling Task Failed", { FailedSibling: failed.name })
        : leader
          ? taskEvent("Leader Task Dead")
          : taskEvent("Main Tasks Dead");
    const rest = [...this.tasks.values()].filter((t) => t.kind !== "poststop" && t.state.State !== "dead");
    await Promise.all(rest.map((t) => t.kill(reason())));
  }

  private async runPoststop(): Promise<void> {
    const poststop = this.ofKind("poststop").filter((t) => t.state.State === "pending" && !t.active);
    for (const t of poststop) t.start();
    await this.until(() => poststop.every((t) => t.isDead));
  }

  private async stopAll(_reason: string): Promise<void> {
    this.generation++;
    this.healthTracker?.stop();
    const everStarted = [...this.tasks.values()].some((t) => t.state.StartedAt !== null);
    const nonPoststop = [...this.tasks.values()].filter((t) => t.kind !== "poststop");
    await Promise.all(nonPoststop.map((t) => t.kill()));
    const poststop = this.ofKind("poststop");
    if (everStarted) {
      for (const t of poststop) if (t.state.State === "pending" && !t.active) t.start();
      const budget = setTimeout(() => poststop.forEach((t) => void t.kill()), poststopStopBudgetMs);
      await this.until(() => poststop.every((t) => t.isDead || (!t.active && t.state.State === "pending")));
      clearTimeout(budget);
    }
    await Promise.all(poststop.map((t) => t.kill()));
    this.changed();
  }

  private async restartAll(reason: string): Promise<void> {
    this.generation++;
    await Promise.all([...this.tasks.values()].map((t) => t.restart(reason, { respawn: false, failure: false })));
    if (this.stopping) return;
    void this.lifecycle(this.generation);
  }
}
