// Exec (unary): runs a command next to a service's task over Nomad's exec WebSocket and returns its real exit code
// and output. stdout and stderr are each kept up to max_output_bytes (default 4 MiB); output beyond that is read and
// dropped (the command is not stopped) and *_truncated is set. The command is killed when `timeout` (default: the
// call deadline, else 60 s) passes — by closing the session, which makes Nomad kill it — and the call then fails
// with DEADLINE_EXCEEDED.

import { linkedSignal } from "../trace-context.js";
import { durationMs } from "@bufbuild/protobuf/wkt";
import type { ExecRequest, ExecResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExecResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { readAllocation } from "../nomad/allocations.js";
import { ExecSession } from "../nomad/exec-session.js";
import { explainExecFailure } from "./exec-failure.js";
import { listJobAllocations, readJob } from "../nomad/jobs.js";
import type { AllocListStub } from "../nomad/types.js";
import type { CallContext } from "../grpc/service-impl.js";
import { jobIdFor } from "./instance-id.js";
import type { ProviderDeps } from "./provider-deps.js";
import { currentAllocations, resolveTask } from "./service-target.js";

const defaultMaxOutput = 4 * 1024 * 1024;
const defaultTimeoutMs = 60_000;

export interface ExecTarget {
  allocId: string;
  task: string;
}

/** The allocation and task a command runs next to: alloc_id, else the first healthy running allocation. */
export async function chooseExecTarget(
  deps: ProviderDeps,
  instanceId: string,
  serviceName: string,
  allocId: string,
  signal: AbortSignal,
  fieldPrefix = "",
): Promise<ExecTarget> {
  const jobId = jobIdFor(instanceId, `${fieldPrefix}instance_id`);
  const job = (await readJob(deps.nomad, jobId, { signal })).value;
  const task = resolveTask(job, serviceName, `${fieldPrefix}service_name`).Name;
  let candidates: AllocListStub[];
  if (allocId) {
    const alloc = await readAllocation(deps.nomad, allocId, { signal });
    if (alloc.JobID !== jobId) throw new ProviderError(Code.NotFound, `allocation ${allocId} does not belong to instance job ${jobId}`);
    candidates = [alloc as AllocListStub];
  } else {
    const allocs = (await listJobAllocations(deps.nomad, jobId, { signal })).value;
    candidates = currentAllocations(job, allocs, false);
    // Healthy ones first; then any whose task runs.
    candidates.sort((a, b) => Number(b.DeploymentStatus?.Healthy === true) - Number(a.DeploymentStatus?.Healthy === true));
  }
  const running = candidates.find((a) => a.ClientStatus === "running" && a.TaskStates?.[task]?.State === "running");
  if (!running) {
    const where = allocId ? `allocation ${allocId}` : `instance ${instanceId}`;
    throw new ProviderError(Code.FailedPrecondition, `task ${task} is not running in ${where}`);
  }
  return { allocId: running.ID, task };
}

export async function execOnce(
  deps: ProviderDeps,
  req: ExecRequest,
  ctx: CallContext,
): Promise<MessageInitShape<typeof ExecResponseSchema>> {
  if (req.command.length === 0 || req.command[0] === "") throw invalidArgument("command", "required (argv, at least one element)");
  if (req.maxOutputBytes < 0) throw invalidArgument("max_output_bytes", "must be >= 0");
  const timeoutMs = req.timeout ? durationMs(req.timeout) : ctx.deadline ? ctx.deadline.getTime() - Date.now() : defaultTimeoutMs;
  if (req.timeout && timeoutMs <= 0) throw invalidArgument("timeout", "must be positive");
  const limit = req.maxOutputBytes || defaultMaxOutput;

  const target = await chooseExecTarget(deps, req.instanceId, req.serviceName, req.allocId, ctx.signal);
  const timedOut = new AbortController();
  const timer = setTimeout(() => timedOut.abort(), Math.max(1, timeoutMs));
  const signal = linkedSignal([ctx.signal, timedOut.signal]);
  const out = new Collector(limit);
  const err = new Collector(limit);
  try {
    const session = await ExecSession.open(deps.nomad, target.allocId, { task: target.task, command: req.command, tty: req.tty, signal });
    session.sendStdin(req.stdin);
    session.closeStdin();
    let exitCode = -1;
    for await (const e of session.events()) {
      if ("stdout" in e) out.add(e.stdout);
      else if ("stderr" in e) err.add(e.stderr);
      else exitCode = e.exited;
    }
    const res: ExecResponse | MessageInitShape<typeof ExecResponseSchema> = {
      exitCode,
      stdout: out.bytes(),
      stderr: err.bytes(),
      stdoutTruncated: out.truncated,
      stderrTruncated: err.truncated,
      allocId: target.allocId,
    };
    return res;
  } catch (e) {
    if (timedOut.signal.aborted && !ctx.signal.aborted) {
      throw new ProviderError(Code.DeadlineExceeded, `exec timed out after ${timeoutMs} ms; the command was killed`);
    }
    throw await explainExecFailure(deps, e, target, req.command, ctx.signal);
  } finally {
    clearTimeout(timer);
  }
}

class Collector {
  readonly #parts: Buffer[] = [];
  #size = 0;
  truncated = false;

  constructor(readonly limit: number) {}

  add(data: Buffer): void {
    const room = this.limit - this.#size;
    if (data.length > room) this.truncated = true;
    if (room <= 0) return;
    const kept = data.length > room ? data.subarray(0, room) : data;
    this.#parts.push(kept);
    this.#size += kept.length;
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.#parts);
  }
}
