// Assembles the dev agent: state store, scheduler (with the runtime half's AllocRunner), job layer, HTTP(S) server
// with Nomad's routes, ACL, fault switches, blocking queries and the event stream.

import { mkdtempSync, mkdirSync, rmSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { createLogger, type Logger } from "../log.js";
import { Acl } from "./acl.js";
import type { ClientEndpoints, CreateAllocRunner } from "./alloc-runtime.js";
import { Faults } from "./faults.js";
import { HttpError } from "./http/http-error.js";
import { tokenOf, type RequestContext } from "./http/request-context.js";
import { sendText } from "./http/reply.js";
import { Router } from "./http/router.js";
import { JobService } from "./jobs/job-service.js";
import { registerAgentRoutes } from "./routes/agent-routes.js";
import { registerAllocRoutes } from "./routes/alloc-routes.js";
import { execUpgrade, registerClientRoutes } from "./routes/client-routes.js";
import { EventBuffer, registerEventRoutes } from "./routes/event-routes.js";
import { registerFsRoutes } from "./routes/fs-routes.js";
import { registerJobRoutes } from "./routes/job-routes.js";
import { registerNodeRoutes } from "./routes/node-routes.js";
import { RequestCounter, registerStatsRoutes } from "./routes/stats-routes.js";
import { registerSystemRoutes } from "./routes/system-routes.js";
import { registerVariableRoutes } from "./routes/variable-routes.js";
import type { RouteDeps } from "./routes/route-deps.js";
import { Scheduler } from "./sched/scheduler.js";
import { newId } from "./state/nomad-time.js";
import { jobKey, StateStore } from "./state/state-store.js";
import { implicitlyReadable } from "./state/variables.js";
import { machineResources, type NodeResources } from "./sched/feasibility.js";

export interface DevAgentOptions {
  host?: string;
  /** 0 = ephemeral. Default 4646. */
  port?: number;
  acl?: boolean;
  /** Where allocation directories live; a temporary directory (removed on close) when absent. */
  dataDir?: string;
  tls?: { cert: string; key: string; ca?: string };
  region?: string;
  datacenter?: string;
  /** Namespaces that exist besides "default". */
  namespaces?: string[];
  /** The node's schedulable CPU (MHz) and memory (MB); default: this machine's (cores x MHz, total memory). */
  nodeResources?: Partial<NodeResources>;
  /** Host volumes the node offers (Nomad client host_volume blocks): name -> absolute host path. Default none. */
  hostVolumes?: Record<string, string>;
  logger?: Logger;
  /** Event stream heartbeat period (Nomad: 30 s); tests shorten it to see idle heartbeats quickly. */
  eventHeartbeatMs?: number;
  /** "mock_driver": every task runs with Nomad's mock driver, no process (scale tests). */
  driverOverride?: "mock_driver";
}

export interface DevAgent {
  /** http(s)://127.0.0.1:PORT */
  address: string;
  managementToken?: string;
  /** With ACLs: the scoped tokens' secrets by name (see defaultScopedTokens in acl.ts). */
  tokens?: Record<string, string>;
  faults: Faults;
  /** Stops every task process, closes every socket. */
  close(): Promise<void>;
}

export interface AgentRuntime {
  createAllocRunner: CreateAllocRunner;
  clientEndpoints: ClientEndpoints;
}

export const agentVersion = "1.6.2";

/** Regions other than the agent's are unreachable ("No path to region", 500): a server forwards every RPC, the client
 *  endpoints' (fs, stats, exec, restart) included, to the ?region= asked. These paths do not forward by region. */
const regionFree = [/^\/v1\/agent\//, /^\/v1\/status\//, /^\/v1\/regions$/, /^\/v1\/devagent\//];
/** Job register and plan choose the region from the job (regionForJob: "global" is the agent's), not from ?region=. */
const regionFromJob = /^\/v1\/(jobs|job\/[^/]+|job\/[^/]+\/plan)$/;

/** Throws Nomad's "No path to region" when the request asks for a region this agent cannot reach. */
function checkRegion(method: string, url: URL, region: string): void {
  const asked = url.searchParams.get("region");
  if (!asked || asked === region || regionFree.some((re) => re.test(url.pathname))) return;
  if ((method === "PUT" || method === "POST") && regionFromJob.test(url.pathname)) return;
  throw new HttpError(500, "No path to region");
}

export async function createDevAgent(options: DevAgentOptions, runtime: AgentRuntime): Promise<DevAgent> {
  const log = options.logger ?? createLogger({ module: "devagent" });
  const region = options.region ?? "global";
  const tempDir = options.dataDir ? undefined : mkdtempSync(join(tmpdir(), "nomad-devagent-"));
  const dataDir = options.dataDir ?? tempDir!;
  mkdirSync(dataDir, { recursive: true });
  const node = {
    id: newId(),
    name: hostname(),
    datacenter: options.datacenter ?? "dc1",
    resources: { ...machineResources(), ...options.nodeResources },
    hostVolumes: { ...options.hostVolumes },
  };
  const store = new StateStore();
  const faults = new Faults();
  const acl = new Acl(options.acl === true);
  const readVariable = (namespace: string, path: string, who: { job: string; group: string; task: string }) => {
    // With ACLs on, a workload identity reads only its implicit paths; Nomad's template then sees a 403 as "absent".
    if (acl.enabled && !implicitlyReadable(path, who.job, who.group, who.task)) return undefined;
    const items = store.variables.get(jobKey(namespace, path))?.Items;
    return items ? { ...items } : undefined;
  };
  const scheduler = new Scheduler({
    store, createAllocRunner: runtime.createAllocRunner, node, region, dataDir, log, readVariable,
    ...(options.driverOverride ? { driverOverride: options.driverOverride } : {}),
  });
  const namespaces = new Set(["default", ...(options.namespaces ?? [])]);
  const jobs = new JobService(store, scheduler, { region, namespaces });
  let address = "";
  const deps: RouteDeps = {
    store, jobs, scheduler, faults, node, region, acl: acl.enabled, version: agentVersion, namespaces,
    tokenSelf: (token) => acl.tokenSelf(token),
    clientEndpoints: runtime.clientEndpoints,
    address: () => address,
  };
  const router = new Router();
  registerAgentRoutes(router, deps);
  registerJobRoutes(router, deps);
  registerAllocRoutes(router, deps);
  registerClientRoutes(router, deps);
  registerFsRoutes(router, deps);
  registerNodeRoutes(router, deps);
  registerVariableRoutes(router, deps);
  registerSystemRoutes(router, deps);
  const events = new EventBuffer(store);
  registerEventRoutes(router, deps, events, options.eventHeartbeatMs);
  const requests = new RequestCounter();
  registerStatsRoutes(router, events, requests);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    serve(req, res, { router, faults, acl, region, log, requests }).catch((err) => {
      log.error("request failed", { error: err });
      sendText(res, 500, err instanceof Error ? err.message : String(err));
    });
  };
  const server: Server = options.tls
    ? createHttpsServer(
        {
          cert: readFileSync(options.tls.cert),
          key: readFileSync(options.tls.key),
          ...(options.tls.ca ? { ca: readFileSync(options.tls.ca), requestCert: true, rejectUnauthorized: true } : {}),
        },
        handle,
      )
    : createHttpServer(handle);
  const sockets = new Set<Socket>();
  server.on(options.tls ? "secureConnection" : "connection", (socket: Socket) => {
    if (faults.refusesConnections()) return socket.destroy();
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? "/", "http://agent");
    try {
      // With ws_handshake=true the token only arrives in the first WebSocket message: the session checks it then.
      checkRegion(req.method ?? "GET", url, region);
      const deferred = !tokenOf(req) && url.searchParams.get("ws_handshake") === "true";
      if (!deferred) acl.check(req.method ?? "GET", url.pathname, tokenOf(req));
      const authorize = (token: string) => {
        try {
          acl.check(req.method ?? "GET", url.pathname, token);
          return undefined;
        } catch (err) {
          return (err as Error).message;
        }
      };
      if (!execUpgrade(deps, req, socket, head, url, deferred && acl.enabled ? authorize : undefined)) socket.destroy();
    } catch (err) {
      const status = err instanceof HttpError ? err.status : 500;
      const body = (err as Error).message;
      socket.end(`HTTP/1.1 ${status} ${status === 403 ? "Forbidden" : status === 500 ? "Internal Server Error" : "Error"}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 4646, options.host ?? "127.0.0.1", () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === "object" && bound ? bound.port : options.port;
  const shownHost = (options.host ?? "127.0.0.1") === "0.0.0.0" ? "127.0.0.1" : (options.host ?? "127.0.0.1");
  address = `${options.tls ? "https" : "http"}://${shownHost}:${port}`;

  let closing: Promise<void> | undefined;
  return {
    address,
    ...(acl.managementToken ? { managementToken: acl.managementToken, tokens: { ...acl.tokens } } : {}),
    faults,
    close: () =>
      (closing ??= (async () => {
        server.close();
        for (const s of sockets) s.destroy();
        await scheduler.close();
        if (tempDir) rmSync(tempDir, { recursive: true, force: true });
      })()),
  };
}

interface ServeDeps {
  router: Router;
  faults: Faults;
  acl: Acl;
  region: string;
  log: Logger;
  requests: RequestCounter;
}

async function serve(req: IncomingMessage, res: ServerResponse, d: ServeDeps): Promise<void> {
  const url = new URL(req.url ?? "/", "http://agent");
  const path = url.pathname;
  if (!path.startsWith("/v1/devagent/")) d.requests.count(req.method ?? "GET", path);
  // Kept-alive connections opened before the switch are dropped too, so clients with a pool see the fault.
  if (d.faults.refusesConnections() && !path.startsWith("/v1/devagent/")) return void req.socket.destroy();
  try {
    const delay = d.faults.delayMs(path);
    if (delay) await new Promise((r) => setTimeout(r, delay));
    const injected = d.faults.take500(path);
    if (injected !== undefined) throw new HttpError(500, injected);
    d.faults.instrument(req, res, path);
    const route = d.router.match(req.method ?? "GET", path);
    if (!route) throw new HttpError(404, "");
    // A server forwards to the region before it resolves the token (the remote region holds the ACLs).
    checkRegion(req.method ?? "GET", url, d.region);
    d.acl.check(req.method ?? "GET", path, tokenOf(req));
    // Nomad's server forwards client RPCs to the server holding the node's connection; with none: 404.
    if (d.faults.noPathToNode(path)) throw new HttpError(404, "No path to node");
    const ctx: RequestContext = {
      req,
      res,
      url,
      query: url.searchParams,
      params: route.params,
      namespace: url.searchParams.get("namespace") || "default",
      token: tokenOf(req),
    };
    await route.handler(ctx);
  } catch (err) {
    if (err instanceof HttpError) {
      d.log.debug("request failed", { method: req.method, path, code: err.status, error: err.message });
      return sendText(res, err.status, err.message);
    }
    throw err;
  }
}
