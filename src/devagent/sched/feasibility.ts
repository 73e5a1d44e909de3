// Whether the one node can take an allocation of a task group, decided in Nomad's order: datacenter, then
// feasibility filters (devices, host and CSI volumes), then resources (cpu MHz, memory MB, reserved ports).
// A refusal is Nomad's AllocationMetric, with the same filter and dimension texts (scheduler/feasible.go,
// structs/funcs.go), so clients read FailedTGAllocs exactly as they would from Nomad.

import { readFileSync } from "node:fs";
import os from "node:os";
import type { Json } from "../state/state-store.js";

export interface NodeResources {
  /** Total CPU in MHz (Nomad: cpu.totalcompute). */
  cpuMhz: number;
  memoryMb: number;
}

export interface NodeCapacity {
  datacenter: string;
  resources: NodeResources;
  /** Host volume name -> host path (the client's host_volume blocks). */
  hostVolumes: Record<string, string>;
}

/** Cores x MHz from /proc/cpuinfo (as Nomad fingerprints it), memory from the OS. */
export function machineResources(): NodeResources {
  let mhz = 0;
  try {
    const m = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    mhz = m ? Math.floor(Number(m[1])) : 0;
  } catch {
    // not Linux: fall back to what Node reports
  }
  mhz ||= os.cpus()[0]?.speed || 2000;
  return { cpuMhz: mhz * Math.max(1, os.cpus().length), memoryMb: Math.floor(os.totalmem() / 2 ** 20) };
}

/** CPU and memory an allocation of `group` asks for (Nomad's defaults: 100 MHz, 300 MB per task). */
export function groupAsk(group: Json): { cpu: number; memoryMb: number } {
  let cpu = 0;
  let memoryMb = 0;
  for (const t of group.Tasks ?? []) {
    cpu += t.Resources?.CPU ?? 100;
    memoryMb += t.Resources?.MemoryMB ?? 300;
  }
  return { cpu, memoryMb };
}

function glob(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map((p) => p.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
}

/** Nomad's AllocMetric for the single node (evaluations' FailedTGAllocs and placed allocations' Metrics). */
export function metric(node: Pick<NodeCapacity, "datacenter">, extra: Json): Json {
  return {
    NodesEvaluated: 1,
    NodesFiltered: 0,
    NodesInPool: 1,
    NodesAvailable: { [node.datacenter]: 1 },
    ClassFiltered: null,
    ConstraintFiltered: null,
    NodesExhausted: 0,
    ClassExhausted: null,
    DimensionExhausted: null,
    QuotaExhausted: null,
    ResourcesExhausted: null,
    Scores: null,
    ScoreMetaData: null,
    AllocationTime: 0,
    CoalescedFailures: 0,
    ...extra,
  };
}

/** The filter reason when the node cannot run the group at all, whatever else runs there. */
function filterReason(group: Json, node: NodeCapacity): string | undefined {
  if (group.Tasks?.some((t: Json) => (t.Resources?.Devices ?? []).length > 0)) return "missing devices";
  for (const v of Object.values((group.Volumes ?? {}) as Record<string, Json>)) {
    if (v.Type === "host" && !(v.Source in node.hostVolumes)) return "missing compatible host volumes";
    if (v.Type === "csi") return `missing CSI Volume ${v.Source}`;
  }
  return undefined;
}

/** undefined when the allocation fits; otherwise the AllocationMetric of the failed placement. */
export function placementFailure(job: Json, group: Json, node: NodeCapacity, used: { cpu: number; memoryMb: number }): Json | undefined {
  const dcs: string[] = job.Datacenters?.length ? job.Datacenters : ["*"];
  if (!dcs.some((dc) => glob(dc).test(node.datacenter))) {
    return metric(node, { NodesEvaluated: 0, NodesAvailable: {} });
  }
  const filtered = filterReason(group, node);
  if (filtered) return metric(node, { NodesFiltered: 1, ConstraintFiltered: { [filtered]: 1 } });
  const ask = groupAsk(group);
  const dimension =
    used.cpu + ask.cpu > node.resources.cpuMhz ? "cpu" : used.memoryMb + ask.memoryMb > node.resources.memoryMb ? "memory" : undefined;
  if (dimension) return exhausted(node, dimension);
  return undefined;
}

export function exhausted(node: NodeCapacity, dimension: string): Json {
  return metric(node, { NodesExhausted: 1, ClassExhausted: { "": 1 }, DimensionExhausted: { [dimension]: 1 } });
}
