// The seam between the dev agent's two halves:
//  - the "server" half (HTTP API, state store, jobs, evaluations, scheduler, deployments, ACL, events) decides WHAT runs;
//  - the "runtime" half (src/devagent/runtime/*) runs one allocation's tasks as real local processes and serves the
//    client endpoints (logs, exec, stats) for it.
// The server creates one AllocRunner per placed allocation through createAllocRunner (exported by runtime/alloc-runner.ts)
// and mounts the client endpoints exported by runtime/client-endpoints.ts. Both halves depend only on this file.

import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";

/** Nomad's TaskEvent as served in Allocation.TaskStates[task].Events (subset with the fields clients read). */
export interface TaskEvent {
  Type: string; // "Received", "Task Setup", "Started", "Terminated", "Restarting", "Not Restarting", "Killing", "Killed", "Restart Signaled", "Driver Failure", ...
  Time: number; // unix ns
  DisplayMessage: string;
  Details: Record<string, string>;
  ExitCode: number;
  Signal: number;
  Message: string;
  FailsTask: boolean;
  RestartReason: string;
  KillTimeout: number;
  KillError: string;
  DriverError: string;
  StartDelay: number;
}

/** Nomad's TaskState (Allocation.TaskStates[task]). Times are RFC 3339 strings or null, as Nomad serves them. */
export interface TaskState {
  State: "pending" | "running" | "dead";
  Failed: boolean;
  Restarts: number;
  LastRestart: string | null;
  StartedAt: string | null;
  FinishedAt: string | null;
  Events: TaskEvent[];
}

/** Nomad client statuses of an allocation. */
export type ClientStatus = "pending" | "running" | "complete" | "failed" | "lost";

/** A port the scheduler allocated (AllocatedResources.Shared.Ports entry). */
export interface AllocatedPort {
  Label: string;
  Value: number; // host port
  To: number; // port inside the task; 0 = same as Value
  HostIP: string;
}

/** Deployment health settings of the group's update stanza, when the allocation belongs to a deployment. */
export interface HealthSettings {
  mode: "checks" | "task_states" | "manual";
  minHealthyTimeMs: number;
  healthyDeadlineMs: number;
}

export interface AllocRunSpec {
  allocId: string;
  /** e.g. "cp-x.workload[0]" */
  allocName: string;
  allocIndex: number;
  namespace: string;
  region: string;
  datacenter: string;
  nodeId: string;
  nodeName: string;
  /** The full job object as stored by the server (Nomad JSON, canonicalized: PascalCase keys, defaults filled). */
  job: Record<string, any>;
  /** The task group object of `job` this allocation runs. */
  group: Record<string, any>;
  ports: AllocatedPort[];
  /** Directory the runner owns for this allocation (created by the runner): alloc/logs, <task>/local, <task>/secrets ... */
  allocDir: string;
  /** Set when the allocation is part of a deployment. */
  health?: HealthSettings;
  /**
   * Reads a Nomad Variable (in the allocation's namespace) as `task`'s workload identity would: the items, or
   * undefined when it is absent or not readable (consul-template's nomadVar then sees nothing). Absent: no variables.
   */
  readVariable?: (path: string, task: string) => Record<string, string> | undefined;
  /** The node's host volumes (client host_volume blocks): name -> host path. Absent: none. */
  hostVolumes?: Record<string, string>;
  /** Runs every task with this driver instead of its own (the dev agent's --driver-override; only mock_driver). */
  driverOverride?: string;
}

export interface AllocRunnerEvents {
  /** Any task state or the client status changed; the server re-reads taskStates()/clientStatus() and bumps its index. */
  onUpdate(): void;
  /** Deployment health decided (true: healthy for min_healthy_time; false: failed or healthy_deadline passed). */
  onHealth(healthy: boolean, description: string): void;
}

export interface AllocRunner {
  readonly allocId: string;
  readonly allocDir: string;
  /** Starts the tasks (prestart -> main + poststart sidecars -> ...). Idempotent. */
  start(): void;
  /** Stops every task (SIGTERM, then SIGKILL after the task's KillTimeout). Resolves when all processes are gone. */
  stop(reason: string): Promise<void>;
  /** Restarts running tasks in place (one task by name, or with allTasks also the ones that already ran). */
  restart(options: { task?: string; allTasks?: boolean; reason?: string }): Promise<void>;
  /** Sends a signal to one task or all running tasks. */
  signal(signal: NodeJS.Signals, task?: string): void;
  taskStates(): Record<string, TaskState>;
  clientStatus(): ClientStatus;
  clientDescription(): string;
  /** Deployment health so far: undefined while undecided or outside a deployment. */
  health(): boolean | undefined;
  /** Absolute path of the current log file of a task, e.g. <allocDir>/alloc/logs/web.stdout.0. */
  logPath(task: string, type: "stdout" | "stderr"): string;
  /** Root process ids of a task's running processes (for stats). Empty when not running. */
  taskPids(task: string): number[];
  /** Working directory and environment a command exec'd next to the task runs with. Throws for an unknown task. */
  execEnvironment(task: string): { cwd: string; env: Record<string, string>; driver: string };
  /** True when the task exists and is dead (finished for good, no restart pending). */
  isTaskDead(task: string): boolean;
  hasTask(task: string): boolean;
}

export type CreateAllocRunner = (spec: AllocRunSpec, events: AllocRunnerEvents) => AllocRunner;

/**
 * Client endpoints (served from the runtime half). The server routes the request (after ACL checks and fault
 * handling), resolves the allocation, and calls these. Each writes the complete HTTP answer itself, with Nomad's
 * exact status codes and bodies.
 */
export interface ClientEndpoints {
  /** GET /v1/client/fs/logs/:alloc_id?task=&type=&follow=&origin=&offset=&plain= */
  logs(req: IncomingMessage, res: ServerResponse, runner: AllocRunner, query: URLSearchParams): Promise<void>;
  /** GET /v1/client/allocation/:alloc_id/stats */
  stats(req: IncomingMessage, res: ServerResponse, runner: AllocRunner): Promise<void>;
  /**
   * WebSocket upgrade of GET /v1/client/allocation/:alloc_id/exec?task=&command=&tty=. With ws_handshake=true the
   * token arrives in the first message; `authorize` (given when the server could not check a token yet) returns
   * the 403 text Nomad would answer for it, or undefined when the token may exec.
   */
  execUpgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    runner: AllocRunner,
    query: URLSearchParams,
    authorize?: (token: string) => string | undefined,
  ): void;
}
