// WebSocket exec next to a task (GET /v1/client/allocation/:id/exec), with Nomad's message format:
//   client -> agent: {"stdin":{"data":b64}} | {"stdin":{"close":true}} | {"tty_size":{...}} | {} (heartbeat)
//                    and first {"version":1,"auth_token":"..."} when ws_handshake=true
//   agent -> client: {"stdout":{"data":b64}} | {"stderr":{"data":b64}} | {"stdout":{"close":true}} ...
//                    then {"exited":true,"result":{"exit_code":N}} (exit_code omitted when 0) and the connection
//                    closes without a close frame (the client sees 1006), as Nomad does.
// Errors after the upgrade close the socket like Nomad: 1008 (policy violation) for its 4xx, 1011 for 500, with the
// error text as the close reason unless that is over 123 bytes (then no close frame: 1006). The command runs with the
// task's working directory and environment, in its own process group (killed when the socket goes away, and with the
// agent).
// tty=true: there is no pseudo-terminal without native code, so stderr is merged into stdout and "\n" is sent
// as "\r\n" the way a terminal would; there is no echo and tty_size is accepted but has no effect.

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { WebSocketServer, type WebSocket } from "ws";
import type { AllocRunner } from "../alloc-runtime.js";
import { parseGoBool, writeRawHttpError } from "./http-answers.js";
import { spawnTaskProcess, type TaskProcess } from "./task-process.js";
import { assertExecutable } from "./executable.js";

const wss = new WebSocketServer({ noServer: true });

const policyViolation = 1008;
const internalError = 1011;

interface ExecRequest {
  task: string;
  command: string[];
  tty: boolean;
  handshake: boolean;
}

/** Checks Nomad's HTTP layer does before upgrading; returns an HTTP error (status, message) or the request. */
function parseRequest(query: URLSearchParams): ExecRequest | [number, string] {
  let command: unknown;
  try {
    command = JSON.parse(query.get("command") ?? "");
  } catch (err) {
    return [500, `failed to marshal command into json: ${(err as Error).message}`];
  }
  if (command !== null && (!Array.isArray(command) || command.some((c) => typeof c !== "string"))) {
    return [500, "failed to marshal command into json: json: cannot unmarshal into Go value of type []string"];
  }
  const ttyRaw = query.get("tty") ?? "";
  const tty = ttyRaw === "" ? false : parseGoBool(ttyRaw);
  if (tty === undefined) return [500, `tty value is not a boolean: strconv.ParseBool: parsing ${JSON.stringify(ttyRaw)}: invalid syntax`];
  const hsRaw = query.get("ws_handshake") ?? "";
  const handshake = hsRaw === "" ? false : parseGoBool(hsRaw) ?? false;
  return { task: query.get("task") ?? "", command: (command as string[] | null) ?? [], tty, handshake };
}

/** Errors Nomad's client reports once the socket is open. */
function validate(runner: AllocRunner, req: ExecRequest): [number, string] | undefined {
  if (!req.task) return [policyViolation, "must provide task name"];
  if (req.command.length === 0) return [policyViolation, "command is not present"];
  if (!runner.hasTask(req.task)) return [internalError, "task not found"];
  const state = runner.taskStates()[req.task];
  if (!state?.StartedAt) return [policyViolation, `task ${JSON.stringify(req.task)} not started yet.`];
  if (state.State !== "running" || runner.taskPids(req.task).length === 0) return [policyViolation, `task ${JSON.stringify(req.task)} is not running.`];
  return undefined;
}

export function handleExecUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  runner: AllocRunner,
  query: URLSearchParams,
  authorize?: (token: string) => string | undefined,
): void {
  const parsed = parseRequest(query);
  if (Array.isArray(parsed)) return writeRawHttpError(socket, parsed[0], parsed[1]);
  wss.handleUpgrade(req, socket, head, (ws) => {
    if (!parsed.handshake) return run(ws, runner, parsed);
    ws.once("message", (data) => {
      let handshake: { version?: unknown; auth_token?: unknown };
      try {
        handshake = JSON.parse(String(data)) as typeof handshake;
      } catch (err) {
        return ws.close(policyViolation, (err as Error).message);
      }
      if (handshake.version !== 1) return ws.close(policyViolation, `unexpected handshake value: ${String(handshake.version)}`);
      // Nomad answers a refused token with a 403, which an open exec socket reports as a policy violation.
      const refused = authorize?.(typeof handshake.auth_token === "string" ? handshake.auth_token : "");
      if (refused) return ws.close(policyViolation, refused);
      run(ws, runner, parsed);
    });
  });
}

