// startDevAgent: the dev agent wired to the real process runtime (runtime/*).
import type { ClientEndpoints } from "./alloc-runtime.js";
import { createDevAgent, type DevAgent, type DevAgentOptions } from "./agent.js";
import { createAllocRunner } from "./runtime/alloc-runner.js";

export type { DevAgent, DevAgentOptions } from "./agent.js";
export type { FaultSettings } from "./faults.js";

/** Until the runtime half's logs/stats/exec land, these endpoints answer an honest 501 instead of pretending. */
const clientEndpoints: ClientEndpoints = {
  logs: async (_req, res) => void res.writeHead(501, { "Content-Type": "text/plain; charset=utf-8" }).end("logs are not implemented by this dev agent yet"),
  stats: async (_req, res) => void res.writeHead(501, { "Content-Type": "text/plain; charset=utf-8" }).end("stats are not implemented by this dev agent yet"),
  execUpgrade: (_req, socket) => void socket.end("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
};

export function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  return createDevAgent(options, { createAllocRunner, clientEndpoints });
}
