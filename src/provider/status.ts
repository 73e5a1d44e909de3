// Nomad -> InstanceStatus. Only allocations of the current job version that Nomad wants running count: old
// versions still draining during a rollout, stopped and replaced allocations must not colour the instance's state.
// instanceStatusFrom is a pure function over Nomad JSON; readInstanceStatus fetches what it needs.

import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  InstanceState,
  InstanceStatusSchema,
  type Endpoint,
  type InstanceStatus,
  type ServiceStatus,
} from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { AllocatedPort, AllocListStub, Allocation, Deployment, Evaluation, Job, Task, TaskGroup, TaskState } from "../nomad/types.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import { listJobAllocations, readJob, readLatestDeployment } from "../nomad/jobs.js";
import { readAllocation } from "../nomad/allocations.js";
import { listJobEvaluations, placementFailure } from "../nomad/evaluations.js";
import { metaKeys } from "./job-builder.js";
import { taskGroupName } from "./instance-id.js";
import { readAutoRevertNotice } from "./auto-revert-notice.js";

/** Higher = worse; the instance (and a service across allocations) takes the worst. */
const severity: Record<InstanceState, number> = {
  [InstanceState.UNSPECIFIED]: 0,
  [InstanceState.RUNNING]: 1,
  [InstanceState.STARTING]: 2,
  [InstanceState.PROVISIONING]: 3,
  [InstanceState.STOPPING]: 4,
  [InstanceState.STOPPED]: 5,
  [InstanceState.DESTROYING]: 6,
  [InstanceState.DESTROYED]: 7,
  [InstanceState.FAILED]: 8,
};

const worst = (a: InstanceState, b: InstanceState) => (severity[b] > severity[a] ? b : a);

export type TaskRole = "main" | "sidecar" | "init";

export function taskRole(task: Task): TaskRole {
  if (task.Lifecycle?.Hook === "prestart" && !task.Lifecycle.Sidecar) return "init";
  if (task.Lifecycle?.Sidecar) return "sidecar";
  return "main";
}

export function instanceGroup(job: Job): TaskGroup | undefined {
  return job.TaskGroups.find((g) => g.Name === taskGroupName) ?? job.TaskGroups[0];
}

/** Allocations that make up the instance now: current job version, desired to run. */
export function currentAllocations<A extends AllocListStub | Allocation>(
  job: Job,
  allocations: A[],
): A[] {
  return allocations.filter((a) => a.DesiredStatus === "run" && (a.JobVersion ?? (a as Allocation).Job?.Version) === job.Version);
}

/** The host ports of an allocation, from AllocatedResources (modern shape) or its shared networks (older agents). */
export function allocatedPorts(alloc: Pick<Allocation, "AllocatedResources">): AllocatedPort[] {
  const shared = alloc.AllocatedResources?.Shared;
  if (shared?.Ports && shared.Ports.length > 0) return shared.Ports;
  const out: AllocatedPort[] = [];
  for (const n of shared?.Networks ?? []) {
    for (const p of [...(n.ReservedPorts ?? []), ...(n.DynamicPorts ?? [])]) {
      out.push({ Label: p.Label, Value: p.Value ?? 0, To: p.To ?? 0, HostIP: n.IP ?? "" });
    }
  }
  return out;
}

export interface StatusInput {
  job: Job;
  allocations: (AllocListStub | Allocation)[];
  deployment?: Deployment | undefined;
  /** Allocated ports by allocation ID for allocations whose list entry lacks AllocatedResources. */
  ports?: ReadonlyMap<string, AllocatedPort[]>;
}

function taskStateOf(ts: TaskState | undefined, role: TaskRole): { state: InstanceState; ready: boolean } {
  if (!ts || ts.State === "pending") return { state: InstanceState.STARTING, ready: false };
  if (ts.State === "running") return { state: InstanceState.RUNNING, ready: true };
  if (ts.Failed) return { state: InstanceState.FAILED, ready: false };
  // A finished init task did its job; a finished long-lived task is down.
  return { state: InstanceState.STOPPED, ready: role === "init" };
}

function lastEventMessage(ts: TaskState | undefined): string {
  const events = ts?.Events ?? [];
  const last = events[events.length - 1];
  return last ? last.DisplayMessage || last.Message || last.Type : "";
}

