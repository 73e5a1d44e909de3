// Maps a task's driver and Config to the local command line that runs it.
//  raw_exec, exec: Config.command + Config.args, run directly (exec's chroot/cgroup isolation is not reproduced).
//  docker, podman: Config.entrypoint / Config.command / Config.args when given, run as a local process (the image
//                  filesystem is not available); otherwise the image's stand-in workload (stand-ins.ts).
// Memory limit: enforced as RLIMIT_AS for exec and docker/podman commands (those drivers isolate memory in
// Nomad); raw_exec has no isolation in Nomad either, and node stand-ins need far more address space than RSS.

import type { AllocatedPort } from "../alloc-runtime.js";
import { standInArgv } from "./stand-ins.js";

export interface TaskCommand {
  argv: string[];
  memoryLimitKb?: number;
  /** Set when the task runs a stand-in instead of the image's own program. */
  standIn?: string;
}

export class DriverError extends Error {
  constructor(message: string, readonly recoverable = false) {
    super(message);
  }
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.map((v) => String(v)) : []);

function memoryLimitKb(task: Record<string, any>): number | undefined {
  const r = task.Resources ?? {};
  const mb = Number(r.MemoryMaxMB) > 0 ? Number(r.MemoryMaxMB) : Number(r.MemoryMB ?? 300);
  return mb > 0 ? mb * 1024 : undefined;
}

function standInPort(config: Record<string, any>, ports: AllocatedPort[]): AllocatedPort | undefined {
  const labels = strings(config.ports);
  return ports.find((p) => labels.includes(p.Label)) ?? (labels.length === 0 ? ports[0] : undefined);
}

function containerCommand(task: Record<string, any>, ports: AllocatedPort[], interp: (s: string) => string): TaskCommand {
  const config = task.Config ?? {};
  const entrypoint = strings(config.entrypoint).map(interp);
  const command = typeof config.command === "string" && config.command ? [interp(config.command)] : [];
  const args = strings(config.args).map(interp);
  if (entrypoint.length > 0 || command.length > 0) {
    return { argv: [...entrypoint, ...command, ...args], memoryLimitKb: memoryLimitKb(task) };
  }
  const image = String(config.image ?? "");
  if (!image) throw new DriverError("image is required for the docker driver");
  const port = standInPort(config, ports);
  return { argv: standInArgv(image, port?.Value ?? 0, port?.HostIP || "127.0.0.1"), standIn: image };
}

export function taskCommand(task: Record<string, any>, ports: AllocatedPort[], interp: (s: string) => string): TaskCommand {
  const driver = String(task.Driver ?? "");
  const config = task.Config ?? {};
  switch (driver) {
    case "raw_exec":
    case "exec": {
      if (typeof config.command !== "string" || !config.command) {
        throw new DriverError(`failed to create executor: missing command for the ${driver} driver`);
      }
      const argv = [interp(config.command), ...strings(config.args).map(interp)];
      return driver === "exec" ? { argv, memoryLimitKb: memoryLimitKb(task) } : { argv };
    }
    case "docker":
    case "podman":
      return containerCommand(task, ports, interp);
    default:
      throw new DriverError(`driver ${JSON.stringify(driver)} is not available on this dev agent`);
  }
}
