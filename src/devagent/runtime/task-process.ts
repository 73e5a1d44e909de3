// Spawns one task process as the leader of a new process group, wrapped in a tiny POSIX sh supervisor:
//
//   ( trap '' TERM INT HUP; read -r _ <&3; kill -KILL 0 ) &   <- watcher: blocks on a pipe whose other end only the
//                                                               agent holds; EOF means the agent died, so it kills
//                                                               the whole group (it ignores the stop signals so it
//                                                               outlives a graceful stop and still guards the group)
//   ulimit -v <kb>                                            <- optional RLIMIT_AS memory limit
//   exec "$@" 3<&-                                            <- the task replaces the shell: same pid, real exit code
//
// The watcher costs one extra dash process per task and no polling. When the task's leader exits, the agent
// SIGKILLs the group, which also removes the watcher and anything the task left behind (like Nomad's executor).

import { spawn, type ChildProcess } from "node:child_process";
import { constants } from "node:os";
import { waitGroupGone } from "./process-group.js";
import { killGroup, trackGroup, untrackGroup } from "./process-registry.js";

const SUPERVISOR = `( trap '' TERM INT HUP; read -r _ <&3; kill -KILL 0 ) & if [ -n "$DEVAGENT_RLIMIT_AS_KB" ]; then ulimit -v "$DEVAGENT_RLIMIT_AS_KB" || exit 125; fi; unset DEVAGENT_RLIMIT_AS_KB; exec "$@" 3<&-`;

export interface ExitResult {
  exitCode: number;
  /** Signal number that terminated the process, 0 if it exited. */
  signal: number;
}

export interface SpawnOptions {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** stdin, stdout, stderr: file descriptors, "pipe" or "ignore". */
  stdio: ["ignore" | "pipe", number | "pipe", number | "pipe"];
  memoryLimitKb?: number;
}

/** A task the runner supervises: a process group, or a mock_driver task with no process at all. */
export interface RunningTask {
  /** The leader's pid; undefined for a task without a process (mock_driver). */
  readonly pid: number | undefined;
  /** Resolves once the task has exited (for a process: once its group has been cleaned up). */
  readonly exited: Promise<ExitResult>;
  /** Signals the task (for a process: the whole process group). */
  signal(sig: NodeJS.Signals | number): void;
}

export interface TaskProcess extends RunningTask {
  readonly pid: number;
  readonly child: ChildProcess;
}

export function signalNumber(name: string | null): number {
  if (!name) return 0;
  return (constants.signals as Record<string, number>)[name] ?? 0;
}

export function spawnTaskProcess(options: SpawnOptions): TaskProcess {
  const [argv0, ...rest] = options.argv;
  if (!argv0) throw new Error("empty command");
  const env = { ...options.env };
  if (options.memoryLimitKb) env.DEVAGENT_RLIMIT_AS_KB = String(options.memoryLimitKb);
  const child = spawn("/bin/sh", ["-c", SUPERVISOR, "devagent-task", argv0, ...rest], {
    cwd: options.cwd,
    env,
    detached: true, // setsid(): the task leads a new session and process group
    stdio: [...options.stdio, "pipe"],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to spawn ${argv0}`);
  trackGroup(pid);
  const exited = new Promise<ExitResult>((resolve) => {
    child.once("exit", (code, sig) => {
      killGroup(pid, "SIGKILL");
      const signal = signalNumber(sig);
      void waitGroupGone(pid).then(() => {
        untrackGroup(pid);
        child.stdio[3]?.destroy();
        resolve({ exitCode: signal ? 128 + signal : (code ?? 0), signal });
      });
    });
  });
  child.on("error", () => {}); // spawn errors surface as an exit; /bin/sh always exists here
  return { pid, child, exited, signal: (sig) => killGroup(pid, sig) };
}