function allocState(alloc: AllocListStub | Allocation, tasks: Task[]): InstanceState {
  // Until a long-lived task has started, the allocation is still being set up (placement, init tasks running).
  const started = tasks.some((t) => taskRole(t) !== "init" && alloc.TaskStates?.[t.Name]?.StartedAt);
  switch (alloc.ClientStatus) {
    case "failed":
      return InstanceState.FAILED;
    case "complete":
      return InstanceState.STOPPED;
    case "pending":
      return started ? InstanceState.STARTING : InstanceState.PROVISIONING;
    case "running": {
      if (!started) return InstanceState.PROVISIONING;
      let state: InstanceState = InstanceState.RUNNING;
      for (const task of tasks) {
        const role = taskRole(task);
        const s = taskStateOf(alloc.TaskStates?.[task.Name], role).state;
        // Init tasks that finished (or still run) only delay the start; a failed one fails the instance.
        if (role === "init" && s !== InstanceState.FAILED) continue;
        state = worst(state, s === InstanceState.STOPPED ? InstanceState.STARTING : s);
      }
      return state;
    }
    default:
      // "lost" / "unknown": the client is gone or disconnected; Nomad replaces or reconnects it.
      return InstanceState.STARTING;
  }
}

function endpointsOf(alloc: AllocListStub | Allocation, group: TaskGroup, ports: AllocatedPort[]): Endpoint[] {
  const staticLabels = new Set((group.Networks ?? []).flatMap((n) => (n.ReservedPorts ?? []).map((p) => p.Label)));
  const out: Endpoint[] = [];
  for (const task of group.Tasks) {
    for (const [key, protocol] of Object.entries(task.Meta ?? {})) {
      if (!key.startsWith(metaKeys.portPrefix)) continue;
      const label = key.slice(metaKeys.portPrefix.length);
      const port = ports.find((p) => p.Label === label);
      if (!port || !port.Value) continue;
      const scheme = ["http", "https", "grpc", "udp"].includes(protocol) ? protocol : "tcp";
      const host = port.HostIP || "127.0.0.1";
      out.push({
        $typeName: "ctrlplane.provider.v1.Endpoint",
        serviceName: task.Name,
        url: `${scheme}://${host.includes(":") ? `[${host}]` : host}:${port.Value}`,
        port: port.Value,
        protocol,
        public: staticLabels.has(label),
        host,
        allocId: alloc.ID,
      });
    }
  }
  return out;
}

/** The instance's status from the job, its allocations and its latest deployment. */
export function instanceStatusFrom(input: StatusInput): InstanceStatus {
  const { job, deployment } = input;
  const group = instanceGroup(job);
  const tasks = group?.Tasks ?? [];
  const count = group?.Count ?? 0;
  // In allocation ID order, as Nomad lists them: the answer must not depend on which read delivered them.
  const current = currentAllocations(job, input.allocations).sort(byId);
  const metadata = statusMetadata(job, deployment, current.length, count);

  const services: Record<string, ServiceStatus> = {};
  let restarts = 0;
  let startedAt: Date | undefined;
  for (const task of tasks) {
    const role = taskRole(task);
    let state: InstanceState = current.length === 0 ? InstanceState.PROVISIONING : InstanceState.RUNNING;
    let ready = current.length > 0;
    let taskRestarts = 0;
    let message = "";
    for (const alloc of current) {
      const ts = alloc.TaskStates?.[task.Name];
      const s = taskStateOf(ts, role);
      state = worst(state, s.state);
      ready &&= s.ready;
      taskRestarts += ts?.Restarts ?? 0;
      if (!s.ready || s.state === InstanceState.FAILED) message ||= lastEventMessage(ts);
      if (ts?.State === "running" && ts.StartedAt && alloc.ClientStatus === "running") {
        const t = new Date(ts.StartedAt);
        if (!Number.isNaN(t.getTime()) && (!startedAt || t < startedAt)) startedAt = t;
      }
    }
    if (role === "init" && state === InstanceState.STOPPED && ready) message ||= "completed";
    restarts += taskRestarts;
    services[task.Name] = {
      $typeName: "ctrlplane.provider.v1.ServiceStatus",
      state,
      ready,
      restarts: taskRestarts,
      providerRef: task.Name,
      message,
    };
  }

  let state: InstanceState;
  let message = "";
  if (job.Stop) {
    const draining = input.allocations.some((a) => a.ClientStatus === "pending" || a.ClientStatus === "running");
    state = draining ? InstanceState.STOPPING : InstanceState.STOPPED;
    message = "job stopped";
  } else if (count === 0) {
    state = InstanceState.STOPPED;
    message = "scaled to 0 replicas";
  } else {
    state = current.length === 0 ? InstanceState.PROVISIONING : current.length < count ? InstanceState.STARTING : InstanceState.RUNNING;
    for (const alloc of current) state = worst(state, allocState(alloc, tasks));
    if (deployment && deployment.JobVersion === job.Version && deployment.Status === "failed") state = InstanceState.FAILED;
    message = firstProblem(current, services, deployment, job) ?? "";
  }
  const healthy = current.every((a) => a.DeploymentStatus?.Healthy !== false);
  const deploying = deployment !== undefined && deployment.JobVersion === job.Version && deployment.Status === "running";
  const deployedHealthy = !deploying || current.every((a) => a.DeploymentStatus?.Healthy === true);
  const running = state === InstanceState.RUNNING;
  // Every running current allocation serves its ports, whatever the instance as a whole is doing.
  const endpoints = job.Stop
    ? []
    : current.filter((a) => a.ClientStatus === "running").flatMap((a) => endpointsOf(a, group!, portsOf(a, input.ports)));

  return create(InstanceStatusSchema, {
    state,
    ready: running && healthy && deployedHealthy,
    restarts,
    startedAt: startedAt && !job.Stop ? timestampFromDate(startedAt) : undefined,
    message,
    endpoints,
    services,
    metadata,
  });
}

