// GET /v1/client/fs/logs/:alloc_id — parameter validation and errors exactly as Nomad's HTTP agent
// (command/agent/fs_endpoint.go) and client (client/fs_endpoint.go) produce them, then the stream itself.

import { stat } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AllocRunner } from "../alloc-runtime.js";
import { parseGoBool, writeError } from "./http-answers.js";
import { streamLog } from "./log-stream.js";

export interface LogsEndpointOptions {
  /** Nomad sends an empty `{}` frame every second while a followed stream is idle. */
  heartbeatMs: number;
}

type Parsed = { ok: true; task: string; type: "stdout" | "stderr"; follow: boolean; plain: boolean; offset: number; origin: "start" | "end" } | { ok: false; status: number; message: string };

function parseBoolParam(query: URLSearchParams, name: string): boolean | string {
  const raw = query.get(name);
  if (!raw) return false;
  const value = parseGoBool(raw);
  return value ?? `failed to parse ${name} field to boolean: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`;
}

function parseQuery(query: URLSearchParams): Parsed {
  const bad = (message: string): Parsed => ({ ok: false, status: 400, message });
  const task = query.get("task") ?? "";
  if (!task) return bad("must provide task name");
  const follow = parseBoolParam(query, "follow");
  if (typeof follow === "string") return bad(follow);
  const plain = parseBoolParam(query, "plain");
  if (typeof plain === "string") return bad(plain);
  const type = query.get("type");
  if (type !== "stdout" && type !== "stderr") return bad("must provide log type (stdout/stderr)");
  const rawOffset = query.get("offset") ?? "";
  const offset = rawOffset === "" ? 0 : Number(rawOffset);
  if (!/^[+-]?\d+$/.test(rawOffset) && rawOffset !== "") {
    return bad(`error parsing offset: strconv.ParseInt: parsing ${JSON.stringify(rawOffset)}: invalid syntax`);
  }
  const origin = query.get("origin") || "start";
  if (origin !== "start" && origin !== "end") return bad("origin must be start or end");
  return { ok: true, task, type, follow, plain, offset, origin };
}

export async function serveLogs(res: ServerResponse, runner: AllocRunner, query: URLSearchParams, options: LogsEndpointOptions): Promise<void> {
  const parsed = parseQuery(query);
  if (!parsed.ok) return writeError(res, parsed.status, parsed.message);
  // Nomad forces the Content-Type before streaming, so even error answers carry it.
  res.setHeader("Content-Type", parsed.plain ? "text/plain" : "application/json");
  if (!runner.hasTask(parsed.task)) return writeError(res, 400, `unknown task name ${JSON.stringify(parsed.task)}`);
  const state = runner.taskStates()[parsed.task];
  if (!state?.StartedAt) return writeError(res, 404, `task ${JSON.stringify(parsed.task)} not started yet. No logs available`);
  const path = runner.logPath(parsed.task, parsed.type);
  const size = await stat(path).then((s) => s.size, () => 0);
  const offset = parsed.origin === "end" ? Math.max(0, size - parsed.offset) : parsed.offset;
  res.writeHead(200);
  res.flushHeaders();
  await streamLog(res, {
    path,
    file: `alloc/logs/${parsed.task}.${parsed.type}.0`,
    offset,
    follow: parsed.follow,
    plain: parsed.plain,
    heartbeatMs: options.heartbeatMs,
  });
}