function send(ws: WebSocket, message: unknown): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
}

/**
 * Closes like Nomad (gorilla/websocket): an error goes out as a close frame with the text as reason, but a control
 * frame's payload is at most 125 bytes (2 of them the code) and gorilla refuses a longer one, so Nomad then just closes
 * the connection: the client sees 1006 and no reason.
 */
function closeLikeNomad(ws: WebSocket, code: number, reason: string): void {
  if (2 + Buffer.byteLength(reason) > 125) ws.terminate();
  else ws.close(code, reason);
}

/** What the task's driver answers an exec of a program that is not there. */
function missingProgramError(driver: string, program: string): string {
  const notFound = `exec: ${JSON.stringify(program)}: executable file not found in $PATH`;
  if (driver === "docker" || driver === "podman") {
    return `failed to create exec object: Error response from daemon: OCI runtime exec failed: exec failed: unable to start container process: ${notFound}: unknown`;
  }
  return `rpc error: code = Unknown desc = ${notFound}`;
}

function run(ws: WebSocket, runner: AllocRunner, req: ExecRequest): void {
  const invalid = validate(runner, req);
  if (invalid) return closeLikeNomad(ws, invalid[0], invalid[1]);
  let proc: TaskProcess;
  try {
    const { cwd, env, driver } = runner.execEnvironment(req.task);
    try {
      assertExecutable(req.command[0]!, cwd, env.PATH ?? process.env.PATH);
    } catch {
      return closeLikeNomad(ws, internalError, missingProgramError(driver, req.command[0]!));
    }
    proc = spawnTaskProcess({ argv: req.command, cwd, env: req.tty ? { TERM: "xterm", ...env } : env, stdio: ["pipe", "pipe", "pipe"] });
  } catch (err) {
    return closeLikeNomad(ws, internalError, (err as Error).message);
  }
  pump(ws, proc, req.tty);
  // A command exec'd into a task lives inside it: when the task is gone, so is the session.
  const taskWatch = setInterval(() => runner.isTaskDead(req.task) && proc.signal("SIGKILL"), 500);
  void proc.exited.then(() => clearInterval(taskWatch));
  ws.on("message", (data) => onClientMessage(proc, String(data)));
  ws.on("close", () => proc.signal("SIGKILL"));
  ws.on("error", () => proc.signal("SIGKILL"));
}

function pump(ws: WebSocket, proc: TaskProcess, tty: boolean): void {
  const streams = [["stdout", proc.child.stdout], ["stderr", proc.child.stderr]] as const;
  let open = 2;
  const closed = new Promise<void>((resolve) => {
    for (const [name, stream] of streams) {
      const channel = tty ? "stdout" : name;
      stream?.on("data", (chunk: Buffer) => {
        const data = tty ? Buffer.from(chunk.toString("latin1").replace(/\r?\n/g, "\r\n"), "latin1") : chunk;
        send(ws, { [channel]: { data: data.toString("base64") } });
      });
      stream?.once("close", () => {
        if (!tty || name === "stdout") send(ws, { [channel]: { close: true } });
        if (--open === 0) resolve();
      });
    }
  });
  // Nomad sends the exit message, then closes the connection without a close frame (its RPC pipe's EOF is "benign").
  void Promise.all([proc.exited, closed]).then(([result]) => {
    if (ws.readyState !== ws.OPEN) return;
    ws.send(JSON.stringify({ exited: true, result: result.exitCode === 0 ? {} : { exit_code: result.exitCode } }), () => ws.terminate());
  });
}

function onClientMessage(proc: TaskProcess, text: string): void {
  let message: { stdin?: { data?: string; close?: boolean } };
  try {
    message = JSON.parse(text) as typeof message;
  } catch {
    return;
  }
  const stdin = proc.child.stdin;
  if (!message.stdin || !stdin || stdin.destroyed) return;
  if (message.stdin.data) stdin.write(Buffer.from(message.stdin.data, "base64"));
  if (message.stdin.close) stdin.end();
}
