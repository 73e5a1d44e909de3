// What Exec and ExecStream say when Nomad ends a session with neither an exit message nor a reason. Nomad reports an
// exec error as a WebSocket close frame whose reason is the error text, but gorilla/websocket refuses control frames
// over 125 bytes, so a long driver error (docker's "OCI runtime exec failed: ...") reaches us as code 1006 and nothing
// else. The answer then says what is known: the command, the allocation and task, that Nomad gave no reason, and a
// recent driver failure among the task's events when there is one.

import { Code, ProviderError } from "../errors.js";
import { readAllocation } from "../nomad/allocations.js";
import { reasonlessCloseCode } from "../nomad/exec-session.js";
import type { TaskEvent } from "../nomad/types.js";
import type { ProviderDeps } from "./provider-deps.js";

/** Task events this recent may explain a failed exec. */
const recentMs = 5 * 60_000;

/** `err` itself, or for a session closed without a reason, an error that says what is known. */
export async function explainExecFailure(
  deps: ProviderDeps,
  err: unknown,
  target: { allocId: string; task: string },
  command: readonly string[],
  signal: AbortSignal,
): Promise<unknown> {
  const code = reasonlessCloseCode(err);
  if (code === undefined || signal.aborted) return err;
  let message =
    `nomad: exec of ${JSON.stringify(command)} in allocation ${target.allocId} (task ${target.task}): Nomad closed the session ` +
    `without an exit status or a reason (code ${code}; Nomad drops error texts over 123 bytes, e.g. a long driver error)`;
  const failure = await recentDriverFailure(deps, target, signal).catch(() => undefined);
  if (failure) message += `; the task's most recent driver failure: ${failure}`;
  return new ProviderError(Code.Unavailable, message, { cause: err });
}

async function recentDriverFailure(deps: ProviderDeps, target: { allocId: string; task: string }, signal: AbortSignal): Promise<string | undefined> {
  const alloc = await readAllocation(deps.nomad, target.allocId, { signal });
  const events: TaskEvent[] = alloc.TaskStates?.[target.task]?.Events ?? [];
  const since = Date.now() - recentMs;
  const failure = events.filter((e) => (e.Type === "Driver Failure" || !!e.DriverError) && e.Time / 1e6 >= since).at(-1);
  return failure ? failure.DriverError || failure.DisplayMessage || failure.Message || failure.Type : undefined;
}
