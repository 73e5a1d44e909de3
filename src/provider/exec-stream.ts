// ExecStream (bidi): an interactive command over Nomad's exec WebSocket. The first request must be `start`; then
// stdin, resize and close_stdin are forwarded as they come (a client that half-closes its side closes stdin). The
// response stream is started{alloc_id}, stdout/stderr in arrival order, and finally exited{exit_code}. A socket that
// drops before the exit ends the call with UNAVAILABLE. Output is not paced by the client: Nomad's exec protocol has
// no flow control, so a client that stops reading makes the plugin queue that session's output.

import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ExecStreamRequest, ExecStreamResponseSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Code, ProviderError, invalidArgument } from "../errors.js";
import { ExecSession } from "../nomad/exec-session.js";
import type { CallContext } from "../grpc/service-impl.js";
import type { ProviderDeps } from "./provider-deps.js";
import { chooseExecTarget } from "./exec.js";
import { explainExecFailure } from "./exec-failure.js";

type Out = MessageInitShape<typeof ExecStreamResponseSchema>;

export async function* execStream(deps: ProviderDeps, reqs: AsyncIterable<ExecStreamRequest>, ctx: CallContext): AsyncGenerator<Out> {
  const it = reqs[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done || first.value.request.case !== "start") throw invalidArgument("request", "the first message must be start");
  const start = first.value.request.value;
  if (start.command.length === 0 || start.command[0] === "") throw invalidArgument("start.command", "required (argv, at least one element)");

  const target = await chooseExecTarget(deps, start.instanceId, start.serviceName, start.allocId, ctx.signal, "start.");
  const session = await ExecSession.open(deps.nomad, target.allocId, {
    task: target.task,
    command: start.command,
    tty: start.tty,
    signal: ctx.signal,
  });
  try {
    if (start.tty && start.size && start.size.width > 0 && start.size.height > 0) session.resize(start.size.width, start.size.height);
    yield { response: { case: "started", value: { allocId: target.allocId } } };
    const pump = forwardRequests(it, session).catch((err) => {
      session.close();
      return ProviderError.from(err);
    });
    let exited = false;
    try {
      for await (const e of session.events()) {
        if ("stdout" in e) yield { response: { case: "stdout", value: e.stdout } };
        else if ("stderr" in e) yield { response: { case: "stderr", value: e.stderr } };
        else {
          exited = true;
          yield { response: { case: "exited", value: { exitCode: e.exited } } };
        }
      }
    } catch (err) {
      const pumpError = await Promise.race([pump, Promise.resolve(undefined)]);
      throw pumpError instanceof ProviderError ? pumpError : await explainExecFailure(deps, err, target, start.command, ctx.signal);
    }
    if (!exited) throw new ProviderError(Code.Unavailable, "nomad: exec: session ended without an exit status");
  } finally {
    session.close();
    void it.return?.();
  }
}

async function forwardRequests(it: AsyncIterator<ExecStreamRequest>, session: ExecSession): Promise<undefined> {
  for (;;) {
    const next = await it.next();
    if (next.done) {
      session.closeStdin();
      return undefined;
    }
    const r = next.value.request;
    switch (r.case) {
      case "stdin":
        session.sendStdin(r.value);
        break;
      case "resize":
        if (r.value.width > 0 && r.value.height > 0) session.resize(r.value.width, r.value.height);
        break;
      case "closeStdin":
        session.closeStdin();
        break;
      case "start":
        throw invalidArgument("request", "start may only be the first message");
      default:
        break;
    }
  }
}
