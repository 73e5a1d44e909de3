// startDevAgent: the dev agent wired to the real process runtime (runtime/*).
import { createDevAgent, type DevAgent, type DevAgentOptions } from "./agent.js";
import { createAllocRunner } from "./runtime/alloc-runner.js";
import { clientEndpoints } from "./runtime/client-endpoints.js";

export type { DevAgent, DevAgentOptions } from "./agent.js";
export type { FaultSettings } from "./faults.js";

export function startDevAgent(options: DevAgentOptions = {}): Promise<DevAgent> {
  return createDevAgent(options, { createAllocRunner, clientEndpoints });
}
