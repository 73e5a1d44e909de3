// Nomad's mock_driver (its test driver, drivers/mock in Nomad's source), so thousands of allocations can run without
// a process each. Semantics as Nomad's: start_error (with start_error_recoverable) fails the start; start_block_for
// delays it; the task writes stdout_string / stderr_string once, then again stdout_repeat times every
// stdout_repeat_duration; it runs for run_for (0 or absent: it exits at once) and then exits with exit_code /
// exit_signal; a kill ends it after kill_after (at once without), with the same exit code.
//
// The dev agent's --driver-override mock_driver runs every task this way, whatever its driver. The task's Config
// keeps its say where it names mock_driver keys (so a test can make a docker task crash with run_for + exit_code);
// without run_for, a long-lived task (main or sidecar) runs until it is stopped and a hook (init, poststart/poststop)
// exits 0 at once, so jobs the plugin builds behave as they would.

import { appendFileSync } from "node:fs";
import { parseGoDuration } from "../http/go-duration.js";
import type { ExitResult, RunningTask } from "./task-process.js";
import { DriverError } from "./task-command.js";

export const mockDriverName = "mock_driver";

export interface MockTaskConfig {
  runForMs: number | undefined;
  exitCode: number;
  exitSignal: number;
  startError: string;
  startErrorRecoverable: boolean;
  startBlockForMs: number;
  killAfterMs: number;
  stdout: { text: string; repeat: number; everyMs: number };
  stderr: { text: string; repeat: number; everyMs: number };
}

const durationMs = (value: unknown): number => {
  if (typeof value !== "string" || value === "") return 0;
  const ms = parseGoDuration(value);
  if (ms === undefined) throw new DriverError(`failed to parse duration ${JSON.stringify(value)}`);
  return ms;
};

/** The task's mock_driver config; `longLived` (an overridden main task or sidecar) runs until it is stopped. */
export function mockTaskConfig(config: Record<string, any>, overridden: { longLived: boolean } | undefined): MockTaskConfig {
  const c = config;
  const runsUntilStopped = overridden?.longLived === true && (c.run_for === undefined || c.run_for === "");
  return {
    runForMs: runsUntilStopped ? undefined : durationMs(c.run_for),
    exitCode: Number(c.exit_code ?? 0) || 0,
    exitSignal: Number(c.exit_signal ?? 0) || 0,
    startError: typeof c.start_error === "string" ? c.start_error : "",
    startErrorRecoverable: c.start_error_recoverable === true,
    startBlockForMs: durationMs(c.start_block_for),
    killAfterMs: durationMs(c.kill_after),
    stdout: { text: String(c.stdout_string ?? ""), repeat: Number(c.stdout_repeat ?? 0) || 0, everyMs: durationMs(c.stdout_repeat_duration) },
    stderr: { text: String(c.stderr_string ?? ""), repeat: Number(c.stderr_repeat ?? 0) || 0, everyMs: durationMs(c.stderr_repeat_duration) },
  };
}

/** Starts a mock task writing to the task's log files; throws DriverError for start_error. */
export async function startMockTask(config: MockTaskConfig, logs: { stdout: string; stderr: string }): Promise<RunningTask> {
  if (config.startBlockForMs > 0) await new Promise((resolve) => setTimeout(resolve, config.startBlockForMs));
  if (config.startError) throw new DriverError(config.startError, config.startErrorRecoverable);

  const timers = new Set<NodeJS.Timeout>();
  let finish!: (result: ExitResult) => void;
  const exited = new Promise<ExitResult>((resolve) => (finish = resolve));
  let done = false;
  const end = () => {
    if (done) return;
    done = true;
    for (const t of timers) clearTimeout(t);
    timers.clear();
    finish({ exitCode: config.exitCode, signal: config.exitSignal });
  };
  const output = (path: string, { text, repeat, everyMs }: MockTaskConfig["stdout"]) => {
    if (!text) return;
    appendFileSync(path, text);
    let left = repeat;
    const again = () => {
      if (done || left-- <= 0) return;
      appendFileSync(path, text);
      timers.add(setTimeout(again, everyMs));
    };
    if (left > 0) timers.add(setTimeout(again, everyMs));
  };
  output(logs.stdout, config.stdout);
  output(logs.stderr, config.stderr);
  if (config.runForMs !== undefined) timers.add(setTimeout(end, config.runForMs));

  return {
    pid: undefined,
    exited,
    signal(sig) {
      if (done) return;
      if (sig === "SIGKILL" || sig === 9 || config.killAfterMs <= 0) end();
      else timers.add(setTimeout(end, config.killAfterMs));
    },
  };
}
