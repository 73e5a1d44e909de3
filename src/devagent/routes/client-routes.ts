// Client endpoints of the one node: restart and signal are answered here; logs, stats and exec are served by the
// runtime half's ClientEndpoints after this layer resolved the allocation (404 `Unknown allocation "<id>"` as Nomad).

import type { IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import type { AllocRunner } from "../alloc-runtime.js";
import { HttpError } from "../http/http-error.js";
import { readJson } from "../http/request-context.js";
import { sendJson } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { RouteDeps } from "./route-deps.js";

export function runnerFor(deps: RouteDeps, allocId: string): AllocRunner {
  const runner = deps.scheduler.runners.get(allocId);
  if (!runner) throw new HttpError(404, `Unknown allocation "${allocId}"`);
  return runner;
}

export function registerClientRoutes(router: Router, deps: RouteDeps): void {
  router.add(["PUT", "POST"], "/v1/client/allocation/:id/restart", async (ctx) => {
    const body = await readJson(ctx.req, { optional: true });
    const runner = runnerFor(deps, ctx.params.id!);
    const task = typeof body.TaskName === "string" && body.TaskName ? body.TaskName : undefined;
    if (task && !runner.hasTask(task)) throw new HttpError(500, `Could not find task runner for task: ${task}`);
    try {
      await runner.restart({ task, allTasks: body.AllTasks === true, reason: "User requested restart" });
    } catch (err) {
      throw new HttpError(500, (err as Error).message);
    }
    sendJson(ctx.res, {});
  });
  router.add(["PUT", "POST"], "/v1/client/allocation/:id/signal", async (ctx) => {
    const body = await readJson(ctx.req, { optional: true });
    const runner = runnerFor(deps, ctx.params.id!);
    const task = typeof body.Task === "string" && body.Task ? body.Task : undefined;
    if (task && !runner.hasTask(task)) throw new HttpError(500, `Failed to signal task: ${task}, err: task not found`);
    try {
      runner.signal((body.Signal || "SIGKILL") as NodeJS.Signals, task);
    } catch (err) {
      throw new HttpError(500, (err as Error).message);
    }
    sendJson(ctx.res, {});
  });
  router.add("GET", "/v1/client/allocation/:id/stats", async (ctx) => {
    await deps.clientEndpoints.stats(ctx.req, ctx.res, runnerFor(deps, ctx.params.id!));
  });
  router.add("GET", "/v1/client/fs/logs/:id", async (ctx) => {
    await deps.clientEndpoints.logs(ctx.req, ctx.res, runnerFor(deps, ctx.params.id!), ctx.query);
  });
}

/** The exec WebSocket upgrade; answers a plain HTTP error on the raw socket when the allocation is unknown. */
export function execUpgrade(
  deps: RouteDeps,
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  url: URL,
  authorize?: (token: string) => string | undefined,
): boolean {
  const m = /^\/v1\/client\/allocation\/([^/]+)\/exec$/.exec(url.pathname);
  if (!m) return false;
  const allocId = decodeURIComponent(m[1]!);
  const runner = deps.scheduler.runners.get(allocId);
  if (!runner) {
    const body = `Unknown allocation "${allocId}"`;
    socket.end(`HTTP/1.1 404 Not Found\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    return true;
  }
  deps.clientEndpoints.execUpgrade(req, socket, head, runner, url.searchParams, authorize);
  return true;
}
