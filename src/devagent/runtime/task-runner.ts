// Runs one task of an allocation: task directory and environment setup, the process itself (task-process.ts),
// Nomad's restart policy, kill with KillTimeout, in-place restarts, and the TaskState/TaskEvents a client reads.

import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import type { AllocRunSpec, TaskState } from "../alloc-runtime.js";
import { assertExecutable } from "./executable.js";
import { RestartTracker, restartPolicyOf, type ExitOutcome } from "./restart-policy.js";
import { DriverError, taskCommand } from "./task-command.js";
import { buildTaskEnv, interpolate, mergedMeta, taskDirs, type TaskDirs } from "./task-env.js";
import { taskEvent, type FullTaskEvent } from "./task-events.js";
import { spawnTaskProcess, type RunningTask } from "./task-process.js";
import { mockDriverName, mockTaskConfig, startMockTask } from "./mock-driver.js";
import { renderTemplates } from "./task-templates.js";
import { prepareMounts } from "./task-mounts.js";

export type TaskKind = "prestart" | "prestart-sidecar" | "main" | "poststart" | "poststart-sidecar" | "poststop";

export function taskKind(task: Record<string, any>): TaskKind {
  const hook = task.Lifecycle?.Hook;
  const sidecar = Boolean(task.Lifecycle?.Sidecar);
  if (hook === "prestart") return sidecar ? "prestart-sidecar" : "prestart";
  if (hook === "poststart") return sidecar ? "poststart-sidecar" : "poststart";
  if (hook === "poststop") return "poststop";
  return "main";
}

/** Nomad keeps the last 10 events of a task. */
const maxEvents = 10;
const defaultKillTimeoutNs = 5e9;

type Interrupt = { kind: "kill" } | { kind: "restart"; failure: boolean; respawn: boolean };

export class TaskNotRunningError extends Error {
  constructor() {
    super("Task not running");
  }
}

export class TaskRunner {
  readonly name: string;
  readonly kind: TaskKind;
  readonly dirs: TaskDirs;
  readonly state: TaskState;
  private env: Record<string, string> | undefined;
  private proc: RunningTask | undefined;
  private loop: Promise<void> | undefined;
  private interrupt: Interrupt | undefined;
  private wakeDelay: (() => void) | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private readonly tracker: RestartTracker;

  constructor(
    private readonly spec: AllocRunSpec,
    readonly task: Record<string, any>,
    private readonly onChange: () => void,
  ) {
    this.name = String(task.Name);
    this.kind = taskKind(task);
    this.dirs = taskDirs(spec.allocDir, this.name);
    const batch = spec.job.Type === "batch" || spec.job.Type === "sysbatch";
    const ephemeral = this.kind === "prestart" || this.kind === "poststart" || this.kind === "poststop";
    this.tracker = new RestartTracker(restartPolicyOf(spec.job, spec.group, task), !batch && !ephemeral);
    this.state = { State: "pending", Failed: false, Restarts: 0, LastRestart: null, StartedAt: null, FinishedAt: null, Events: [] };
    this.emit(taskEvent("Received"));
  }

  get active(): boolean {
    return this.loop !== undefined;
  }

