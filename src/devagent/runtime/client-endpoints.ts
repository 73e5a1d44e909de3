// The client endpoints the server half mounts: logs, stats and exec, each writing Nomad's exact answer.
// DEVAGENT_LOG_HEARTBEAT_MS overrides the idle heartbeat of followed log streams (Nomad: 1 s).

import type { ClientEndpoints } from "../alloc-runtime.js";
import { handleExecUpgrade } from "./exec-session.js";
import { writeError } from "./http-answers.js";
import { serveLogs } from "./logs-endpoint.js";
import { serveStats } from "./stats-endpoint.js";

export interface ClientEndpointOptions {
  logHeartbeatMs?: number;
}

function heartbeatFromEnv(): number {
  const value = Number(process.env.DEVAGENT_LOG_HEARTBEAT_MS);
  return Number.isFinite(value) && value > 0 ? value : 1000;
}

export function createClientEndpoints(options: ClientEndpointOptions = {}): ClientEndpoints {
  const heartbeatMs = options.logHeartbeatMs ?? heartbeatFromEnv();
  const failed = (res: Parameters<ClientEndpoints["stats"]>[1]) => (err: unknown) =>
    writeError(res, 500, err instanceof Error ? err.message : String(err));
  return {
    logs: (_req, res, runner, query) => serveLogs(res, runner, query, { heartbeatMs }).catch(failed(res)),
    stats: (_req, res, runner) => serveStats(res, runner).catch(failed(res)),
    execUpgrade: (req, socket, head, runner, query, authorize) => handleExecUpgrade(req, socket, head, runner, query, authorize),
  };
}

export const clientEndpoints: ClientEndpoints = createClientEndpoints();
