// Open/cancel cycles of a streaming RPC and a before/after census of what a process holds: active handles by kind,
// process-level listeners, in-flight Nomad requests of the provider's pool and connections open at the dev agent.

import { afterAll, beforeAll, expect } from "vitest";
import type { Agent } from "undici";
import { credentials, status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState, ProviderService, ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { families } from "../../src/provider/families.js";
import type { DevAgent } from "../../src/devagent/index.js";
import { until, useDevAgent } from "./dev-agent.js";
import { startInProcessProvider, type InProcessProvider } from "./in-process-provider.js";
import { createServiceClient, type ProviderClient } from "./provider-client.js";
import { openServerConnections, portOf } from "./tcp-connections.js";

export const cycles = 10_000;
const concurrency = 50;
const perChannel = 500;
/** Room for lazily created singletons (event stream, timers of idle pools). */
const slack = 12;
/** The provider's Nomad pool keeps up to this many idle keep-alive connections (NomadHttp: connections 64); with the
 *  dev agent in this process each is two sockets. A bounded constant, where a leak would grow with the 10,000 cycles. */
const pooledConnections = 64;

export type Open = (client: ProviderClient, signal: AbortSignal) => AsyncIterable<unknown>;

interface Snapshot {
  handles: Record<string, number>;
  processListeners: number;
  agentConnections: number;
  upstreamRequests: number;
}

function snapshot(provider: InProcessProvider, agent: DevAgent): Snapshot {
  const handles: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) handles[kind] = (handles[kind] ?? 0) + 1;
  const processListeners = process.eventNames().reduce((n, e) => n + process.listenerCount(e), 0);
  const stats = Object.values((provider.nomad.dispatcher as Agent).stats) as Array<{ running?: number; queued?: number }>;
  return {
    handles,
    processListeners,
    agentConnections: openServerConnections(portOf(agent.address)),
    upstreamRequests: stats.reduce((n, s) => n + (s.running ?? 0) + (s.queued ?? 0), 0),
  };
}

/** What grew beyond the slack since `before` (empty when nothing leaked). */
function growth(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [kind, n] of Object.entries(after.handles)) {
    const allowed = slack + (kind === "TCPSocketWrap" ? 2 * pooledConnections : 0);
    if (n > (before.handles[kind] ?? 0) + allowed) out.push(`${kind}: ${before.handles[kind] ?? 0} -> ${n}`);
  }
  if (after.processListeners > before.processListeners + slack) out.push(`process listeners: ${before.processListeners} -> ${after.processListeners}`);
  if (after.agentConnections > before.agentConnections + pooledConnections) out.push(`agent connections: ${before.agentConnections} -> ${after.agentConnections}`);
  // A shared upstream watch (event stream, blocking query) may outlive its last subscriber for a while: at most one each.
  if (after.upstreamRequests > before.upstreamRequests + 2) out.push(`upstream requests: ${before.upstreamRequests} -> ${after.upstreamRequests}`);
  return out;
}

/**
 * Opens a stream and cancels it, `cycles` times, `concurrency` at a time: every other stream right after the first
 * message, the rest as soon as they were sent (cancelled while the handler is still setting up). A fresh channel
 * every `perChannel` cycles: an HTTP/2 server resets a connection whose client resets streams faster than its
 * rapid-reset limit allows (nghttp2: a burst of 1,000, then 33/s), which is a property of the transport, not a leak.
 */
/** A client on its own HTTP/2 connection (grpc-js otherwise shares one connection per target). */
function freshClient(provider: InProcessProvider): ProviderClient {
  return createServiceClient(ProviderService, provider.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
}

async function cycle(provider: InProcessProvider, open: Open): Promise<number> {
  let next = 0;
  let received = 0;
  let client = freshClient(provider);
  // Closed only at the end: closing a channel fails the calls still waiting for its connection.
  const clients = [client];
  const worker = async () => {
    while (next < cycles) {
      const n = next++;
      if (n > 0 && n % perChannel === 0) {
        client = freshClient(provider);
        clients.push(client);
      }
      const controller = new AbortController();
      if (n % 2 === 1) controller.abort();
      try {
        for await (const _ of open(client, controller.signal)) {
          received++;
          controller.abort();
          break;
        }
      } catch (err) {
        if ((err as { code?: number }).code !== GrpcStatus.CANCELLED) throw err;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: concurrency }, worker));
  } finally {
    for (const c of clients) c.close();
  }
  return received;
}

/** Runs the cycles and fails unless the census returns to its baseline plus a constant. */
export async function expectNoLeak(provider: InProcessProvider, agent: DevAgent, open: Open): Promise<void> {
  // Warm up: the gRPC channel, the Nomad pool and any shared hub exist before the baseline.
  expect(await cycleOnce(provider, open)).toBe(true);
  const before = snapshot(provider, agent);
  // Streams cancelled before they were sent deliver nothing; the others deliver their first message.
  expect(await cycle(provider, open)).toBeGreaterThanOrEqual(cycles / 2);
  let last: string[] = [];
  if (process.env.LEAK_CENSUS) console.log("before", JSON.stringify(before));
  await until(async () => (last = growth(before, snapshot(provider, agent))).length === 0, "resources back to the baseline", 20_000).catch(() => {
    throw new Error(`leaked after ${cycles} cycles: ${last.join("; ")}`);
  });
  if (process.env.LEAK_CENSUS) console.log("after", JSON.stringify(snapshot(provider, agent)));
}

async function cycleOnce(provider: InProcessProvider, open: Open): Promise<boolean> {
  const controller = new AbortController();
  for await (const _ of open(provider.client, controller.signal)) {
    controller.abort();
    return true;
  }
  return false;
}

/**
 * One dev agent per test file and an in-process provider with a running one-service instance `id` (it prints a line,
 * then sleeps): what every leak test streams from.
 */
export function useRunningInstance(id: string): { agent: () => DevAgent; provider: () => InProcessProvider } {
  const agent = useDevAgent();
  let provider: InProcessProvider | undefined;
  beforeAll(async () => {
    provider = await startInProcessProvider({ nomadAddress: agent().address, families });
    const res = await provider.client.provision(
      { instanceId: id, services: [{ name: "main", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "echo hello; exec sleep 3600"] }] },
      { deadlineMs: 20_000 },
    );
    expect(res.state).toBe(InstanceState.RUNNING);
  });
  afterAll(async () => {
    await provider?.close();
  });
  return { agent, provider: () => provider! };
}