/** Allocation ID order, the order Nomad lists a job's allocations in. */
export const byId = (a: { ID: string }, b: { ID: string }) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0);

function portsOf(alloc: AllocListStub | Allocation, known: ReadonlyMap<string, AllocatedPort[]> | undefined): AllocatedPort[] {
  const own = allocatedPorts(alloc);
  return own.length > 0 ? own : (known?.get(alloc.ID) ?? []);
}

function firstProblem(
  current: (AllocListStub | Allocation)[],
  services: Record<string, ServiceStatus>,
  deployment: Deployment | undefined,
  job: Job,
): string | undefined {
  for (const [name, s] of Object.entries(services)) {
    if (s.state === InstanceState.FAILED) return `${name}: ${s.message || "failed"}`;
  }
  const failedAlloc = current.find((a) => a.ClientStatus === "failed");
  if (failedAlloc) return failedAlloc.ClientDescription || `allocation ${failedAlloc.ID} failed`;
  if (deployment && deployment.JobVersion === job.Version && deployment.Status !== "successful") {
    return deployment.StatusDescription || undefined;
  }
  return undefined;
}

function statusMetadata(job: Job, deployment: Deployment | undefined, placed: number, count: number): Record<string, string> {
  const metadata: Record<string, string> = {
    "nomad.job_id": job.ID,
    "nomad.job_version": String(job.Version ?? 0),
    "nomad.job_status": job.Status ?? "",
    "nomad.allocations": `${placed}/${count}`,
  };
  if (deployment) {
    metadata["nomad.deployment_id"] = deployment.ID;
    metadata["nomad.deployment_status"] = deployment.Status;
  }
  const release = job.Meta?.[metaKeys.release];
  if (release) metadata["ctrlplane.release"] = release;
  return metadata;
}

/**
 * Remembers allocations' ports. An allocation's AllocatedResources are fixed when it is placed and never change for its
 * lifetime, so each allocation is read once rather than on every Status. Allocation IDs are UUIDs, so entries cannot
 * go stale; the bound (least recently used first) only keeps a long-lived plugin's memory flat as allocations churn.
 */
export class AllocPortCache {
  readonly #ports = new Map<string, AllocatedPort[]>();
  readonly #capacity: number;

  constructor(capacity = 4096) {
    this.#capacity = Math.max(1, capacity);
  }

  get size(): number {
    return this.#ports.size;
  }

  /** The ports of the running allocations whose list entry lacks them, reading (in parallel) only unknown ones. */
  async resolve(nomad: NomadHttp, allocs: AllocListStub[], signal: AbortSignal | undefined): Promise<Map<string, AllocatedPort[]>> {
    const out = new Map<string, AllocatedPort[]>();
    const missing: string[] = [];
    for (const a of allocs) {
      if (a.ClientStatus !== "running" || allocatedPorts(a).length > 0) continue;
      const known = this.#ports.get(a.ID);
      if (known === undefined) {
        missing.push(a.ID);
        continue;
      }
      // Map order is the recency order: re-inserting makes this entry the youngest.
      this.#ports.delete(a.ID);
      this.#ports.set(a.ID, known);
      out.set(a.ID, known);
    }
    await Promise.all(
      missing.map(async (id) => {
        const ports = allocatedPorts(await readAllocation(nomad, id, { signal }));
        this.#remember(id, ports);
        out.set(id, ports);
      }),
    );
    return out;
  }

