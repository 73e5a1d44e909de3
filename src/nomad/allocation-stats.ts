// GET /v1/client/allocation/:id/stats — the allocation's resource usage as the client measured it, overall and per
// task. Nomad's CpuStats.Percent is a percentage of ONE core (it can exceed 100 for multi-threaded tasks);
// TotalTicks is CPU used in MHz. MemoryStats.RSS is 0 under cgroup v2, where Usage carries the total instead.

import type { NomadHttp } from "./nomad-http.js";

export interface CpuStats {
  Percent: number;
  TotalTicks: number;
  SystemMode: number;
  UserMode: number;
  ThrottledPeriods: number;
  ThrottledTime: number;
  Measured?: string[] | null;
}

export interface MemoryStats {
  RSS: number;
  Cache: number;
  Swap: number;
  Usage?: number;
  MaxUsage: number;
  KernelUsage: number;
  KernelMaxUsage: number;
  Measured?: string[] | null;
}

export interface ResourceUsage {
  CpuStats?: CpuStats | null;
  MemoryStats?: MemoryStats | null;
}

export interface TaskResourceUsage {
  ResourceUsage?: ResourceUsage | null;
  /** unix ns (rounded by JSON.parse: sampling time only). */
  Timestamp: number;
  Pids?: Record<string, ResourceUsage> | null;
}

export interface AllocResourceUsage {
  ResourceUsage?: ResourceUsage | null;
  Tasks?: Record<string, TaskResourceUsage> | null;
  Timestamp: number;
}

export async function readAllocationStats(nomad: NomadHttp, allocId: string, signal?: AbortSignal): Promise<AllocResourceUsage> {
  const res = await nomad.request<AllocResourceUsage>("GET", `/v1/client/allocation/${encodeURIComponent(allocId)}/stats`, {
    signal,
    what: `read resource usage of allocation ${allocId}`,
  });
  return res.body;
}

/** Bytes of memory in use: RSS, or the cgroup's total usage when RSS is not reported (cgroup v2). */
export function memoryUsedBytes(m: MemoryStats | null | undefined): number {
  if (!m) return 0;
  return m.RSS > 0 ? m.RSS : (m.Usage ?? 0);
}
