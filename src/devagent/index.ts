// Public entry of the dev agent (a single-node, Nomad-API-compatible agent that runs tasks as local processes).
export { startDevAgent } from "./dev-agent.js";
export type { DevAgent, DevAgentOptions, FaultSettings } from "./dev-agent.js";