  #remember(id: string, ports: AllocatedPort[]): void {
    this.#ports.delete(id);
    this.#ports.set(id, ports);
    while (this.#ports.size > this.#capacity) this.#ports.delete(this.#ports.keys().next().value!);
  }
}

/**
 * How new the data behind a status is, per Nomad table: the job's ModifyIndex, the highest ModifyIndex among the
 * job's allocations (of its current incarnation) and the latest deployment's. A reader holding a status read from
 * Nomad uses a cached one only when the cache's marks are all at least these, so its answers never go backwards.
 */
export interface StatusMarks {
  job: number;
  allocations: number;
  deployment: number;
}

export function statusMarks(job: Job, allocations: readonly (AllocListStub | Allocation)[], deployment: Deployment | undefined): StatusMarks {
  const created = job.CreateIndex ?? 0;
  let allocs = 0;
  for (const a of allocations) if (a.CreateIndex >= created && a.ModifyIndex > allocs) allocs = a.ModifyIndex;
  return { job: job.ModifyIndex ?? 0, allocations: allocs, deployment: deployment?.ModifyIndex ?? 0 };
}

export interface StatusSnapshot {
  status: InstanceStatus;
  /** What the status was computed from (see StatusMarks). */
  marks: StatusMarks;
  job: Job;
  allocations: AllocListStub[];
  /** X-Nomad-Index of the allocation list and of the deployment read, to block on for the next change. */
  allocationsIndex: bigint | undefined;
  deploymentIndex: bigint | undefined;
  /** Why Nomad holds allocations back (a blocked evaluation's FailedTGAllocs), "" when nothing waits for placement. */
  placementBlocked: string;
  /** From the instance cache (compact job and allocations, no indexes to block on) rather than from Nomad reads. */
  cached?: true;
}

/** Reads job, allocations, deployment (and ports the cache lacks) and maps them. NOT_FOUND when the job is absent. */
export async function readInstanceStatus(
  nomad: NomadHttp,
  jobId: string,
  signal: AbortSignal | undefined,
  cache = new AllocPortCache(),
): Promise<StatusSnapshot> {
  // None of the three reads depends on another (a missing job lists no allocations and no deployment), so one round
  // trip instead of two; the job's NOT_FOUND still decides the answer.
  const [{ value: job }, { value: allocations, index: allocationsIndex }, { value: deployment, index: deploymentIndex }] =
    await Promise.all([
      readJob(nomad, jobId, { signal }),
      listJobAllocations(nomad, jobId, { signal }),
      readLatestDeployment(nomad, jobId, { signal }),
    ]);
  const ports = await cache.resolve(nomad, currentAllocations(job, allocations), signal);
  const status = instanceStatusFrom({ job, allocations, deployment, ports });
  const reverted = await readAutoRevertNotice(nomad, job, deployment, signal);
  const placementBlocked = placementMayBeBlocked(job, allocations)
    ? blockedPlacementFrom(await listJobEvaluations(nomad, job.ID, { signal }))
    : "";
  withNotices(status, reverted, placementBlocked);
  const marks = statusMarks(job, allocations, deployment);
  return { status, marks, job, allocations, allocationsIndex, deploymentIndex, placementBlocked };
}

/** The auto-revert sentence and the blocked placement, added to a status the same way by every read path. */
export function withNotices(status: InstanceStatus, reverted: string | undefined, placementBlocked: string): InstanceStatus {
  // A release that failed and was auto-reverted leaves a healthy instance behind; the message must still say so.
  if (reverted) status.message = status.message ? `${status.message}; ${reverted}` : reverted;
  if (placementBlocked) {
    // Nothing failed, Nomad just cannot place: that is the news, and the reason is Nomad's.
    if (status.state !== InstanceState.FAILED) status.message = placementBlocked;
    status.metadata["nomad.placement"] = "blocked";
  }
  return status;
}

/** Only when fewer allocations run than the group wants can a blocked evaluation hold the rest. */
export function placementMayBeBlocked(job: Job, allocations: (AllocListStub | Allocation)[]): boolean {
  const count = instanceGroup(job)?.Count ?? 0;
  return !job.Stop && currentAllocations(job, allocations).length < count;
}

/** The newest blocked evaluation among the job's evaluations, explained; "" when none is blocked. */
export function blockedPlacementFrom(evaluations: Iterable<Evaluation>): string {
  let blocked: Evaluation | undefined;
  for (const e of evaluations) if (e.Status === "blocked" && (!blocked || e.ModifyIndex > blocked.ModifyIndex)) blocked = e;
  return blocked ? placementFailure(blocked) : "";
}
