// Real CPU and memory usage of a task's whole process tree, read from /proc, in Nomad's ResourceUsage shape, sampled
// like Nomad's executor: CPU percent is the CPU time used between two consecutive samples (one per second).

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

/** One sample of a task's process tree: usage per pid, taken at `at` (ms since the epoch). */
export interface TaskSample {
  usage: Map<number, ResourceUsage>;
  at: number;
}

interface Tracked {
  roots: () => number[];
  /** Each pid's cumulative CPU ticks at the previous sample. */
  readings: Map<number, Reading>;
  latest: TaskSample | undefined;
  ready: Promise<void>;
  askedAt: number;
}

export interface TaskStatsOptions {
  /** Time between two samples of a task (Nomad's client stats collection_interval, default 1 s). */
  intervalMs?: number;
  /** The first sample of a task is compared with a baseline read this long before it. */
  firstWindowMs?: number;
  /** A task nobody asked about for this long is no longer sampled. */
  idleMs?: number;
}

/**
 * Samples tasks' process trees the way Nomad's executor does (procstats with one cpustats.Tracker per pid): every
 * interval, each process's CPU percent is the CPU time it used since the previous sample over the time between the two
 * samples (0 for a process first seen in this sample), and the stats endpoint serves the latest sample. A task is
 * sampled from the first time its stats are asked for until its processes are gone or nobody asked for idleMs.
 */
export class TaskStatsCollector {
  readonly #tracked = new Map<string, Tracked>();
  readonly #intervalMs: number;
  readonly #firstWindowMs: number;
  readonly #idleMs: number;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: TaskStatsOptions = {}) {
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#firstWindowMs = options.firstWindowMs ?? sampleWindowMs;
    this.#idleMs = options.idleMs ?? 60_000;
  }

  /** The latest sample of the task `key` whose process trees are rooted at `roots()`. */
  async latest(key: string, roots: () => number[]): Promise<TaskSample> {
    let t = this.#tracked.get(key);
    if (!t) {
      const tracked: Tracked = { roots, readings: new Map(), latest: undefined, ready: Promise.resolve(), askedAt: Date.now() };
      t = tracked;
      this.#tracked.set(key, tracked);
      this.#sample(tracked, allProcStats());
      tracked.ready = new Promise<void>((resolve) => setTimeout(resolve, this.#firstWindowMs)).then(() => {
        this.#sample(tracked, allProcStats());
        this.#ensureTimer();
      });
    }
    t.roots = roots;
    t.askedAt = Date.now();
    await t.ready;
    return t.latest!;
  }

  #ensureTimer(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #tick(): void {
    const now = Date.now();
    const all = allProcStats();
    for (const [key, t] of this.#tracked) {
      if (t.latest === undefined) continue; // its first sample is still under way
      if (now - t.askedAt > this.#idleMs || processTree(t.roots(), all).length === 0) {
        this.#tracked.delete(key);
        continue;
      }
      this.#sample(t, all);
    }
    if (this.#tracked.size === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #sample(t: Tracked, all: ProcStat[]): void {
    const now = Date.now();
    const procs = processTree(t.roots(), all);
    const usage = new Map<number, ResourceUsage>();
    const readings = new Map<number, Reading>();
    for (const p of procs) {
      usage.set(p.pid, usageOf(p, t.readings.get(p.pid), now));
      readings.set(p.pid, { user: p.utimeTicks, system: p.stimeTicks, at: now });
    }
    t.readings = readings;
    t.latest = { usage, at: now };
  }
}

/** A process's usage now; CPU as cpustats.Tracker.Percent: the share of CPU time used since `prev`, 0 without one. */
function usageOf(p: ProcStat, prev: Reading | undefined, now: number): ResourceUsage {
  const usage = emptyUsage();
  const status = safeRead(`/proc/${p.pid}/status`);
  usage.MemoryStats.RSS = statusKb(status, "VmRSS");
  usage.MemoryStats.Swap = statusKb(status, "VmSwap");
  if (prev && now > prev.at) {
    const seconds = (now - prev.at) / 1000;
    const pct = (ticks: number) => (Math.max(0, ticks) / clockTicks / seconds) * 100;
    usage.CpuStats.UserMode = pct(p.utimeTicks - prev.user);
    usage.CpuStats.SystemMode = pct(p.stimeTicks - prev.system);
    usage.CpuStats.Percent = pct(p.utimeTicks + p.stimeTicks - prev.user - prev.system);
    usage.CpuStats.TotalTicks = (usage.CpuStats.Percent / 100) * cpuMhz();
  }
  return usage;
}
