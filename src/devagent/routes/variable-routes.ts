// /v1/vars and /v1/var/:path: Nomad's Variables HTTP API (command/agent/variable_endpoint.go). A CAS conflict is a
// 409 whose body is the conflicting variable (the management token may read it); a delete answers 204.

import { blockingQuery } from "../http/blocking-query.js";
import { badRequest, HttpError, notFound } from "../http/http-error.js";
import { readJson, type RequestContext } from "../http/request-context.js";
import { sendJson, setIndex, setQueryMeta } from "../http/reply.js";
import type { Router } from "../http/router.js";
import { jobKey } from "../state/state-store.js";
import { deleteVariable, listVariables, setVariable, variableJson, type ApplyResult } from "../state/variables.js";
import type { RouteDeps } from "./route-deps.js";

function casParam(ctx: RequestContext): number | undefined {
  const raw = ctx.query.get("cas");
  if (raw === null || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) throw badRequest(`can not parse cas: strconv.ParseUint: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return Number(raw);
}

function itemsOf(body: unknown): Record<string, string> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("json: cannot unmarshal into Go value of type structs.VariableDecrypted");
  }
  const items = (body as { Items?: unknown }).Items;
  if (items === undefined || items === null) return {};
  if (typeof items !== "object" || Array.isArray(items)) {
    throw badRequest("json: cannot unmarshal into Go struct field VariableDecrypted.Items of type structs.VariableItems");
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(items)) {
    if (typeof v !== "string") throw badRequest("json: cannot unmarshal into Go struct field VariableDecrypted.Items of type string");
    out[k] = v;
  }
  return out;
}

function answer(ctx: RequestContext, result: ApplyResult, okStatus: number): void {
  if (!result.ok) {
    setIndex(ctx.res, result.conflict.ModifyIndex);
    return sendJson(ctx.res, variableJson(result.conflict), 409);
  }
  setIndex(ctx.res, result.index);
  if (okStatus === 204) {
    ctx.res.statusCode = 204;
    return void ctx.res.end();
  }
  sendJson(ctx.res, variableJson(result.variable!));
}

export function registerVariableRoutes(router: Router, deps: RouteDeps): void {
  const { store } = deps;
  router.add("GET", "/v1/vars", (ctx) =>
    blockingQuery(ctx, store, () => ({
      index: store.indexOf("variables"),
      body: listVariables(store, ctx.namespace, ctx.query.get("prefix") ?? "").map((v) => variableJson(v, false)),
    })),
  );
  router.add(["GET", "PUT", "POST", "DELETE"], "/v1/var/*path", async (ctx) => {
    const path = ctx.params.path!;
    switch (ctx.req.method) {
      case "GET":
        return blockingQuery(ctx, store, () => {
          const v = store.variables.get(jobKey(ctx.namespace, path));
          if (!v) {
            setQueryMeta(ctx.res, store.indexOf("variables"));
            throw notFound("variable not found");
          }
          return { index: v.ModifyIndex, body: variableJson(v) };
        });
      case "PUT":
      case "POST": {
        const body = await readJson(ctx.req);
        const items = itemsOf(body);
        if (Object.keys(items).length === 0) throw badRequest("variable missing required Items object");
        const namespace = typeof body.Namespace === "string" && body.Namespace ? body.Namespace : ctx.namespace;
        return answer(ctx, setVariable(store, namespace, path, items, casParam(ctx)), 200);
      }
      case "DELETE":
        return answer(ctx, deleteVariable(store, ctx.namespace, path, casParam(ctx)), 204);
    }
    throw new HttpError(400, "Invalid method");
  });
  // Nomad answers a bare /v1/var/ with this text rather than a 404.
  router.add(["GET", "PUT", "POST", "DELETE"], "/v1/var/", () => {
    throw badRequest("missing variable path");
  });
}
