// The group's and tasks' service checks (http, tcp), run from the agent against the allocated host ports the way
// Consul or Nomad's native service discovery would. Other check types (script, grpc) are not run and count as
// passing, so they never block a deployment.

import { request } from "node:http";
import { connect } from "node:net";
import type { AllocatedPort, AllocRunSpec } from "../alloc-runtime.js";

export interface ServiceCheck {
  name: string;
  /** Task whose process the check belongs to (the service's task, or check.TaskName for group services). */
  task: string | undefined;
  type: string;
  host: string;
  port: number;
  path: string;
  method: string;
  intervalMs: number;
  timeoutMs: number;
  restart?: { limit: number; graceMs: number };
}

const nsToMs = (ns: unknown, fallbackMs: number) => (typeof ns === "number" && ns > 0 ? ns / 1e6 : fallbackMs);

function resolvePort(label: unknown, ports: AllocatedPort[]): AllocatedPort | undefined {
  if (label === undefined || label === null || label === "") return undefined;
  const byLabel = ports.find((p) => p.Label === String(label));
  if (byLabel) return byLabel;
  const n = Number(label);
  return Number.isInteger(n) && n > 0 ? { Label: String(label), Value: n, To: 0, HostIP: "127.0.0.1" } : undefined;
}

function toCheck(check: Record<string, any>, service: Record<string, any>, task: string | undefined, ports: AllocatedPort[]): ServiceCheck {
  const port = resolvePort(check.PortLabel || service.PortLabel, ports);
  const restart = check.CheckRestart && Number(check.CheckRestart.Limit) > 0
    ? { limit: Number(check.CheckRestart.Limit), graceMs: typeof check.CheckRestart.Grace === "number" ? Math.max(0, check.CheckRestart.Grace / 1e6) : 1000 }
    : undefined;
  return {
    name: String(check.Name || `service: ${JSON.stringify(service.Name)} check`),
    task: check.TaskName || task,
    type: String(check.Type ?? "").toLowerCase(),
    host: port?.HostIP && port.HostIP !== "0.0.0.0" ? port.HostIP : "127.0.0.1",
    port: port?.Value ?? 0,
    path: String(check.Path || "/"),
    method: String(check.Method || "GET"),
    intervalMs: nsToMs(check.Interval, 10_000),
    timeoutMs: nsToMs(check.Timeout, 2_000),
    restart,
  };
}

export function serviceChecks(spec: AllocRunSpec): ServiceCheck[] {
  const out: ServiceCheck[] = [];
  const add = (services: unknown, task: string | undefined) => {
    for (const service of (Array.isArray(services) ? services : []) as Record<string, any>[]) {
      for (const check of (service.Checks ?? []) as Record<string, any>[]) out.push(toCheck(check, service, task, spec.ports));
    }
  };
  add(spec.group.Services, undefined);
  for (const task of (spec.group.Tasks ?? []) as Record<string, any>[]) add(task.Services, String(task.Name));
  return out;
}

function httpProbe(check: ServiceCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: check.host, port: check.port, path: check.path, method: check.method, timeout: check.timeoutMs }, (res) => {
      res.resume();
      const status = res.statusCode ?? 0;
      resolve(status >= 200 && status < 400);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
    req.end();
  });
}

function tcpProbe(check: ServiceCheck): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: check.host, port: check.port, timeout: check.timeoutMs });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
    socket.once("error", () => resolve(false));
  });
}

/** Runs one probe; true = passing. */
export async function probe(check: ServiceCheck): Promise<boolean> {
  if (check.type === "http") return check.port > 0 && httpProbe(check);
  if (check.type === "tcp") return check.port > 0 && tcpProbe(check);
  return true;
}
