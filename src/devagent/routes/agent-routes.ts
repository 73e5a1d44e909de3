// Agent and cluster status endpoints of a single-node dev agent that is server, client and leader at once.

import { createHash } from "node:crypto";
import os from "node:os";
import { badRequest, HttpError } from "../http/http-error.js";
import { readJson } from "../http/request-context.js";
import { sendJson, sendText, setQueryMeta } from "../http/reply.js";
import type { Router } from "../http/router.js";
import type { RouteDeps } from "./route-deps.js";

export const leaderAddr = "127.0.0.1:4647";

export function registerAgentRoutes(router: Router, deps: RouteDeps): void {
  router.add("GET", "/v1/agent/health", (ctx) => {
    const type = ctx.query.get("type");
    const ok = { message: "ok", ok: true };
    const body: Record<string, unknown> = {};
    if (!type || type === "client") body.client = ok;
    if (!type || type === "server") body.server = ok;
    sendJson(ctx.res, body);
  });
  router.add("GET", "/v1/agent/self", (ctx) => sendJson(ctx.res, agentSelf(deps)));
  router.add("GET", "/v1/status/leader", (ctx) => sendJson(ctx.res, leaderAddr));
  router.add("GET", "/v1/status/peers", (ctx) => sendJson(ctx.res, [leaderAddr]));
  router.add("GET", "/v1/regions", (ctx) => sendJson(ctx.res, [deps.region]));
  router.add("GET", "/v1/namespaces", (ctx) => {
    setQueryMeta(ctx.res, 1);
    sendJson(ctx.res, [...deps.namespaces].sort().map(namespaceJson));
  });
  // Nomad 1.6 command/agent/namespace_endpoint.go namespaceQuery: an unknown name is 404 "Namespace not found".
  router.add("GET", "/v1/namespace/:name", (ctx) => {
    const name = decodeURIComponent(ctx.params.name ?? "");
    setQueryMeta(ctx.res, 1);
    if (!deps.namespaces.has(name)) throw new HttpError(404, "Namespace not found");
    sendJson(ctx.res, namespaceJson(name));
  });
  router.add("GET", "/v1/acl/token/self", (ctx) => sendJson(ctx.res, deps.tokenSelf(ctx.token)));

  router.add("GET", "/v1/devagent/faults", (ctx) => sendJson(ctx.res, deps.faults.get()));
  router.add(["PUT", "POST"], "/v1/devagent/faults", async (ctx) => {
    const body = await readJson(ctx.req);
    try {
      deps.faults.set(body);
    } catch (err) {
      throw badRequest((err as Error).message);
    }
    sendJson(ctx.res, deps.faults.get());
  });
  router.add("DELETE", "/v1/devagent/faults", (ctx) => {
    deps.faults.clear();
    sendText(ctx.res, 200, "");
  });
}

function agentSelf(deps: RouteDeps) {
  const url = new URL(deps.address());
  const port = Number(url.port);
  return {
    config: {
      Region: deps.region,
      Datacenter: deps.node.datacenter,
      NodeName: deps.node.name,
      DataDir: "",
      LogLevel: "INFO",
      BindAddr: url.hostname,
      EnableDebug: false,
      Ports: { HTTP: port, RPC: 4647, Serf: 4648 },
      Addresses: { HTTP: url.hostname, RPC: "127.0.0.1", Serf: "127.0.0.1" },
      AdvertiseAddrs: { HTTP: `${url.hostname}:${port}`, RPC: leaderAddr, Serf: "127.0.0.1:4648" },
      Server: { Enabled: true, BootstrapExpect: 1 },
      Client: { Enabled: true },
      ACL: { Enabled: deps.acl },
      TLSConfig: { EnableHTTP: url.protocol === "https:" },
      DevMode: true,
      Version: { Version: deps.version, VersionPrerelease: "dev", VersionMetadata: "", Revision: "" },
    },
    member: {
      Addr: "127.0.0.1",
      Name: `${deps.node.name}.${deps.region}`,
      Port: 4648,
      Status: "alive",
      ProtocolMin: 1,
      ProtocolMax: 5,
      ProtocolCur: 2,
      DelegateMin: 2,
      DelegateMax: 5,
      DelegateCur: 4,
      Tags: { role: "nomad", region: deps.region, dc: deps.node.datacenter, build: deps.version, port: "4647", bootstrap: "1", vsn: "1", mvn: "1" },
    },
    stats: {
      nomad: { server: "true", leader: "true", leader_addr: leaderAddr, bootstrap: "true", known_regions: "1" },
      client: { node_id: deps.node.id, known_servers: leaderAddr, num_allocations: String(deps.store.allocs.size), heartbeat_ttl: "0", last_heartbeat: "0" },
      runtime: { arch: os.arch(), cpu_count: String(os.cpus().length), goroutines: "0", "kernel.name": os.platform(), max_procs: String(os.cpus().length), version: process.version },
    },
  };
}

/** structs.Namespace as the agent encodes it (Hash is the []byte of a blake2b hash, base64 in JSON). */
function namespaceJson(name: string) {
  return {
    Name: name,
    Description: name === "default" ? "Default shared namespace" : "",
    Quota: "",
    Capabilities: null,
    NodePoolConfiguration: null,
    Meta: null,
    Hash: createHash("sha256").update(name).digest("base64"),
    CreateIndex: 1,
    ModifyIndex: 1,
  };
}
