// Requests and small helpers shared by the lifecycle end-to-end tests: a three-service instance whose tasks are real
// local processes on the dev agent (busybox image with a /bin/sh command), and a gRPC error probe.

import { InstanceState, ServiceRole, type InstanceStatus, type ProvisionRequest } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { ProviderClient } from "./provider-client.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { ProvisionRequestSchema } from "../../gen/ctrlplane/provider/v1/provider_pb.js";

/**
 * init appends "init" to $NOMAD_ALLOC_DIR/order after a pause; main appends "main" and serves the allocation
 * directory over HTTP on its port, so GET /order shows which ran first; the sidecar just stays up.
 */
export function threeServiceRequest(instanceId: string, initSeconds = 0.3): MessageInitShape<typeof ProvisionRequestSchema> {
  return {
    instanceId,
    tenantId: "ten_test",
    name: "three services",
    labels: { suite: "lifecycle" },
    services: [
      {
        name: "init",
        image: "busybox",
        role: ServiceRole.INIT,
        command: ["/bin/sh", "-c", `sleep ${initSeconds}; echo init >> "$NOMAD_ALLOC_DIR/order"`],
      },
      {
        name: "web",
        image: "busybox",
        role: ServiceRole.MAIN,
        resources: { cpuMillis: 100, memoryMb: 128 },
        ports: [{ container: 8080, protocol: "http" }],
        env: { GREETING: "hello" },
        command: [
          "/bin/sh",
          "-c",
          'echo main >> "$NOMAD_ALLOC_DIR/order"; cd "$NOMAD_ALLOC_DIR" && exec python3 -m http.server "$NOMAD_PORT_p8080" --bind 127.0.0.1',
        ],
      },
      { name: "side", image: "busybox", role: ServiceRole.SIDECAR, command: ["/bin/sh", "-c", "exec sleep 600"] },
    ],
  };
}

/** The gRPC status code a call failed with (throws if it succeeded). */
export async function grpcCode(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; details?: string };
    return { code: e.code ?? -1, details: e.details ?? String(err) };
  }
  throw new Error("call succeeded");
}

/** GETs a URL until it answers 200 (the process may still be binding its port), or the deadline passes. */
export async function fetchWhenUp(url: string, timeoutMs = 15_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const res = await fetch(url);
      if (res.ok) return await res.text();
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${url} never answered`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Collects a WatchStatus stream's statuses in the background until `signal` aborts it. */
export function collectWatch(client: ProviderClient, instanceId: string, signal: AbortSignal): { seen: InstanceStatus[]; done: Promise<void> } {
  const seen: InstanceStatus[] = [];
  const done = (async () => {
    try {
      for await (const msg of client.watchStatus({ instanceId }, { signal })) seen.push(msg.status!);
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  })();
  return { seen, done };
}

/** The state names of collected statuses, e.g. ["PROVISIONING", "RUNNING"]. */
export const watchedStates = (seen: InstanceStatus[]) => seen.map((s) => InstanceState[s.state]);

export type { ProvisionRequest };
