// Test helper: a dev agent on an ephemeral port for the duration of one callback (or of a test file via
// `useDevAgent`), plus small HTTP helpers and a poll-until helper (no sleeps as synchronisation).
import { afterAll, beforeAll } from "vitest";
import { startDevAgent, type DevAgent, type DevAgentOptions } from "../../src/devagent/index.js";

export async function withDevAgent<T>(fn: (agent: DevAgent) => Promise<T>, options: DevAgentOptions = {}): Promise<T> {
  const agent = await startDevAgent({ port: 0, ...options });
  try {
    return await fn(agent);
  } finally {
    await agent.close();
  }
}

/** One agent per test file: started in beforeAll, closed in afterAll. */
export function useDevAgent(options: DevAgentOptions = {}): () => DevAgent {
  let agent: DevAgent | undefined;
  beforeAll(async () => {
    agent = await startDevAgent({ port: 0, ...options });
  });
  afterAll(async () => {
    await agent?.close();
  });
  return () => {
    if (!agent) throw new Error("dev agent not started");
    return agent;
  };
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  text: string;
  json: any;
}

export async function api(agent: DevAgent, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const res = await fetch(agent.address + path, {
    method,
    headers: { ...(agent.managementToken ? { "X-Nomad-Token": agent.managementToken } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** Polls `probe` until it returns a truthy value or the deadline passes (then throws with the last value seen). */
export async function until<T>(probe: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    const v = await probe();
    if (v) return v;
    last = v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A raw_exec service job that runs `script` under /bin/sh, with quick deployment health for tests. */
export function shJob(id: string, script: string, extra: { count?: number; update?: Record<string, unknown>; ports?: string[] } = {}) {
  return {
    Job: {
      ID: id,
      TaskGroups: [
        {
          Name: "web",
          Count: extra.count ?? 1,
          Update: { MinHealthyTime: 100_000_000, HealthyDeadline: 10_000_000_000, HealthCheck: "task_states", ...extra.update },
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: { Unlimited: false, Attempts: 0 },
          ...(extra.ports ? { Networks: [{ DynamicPorts: extra.ports.map((Label) => ({ Label })) }] } : {}),
          Tasks: [{ Name: "main", Driver: "raw_exec", KillTimeout: 1_000_000_000, Config: { command: "/bin/sh", args: ["-c", script] } }],
        },
      ],
    },
  };
}
