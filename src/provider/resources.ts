// Resources: samples GET /v1/client/allocation/:id/stats of every running allocation of the instance each interval
// (no interval: one sample, then the stream ends) and aggregates to the instance and per service.
//
// CPU formula. Nomad reports CpuStats.Percent as a percentage of ONE core; the plugin reserves CPU in MHz with
// cpuMhzPerCore MHz per core (CP_NOMAD_CPU_MHZ_PER_CORE, the same factor Provision uses for millicores). So
//   used_mhz(task)   = Percent / 100 * cpuMhzPerCore
//   cpu_percent      = sum(used_mhz) / sum(allocated_mhz) * 100        (allocated_mhz = the task's CPU reservation)
// over the tasks that reported a sample. A task using one full core with 500 millicores reserved shows 200 %.
// Memory is RSS, or the cgroup's Usage when RSS is 0 (cgroup v2); limits are the tasks' MemoryMB reservations.
//
// The allocation list of each sample comes from the plugin's instance cache when it can answer (read-your-writes as
// for Status), else from Nomad; only the per-allocation reads (stats each sample, reservations once) reach Nomad.

import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Duration } from "@bufbuild/protobuf/wkt";
import { setTimeout as sleep } from "node:timers/promises";
import { ResourcesResponseSchema, type ResourcesRequest, type ResourcesResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { invalidArgument, ProviderError } from "../errors.js";
import { readAllocation } from "../nomad/allocations.js";
import { memoryUsedBytes, readAllocationStats, type AllocResourceUsage } from "../nomad/allocation-stats.js";
import { listJobAllocations, readJob } from "../nomad/jobs.js";
import type { Allocation } from "../nomad/types.js";
import type { CallContext } from "../grpc/service-impl.js";
import { jobIdFor } from "./instance-id.js";
import type { ProviderDeps } from "./provider-deps.js";
import type { InstanceCache } from "./instance-cache.js";

const MiB = 1024 * 1024;
const minIntervalMs = 100;
/** Longer than a day is certainly a mistake, and beyond setTimeout's 2^31 ms range. */
const maxIntervalMs = 86_400_000;

/** The sampling interval in ms (0 = one sample), judged in nanoseconds so no rounding lets a bad value through. */
function sampleInterval(interval: Duration | undefined): number {
  if (!interval) return 0;
  const nanos = interval.seconds * 1_000_000_000n + BigInt(interval.nanos);
  if (nanos === 0n) return 0;
  if (nanos < BigInt(minIntervalMs) * 1_000_000n || nanos > BigInt(maxIntervalMs) * 1_000_000n) {
    throw invalidArgument("interval", `must be between ${minIntervalMs}ms and 24h (or unset for one sample)`);
  }
  return Number(nanos / 1_000_000n);
}

/** What one allocation's tasks reserved (MHz, MiB), read once per allocation: reservations never change in place. */
export type TaskLimits = Record<string, { cpuMhz: number; memoryMb: number }>;

export interface AllocSample {
  allocId: string;
  limits: TaskLimits;
  usage: AllocResourceUsage;
}

export async function* streamResources(
  deps: ProviderDeps,
  cache: InstanceCache,
  req: ResourcesRequest,
  ctx: CallContext,
): AsyncGenerator<ResourcesResponse> {
  const jobId = jobIdFor(req.instanceId);
  const intervalMs = sampleInterval(req.interval);
  // A missing job is NOT_FOUND (Nomad lists an unknown job's allocations as an empty list). A job the cache holds
  // exists; of any other, Nomad decides.
  if (!(await cache.jobWithAllocations(jobId, ctx.signal))) await readJob(deps.nomad, jobId, { signal: ctx.signal });
  const reservations = new Map<string, TaskLimits>();
  for (;;) {
    yield await sampleOnce(deps, cache, jobId, reservations, ctx.signal);
    if (intervalMs === 0) return;
    await sleep(intervalMs, undefined, { signal: ctx.signal }).catch((err) => {
      throw ProviderError.from(err);
    });
  }
}

async function sampleOnce(
  deps: ProviderDeps,
  instances: InstanceCache,
  jobId: string,
  reservations: Map<string, TaskLimits>,
  signal: AbortSignal,
): Promise<ResourcesResponse> {
  // A job gone since the call began is not in the cache: Nomad's list (empty, or what it still holds) answers.
  const listed =
    (await instances.jobWithAllocations(jobId, signal))?.allocations ?? (await listJobAllocations(deps.nomad, jobId, { signal })).value;
  const allocs = listed.filter((a) => a.ClientStatus === "running" && a.DesiredStatus === "run");
  const results = await Promise.allSettled(
    allocs.map(async (a): Promise<AllocSample> => {
      let limits = reservations.get(a.ID);
      if (!limits) {
        limits = taskLimits(await readAllocation(deps.nomad, a.ID, { signal }));
        reservations.set(a.ID, limits);
      }
      return { allocId: a.ID, limits, usage: await readAllocationStats(deps.nomad, a.ID, signal) };
    }),
  );
  for (const id of reservations.keys()) if (!allocs.some((a) => a.ID === id)) reservations.delete(id);
  if (signal.aborted) throw ProviderError.from(signal.reason);
  const samples: AllocSample[] = [];
  const errors: string[] = [];
  results.forEach((r, i) => {
    if (r.status === "fulfilled") samples.push(r.value);
    else errors.push(`allocation ${allocs[i]!.ID}: ${ProviderError.from(r.reason).message}`);
  });
  return create(ResourcesResponseSchema, {
    ...aggregateUsage(samples, deps.settings.cpuMhzPerCore),
    sampledAt: timestampFromDate(new Date()),
    message: errors.join("; "),
  });
}

/** Task reservations from the allocation (AllocatedResources, else the job's task Resources). */
export function taskLimits(alloc: Allocation): TaskLimits {
  const out: TaskLimits = {};
  const allocated = (alloc.AllocatedResources?.Tasks ?? {}) as Record<
    string,
    { Cpu?: { CpuShares?: number }; Memory?: { MemoryMB?: number } } | undefined
  >;
  const group = alloc.Job?.TaskGroups.find((g) => g.Name === alloc.TaskGroup);
  for (const task of group?.Tasks ?? []) {
    out[task.Name] = { cpuMhz: task.Resources?.CPU ?? 0, memoryMb: task.Resources?.MemoryMB ?? 0 };
  }
  for (const [name, r] of Object.entries(allocated)) {
    out[name] = { cpuMhz: r?.Cpu?.CpuShares ?? out[name]?.cpuMhz ?? 0, memoryMb: r?.Memory?.MemoryMB ?? out[name]?.memoryMb ?? 0 };
  }
  return out;
}

interface Totals {
  usedMhz: number;
  allocatedMhz: number;
  memoryBytes: number;
  memoryLimitMb: number;
}

/** Sums the samples to the instance and per service (task); see the CPU formula at the top of this file. */
export function aggregateUsage(samples: AllocSample[], cpuMhzPerCore: number) {
  const total: Totals = { usedMhz: 0, allocatedMhz: 0, memoryBytes: 0, memoryLimitMb: 0 };
  const perService = new Map<string, Totals>();
  for (const s of samples) {
    for (const [task, usage] of Object.entries(s.usage.Tasks ?? {})) {
      const limits = s.limits[task] ?? { cpuMhz: 0, memoryMb: 0 };
      const t = perService.get(task) ?? { usedMhz: 0, allocatedMhz: 0, memoryBytes: 0, memoryLimitMb: 0 };
      const add = (x: Totals) => {
        x.usedMhz += ((usage.ResourceUsage?.CpuStats?.Percent ?? 0) / 100) * cpuMhzPerCore;
        x.allocatedMhz += limits.cpuMhz;
        x.memoryBytes += memoryUsedBytes(usage.ResourceUsage?.MemoryStats);
        x.memoryLimitMb += limits.memoryMb;
      };
      add(t);
      add(total);
      perService.set(task, t);
    }
  }
  const percent = (x: Totals) => (x.allocatedMhz > 0 ? (x.usedMhz / x.allocatedMhz) * 100 : 0);
  const mb = (bytes: number) => BigInt(Math.round(bytes / MiB));
  return {
    cpuPercent: percent(total),
    memoryUsedMb: mb(total.memoryBytes),
    memoryLimitMb: BigInt(total.memoryLimitMb),
    allocations: samples.length,
    services: [...perService.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, x]) => ({
        serviceName: name,
        cpuPercent: percent(x),
        memoryUsedMb: mb(x.memoryBytes),
        memoryLimitMb: BigInt(x.memoryLimitMb),
      })),
  };
}
