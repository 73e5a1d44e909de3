// For the Logs/Resources/Exec end-to-end tests: a dev agent plus the provider (in process) with the observe families,
// and helpers to submit raw Nomad jobs named like instances ("cp-<instance>") without going through Provision.
import { afterAll, beforeAll } from "vitest";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { execFamily, logsFamily } from "../../src/provider/observe-family.js";
import { startInProcessProvider, type InProcessProvider } from "./in-process-provider.js";
import { LogStream, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until } from "./dev-agent.js";

export interface ObserveStack {
  agent: DevAgent;
  provider: InProcessProvider;
}

export function useObserveStack(): () => ObserveStack {
  let stack: ObserveStack | undefined;
  beforeAll(async () => {
    const agent = await startDevAgent({ port: 0 });
    const provider = await startInProcessProvider({ nomadAddress: agent.address, families: [logsFamily, execFamily] });
    stack = { agent, provider };
  });
  afterAll(async () => {
    await stack?.provider.close();
    await stack?.agent.close();
  });
  return () => {
    if (!stack) throw new Error("stack not started");
    return stack;
  };
}

let counter = 0;
export function newInstanceId(prefix: string): string {
  return `${prefix}-${process.pid}-${++counter}`;
}

export interface TaskSpec {
  name?: string;
  script: string;
  cpu?: number;
  memoryMb?: number;
}

/** Registers job cp-<instance> running `script` (raw_exec, /bin/sh -c) in `count` allocations and waits for them to run. */
export async function runInstance(agent: DevAgent, instanceId: string, task: TaskSpec, count = 1, type = "service"): Promise<string[]> {
  const job = {
    Job: {
      ID: `cp-${instanceId}`,
      Type: type,
      TaskGroups: [
        {
          Name: "workload",
          Count: count,
          RestartPolicy: { Attempts: 0, Mode: "fail" },
          ReschedulePolicy: { Unlimited: false, Attempts: 0 },
          Tasks: [
            {
              Name: task.name ?? "app",
              Driver: "raw_exec",
              KillTimeout: 500_000_000,
              Meta: { "ctrlplane.role": "main" },
              Resources: { CPU: task.cpu ?? 100, MemoryMB: task.memoryMb ?? 64 },
              Config: { command: "/bin/sh", args: ["-c", task.script] },
            },
          ],
        },
      ],
    },
  };
  const res = await api(agent, "PUT", "/v1/jobs", job);
  if (res.status !== 200) throw new Error(`register failed: ${res.status} ${res.text}`);
  return until(async () => {
    const allocs = (await api(agent, "GET", `/v1/job/cp-${instanceId}/allocations`)).json as Array<{ ID: string; ClientStatus: string; TaskStates?: Record<string, { State: string }> }>;
    const running = allocs.filter((a) => a.ClientStatus === "running" && a.TaskStates?.[task.name ?? "app"]?.State === "running");
    return running.length === count ? running.map((a) => a.ID) : undefined;
  }, `${count} running allocations of cp-${instanceId}`);
}

export async function allocStatus(agent: DevAgent, allocId: string): Promise<string> {
  return (await api(agent, "GET", `/v1/allocation/${allocId}`)).json.ClientStatus as string;
}

export async function stopInstance(agent: DevAgent, instanceId: string): Promise<void> {
  await api(agent, "DELETE", `/v1/job/cp-${instanceId}?purge=true`);
}

/** The responses of a Logs stream, all of them or the first `max` (then the call is cancelled). */
export async function collectLogs(stream: AsyncIterable<LogsResponse>, max = Infinity): Promise<LogsResponse[]> {
  const out: LogsResponse[] = [];
  for await (const r of stream) {
    out.push(r);
    if (out.length >= max) break;
  }
  return out;
}

/**
 * Runs an instance whose task prints the numbers 1 to `lines` on stdout (then runs `then`, by default nothing, and
 * sleeps), and waits until the last number can be read through Logs. Resolves with the allocation's ID.
 */
export async function runNumberedInstance(stack: ObserveStack, instanceId: string, lines: number, then = ""): Promise<string> {
  const [allocId] = await runInstance(stack.agent, instanceId, { script: `seq 1 ${lines}; ${then ? `${then}; ` : ""}exec sleep 3600` });
  await until(async () => {
    const last = await collectLogs(stack.provider.client.logs({ instanceId, tail: 1, stream: LogStream.STDOUT }));
    return last[0]?.line === String(lines);
  }, `all ${lines} numbered lines written`);
  return allocId!;
}