  get isDead(): boolean {
    return this.state.State === "dead" && !this.active;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** A task is up: a process, or a mock_driver task (which has none). */
  get running(): boolean {
    return this.proc !== undefined;
  }

  /** Runs the task until it is dead for good (or halted for an all-tasks restart). No-op while already running. */
  start(): void {
    if (this.loop) return;
    this.interrupt = undefined;
    this.loop = this.run().finally(() => {
      this.loop = undefined;
      this.onChange();
    });
  }

  /** Kills the task (KillSignal, then SIGKILL after KillTimeout); resolves once it is dead. */
  async kill(reason?: FullTaskEvent): Promise<void> {
    if (!this.loop) {
      if (this.state.State !== "dead") this.finish(false);
      return;
    }
    if (this.interrupt?.kind !== "kill") {
      this.interrupt = { kind: "kill" };
      if (reason) this.emit(reason);
      if (this.proc) this.terminate(this.proc, true);
      else this.wakeDelay?.();
    }
    await this.loop;
  }

  /**
   * Restarts the task in place. respawn=false halts it instead (the allocation re-runs its whole lifecycle);
   * failure=true lets the restart policy decide the delay (check_restart), as a task failure would.
   */
  async restart(reason: string, options: { respawn: boolean; failure: boolean }): Promise<void> {
    const proc = this.proc;
    if (!this.loop || (!proc && options.respawn && !this.wakeDelay)) {
      if (options.respawn) throw new TaskNotRunningError();
      this.emit(taskEvent("Restart Signaled", { RestartReason: reason }));
      this.emit(taskEvent("Restarting", { StartDelay: 0 }));
      this.setState("pending");
      return;
    }
    this.interrupt = { kind: "restart", ...options };
    this.emit(taskEvent("Restart Signaled", { RestartReason: reason }));
    if (proc) {
      this.terminate(proc, false);
      if (options.respawn) await proc.exited;
    } else {
      this.wakeDelay?.();
    }
    if (!options.respawn) await this.loop;
  }

  signal(sig: NodeJS.Signals): void {
    const proc = this.proc;
    if (proc === undefined) throw new TaskNotRunningError();
    this.emit(taskEvent("Signaling", { TaskSignal: sig }));
    if (proc.pid === undefined) return; // a mock_driver task takes signals without effect
    try {
      process.kill(proc.pid, sig);
    } catch {
      // exited in the meantime
    }
  }

  execEnvironment(): { cwd: string; env: Record<string, string>; driver: string } {
    return { cwd: this.dirs.taskDir, env: this.env ?? buildTaskEnv(this.spec, this.task, this.dirs), driver: String(this.task.Driver ?? "") };
  }

  logPath(type: "stdout" | "stderr"): string {
    return join(this.dirs.logDir, `${this.name}.${type}.0`);
  }

  private async run(): Promise<void> {
    if (!(await this.setup())) return;
    for (;;) {
      const outcome = await this.runOnce();
      const interrupt = this.interrupt;
      this.interrupt = undefined;
      if (interrupt?.kind === "kill") {
        this.emit(taskEvent("Killed"));
        return this.finish(false);
      }
      if (interrupt?.kind === "restart" && !interrupt.failure) {
        this.emit(taskEvent("Restarting", { StartDelay: 0 }));
        this.setState("pending");
        if (interrupt.respawn) continue;
        return;
      }
      const decision = this.tracker.next(outcome);
      if (decision.kind === "terminated") return this.finish(false);
      if (decision.kind === "fail") {
        this.emit(taskEvent("Not Restarting", { RestartReason: decision.reason, FailsTask: true }));
        return this.finish(true);
      }
      this.emit(taskEvent("Restarting", { StartDelay: Math.round(decision.delayMs * 1e6), RestartReason: decision.reason }));
      this.setState("pending");
      await this.sleep(decision.delayMs);
      const during = this.interrupt as Interrupt | undefined;
      if (during?.kind === "kill") {
        this.emit(taskEvent("Killed"));
        return this.finish(false);
      }
      if (during?.kind === "restart" && !during.respawn) return;
      this.interrupt = undefined;
    }
  }

  private async setup(): Promise<boolean> {
    if (this.env) return true;
    this.emit(taskEvent("Task Setup", { Message: "Building Task Directory", Details: { message: "Building Task Directory" } }));
    try {
      for (const dir of [this.dirs.localDir, this.dirs.secretsDir, join(this.dirs.taskDir, "tmp"), this.dirs.logDir]) {
        mkdirSync(dir, { recursive: true });
      }
      for (const type of ["stdout", "stderr"] as const) closeSync(openSync(this.logPath(type), "a"));
      const base = { ...buildTaskEnv(this.spec, this.task, this.dirs), ...prepareMounts(this.spec, this.task, this.dirs.taskDir) };
      const read = this.spec.readVariable;
      const templateVars = await renderTemplates(this.task.Templates, this.dirs.taskDir, base, read && ((path) => read(path, this.name)));
      this.env = { ...base, ...templateVars };
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.emit(taskEvent("Setup Failure", { SetupError: message, FailsTask: true }));
      this.finish(true);
      return false;
    }
  }

  private async runOnce(): Promise<ExitOutcome> {
    if (this.interrupt?.kind === "kill") return { exitCode: 0 };
    const env = this.env!;
    let proc: RunningTask;
    try {
      proc = await this.spawn(env);
    } catch (err) {
      const driverErr = err instanceof DriverError ? err : new DriverError(String((err as Error)?.message ?? err), true);
      this.emit(taskEvent("Driver Failure", { DriverError: driverErr.message }));
      return { startError: driverErr.message, recoverable: driverErr.recoverable };
    }
    this.proc = proc;
    this.emit(taskEvent("Started"));
    this.setState("running");
    if ((this.interrupt as Interrupt | undefined)?.kind === "kill") this.terminate(proc, true);
    const result = await proc.exited;
    this.proc = undefined;
    clearTimeout(this.killTimer);
    this.emit(taskEvent("Terminated", { ExitCode: result.exitCode, Signal: result.signal }));
    return { exitCode: result.exitCode };
  }

  private async spawn(env: Record<string, string>): Promise<RunningTask> {
    if ((this.spec.driverOverride ?? this.task.Driver) === mockDriverName) {
      const overridden = this.task.Driver === mockDriverName ? undefined : { longLived: this.kind === "main" || this.kind.endsWith("sidecar") };
      return startMockTask(mockTaskConfig(this.task.Config ?? {}, overridden), { stdout: this.logPath("stdout"), stderr: this.logPath("stderr") });
    }
    const meta = mergedMeta(this.spec, this.task);
    const command = taskCommand(this.task, this.spec.ports, (s) => interpolate(s, env, this.spec, meta));
    assertExecutable(command.argv[0]!, this.dirs.taskDir, env.PATH);
    const stdout = openSync(this.logPath("stdout"), "a");
    const stderr = openSync(this.logPath("stderr"), "a");
    try {
      return spawnTaskProcess({
        argv: command.argv,
        cwd: this.dirs.taskDir,
        env,
        stdio: ["ignore", stdout, stderr],
        memoryLimitKb: command.memoryLimitKb,
      });
    } finally {
      closeSync(stdout);
      closeSync(stderr);
    }
  }

  /** Sends the task's kill signal to its process group, and SIGKILL once KillTimeout has passed. */
  private terminate(proc: RunningTask, announce: boolean): void {
    const timeoutNs = typeof this.task.KillTimeout === "number" ? this.task.KillTimeout : defaultKillTimeoutNs;
    if (announce) this.emit(taskEvent("Killing", { KillTimeout: timeoutNs }));
    const sig = typeof this.task.KillSignal === "string" && this.task.KillSignal ? this.task.KillSignal : "SIGTERM";
    proc.signal(sig as NodeJS.Signals);
    clearTimeout(this.killTimer);
    this.killTimer = setTimeout(() => proc.signal("SIGKILL"), timeoutNs / 1e6);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wakeDelay = done;
    }).finally(() => (this.wakeDelay = undefined));
  }

  private setState(state: TaskState["State"]): void {
    const now = new Date().toISOString();
    if (state === "running" && this.state.State !== "running") this.state.StartedAt = now;
    if (state === "dead") this.state.FinishedAt = now;
    if (state !== "dead") this.state.FinishedAt = null;
    this.state.State = state;
    this.onChange();
  }

  private finish(failed: boolean): void {
    if (failed) this.state.Failed = true;
    this.setState("dead");
  }

  emit(event: FullTaskEvent): void {
    this.state.Events.push(event);
    if (this.state.Events.length > maxEvents) this.state.Events.splice(0, this.state.Events.length - maxEvents);
    if (event.FailsTask) this.state.Failed = true;
    if (event.Type === "Restarting") {
      this.state.Restarts++;
      this.state.LastRestart = new Date(event.Time / 1e6).toISOString();
    }
    this.onChange();
  }
}
