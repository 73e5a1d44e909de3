// Real CPU and memory usage of a task's whole process tree, read from /proc, in Nomad's ResourceUsage shape.
// CPU percent needs two readings; the sampler keeps the last reading per process and, when it has none recent
// enough, takes a second one after a short window.

import { readFileSync } from "node:fs";
import { allProcStats, type ProcStat } from "./process-group.js";

/** Kernel clock ticks per second (USER_HZ): 100 on every Linux this runs on. */
const clockTicks = 100;
const sampleWindowMs = 100;

export const measuredCpu = ["System Mode", "User Mode", "Percent"];
export const measuredMemory = ["RSS", "Swap"];

export interface MemoryStats {
  RSS: number;
  Cache: number;
  Swap: number;
  MappedFile: number;
  Usage: number;
  MaxUsage: number;
  KernelUsage: number;
  KernelMaxUsage: number;
  Measured: string[];
}

export interface CpuStats {
  SystemMode: number;
  UserMode: number;
  TotalTicks: number;
  ThrottledPeriods: number;
  ThrottledTime: number;
  Percent: number;
  Measured: string[];
}

export interface ResourceUsage {
  MemoryStats: MemoryStats;
  CpuStats: CpuStats;
  DeviceStats: null;
}

let mhzPerCore: number | undefined;

/** Nomad expresses TotalTicks in MHz: the share of one core's clock the process used. */
function cpuMhz(): number {
  if (mhzPerCore === undefined) {
    const match = /cpu MHz\s*:\s*([\d.]+)/.exec(safeRead("/proc/cpuinfo"));
    mhzPerCore = match ? Number(match[1]) : 1000;
  }
  return mhzPerCore;
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function statusKb(status: string, field: string): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

export function emptyUsage(): ResourceUsage {
  return {
    MemoryStats: { RSS: 0, Cache: 0, Swap: 0, MappedFile: 0, Usage: 0, MaxUsage: 0, KernelUsage: 0, KernelMaxUsage: 0, Measured: measuredMemory },
    CpuStats: { SystemMode: 0, UserMode: 0, TotalTicks: 0, ThrottledPeriods: 0, ThrottledTime: 0, Percent: 0, Measured: measuredCpu },
    DeviceStats: null,
  };
}

export function addUsage(into: ResourceUsage, other: ResourceUsage): void {
  for (const key of ["RSS", "Swap"] as const) into.MemoryStats[key] += other.MemoryStats[key];
  for (const key of ["SystemMode", "UserMode", "TotalTicks", "Percent"] as const) into.CpuStats[key] += other.CpuStats[key];
}

/** Every live process of the trees rooted at `roots`: their process groups plus descendants that left them. */
export function processTree(roots: number[], all: ProcStat[] = allProcStats()): ProcStat[] {
  const live = all.filter((s) => s.state !== "Z" && s.state !== "X");
  const members = new Map<number, ProcStat>();
  for (const s of live) if (roots.includes(s.pgrp) || roots.includes(s.pid)) members.set(s.pid, s);
  for (let grew = true; grew; ) {
    grew = false;
    for (const s of live) {
      if (!members.has(s.pid) && members.has(s.ppid)) {
        members.set(s.pid, s);
        grew = true;
      }
    }
  }
  return [...members.values()];
}

interface Reading {
  user: number;
  system: number;
  at: number;
}

export class CpuSampler {
  private readonly last = new Map<number, Reading>();

  /** Per-process usage of the trees rooted at `roots`. */
  async usage(roots: number[]): Promise<Map<number, ResourceUsage>> {
    let procs = processTree(roots);
    if (procs.some((p) => !this.fresh(p.pid))) {
      this.record(procs);
      await new Promise((r) => setTimeout(r, sampleWindowMs));
      procs = processTree(roots);
    }
    const out = new Map<number, ResourceUsage>();
    for (const p of procs) out.set(p.pid, this.usageOf(p));
    this.record(procs);
    return out;
  }

  private fresh(pid: number): boolean {
    const r = this.last.get(pid);
    return r !== undefined && Date.now() - r.at >= sampleWindowMs / 2 && Date.now() - r.at < 10_000;
  }

  private record(procs: ProcStat[]): void {
    const now = Date.now();
    const keep = new Set(procs.map((p) => p.pid));
    for (const pid of this.last.keys()) if (!keep.has(pid)) this.last.delete(pid);
    for (const p of procs) this.last.set(p.pid, { user: p.utimeTicks, system: p.stimeTicks, at: now });
  }

  private usageOf(p: ProcStat): ResourceUsage {
    const usage = emptyUsage();
    const status = safeRead(`/proc/${p.pid}/status`);
    usage.MemoryStats.RSS = statusKb(status, "VmRSS");
    usage.MemoryStats.Swap = statusKb(status, "VmSwap");
    const prev = this.last.get(p.pid);
    if (prev) {
      const seconds = Math.max((Date.now() - prev.at) / 1000, 1e-3);
      const pct = (ticks: number) => (Math.max(0, ticks) / clockTicks / seconds) * 100;
      usage.CpuStats.UserMode = pct(p.utimeTicks - prev.user);
      usage.CpuStats.SystemMode = pct(p.stimeTicks - prev.system);
      usage.CpuStats.Percent = usage.CpuStats.UserMode + usage.CpuStats.SystemMode;
      usage.CpuStats.TotalTicks = (usage.CpuStats.Percent / 100) * cpuMhz();
    }
    return usage;
  }
}
