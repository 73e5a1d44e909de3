// The single-node scheduler: turns evaluations into allocation changes, runs each placed allocation through an
// AllocRunner (the runtime half), feeds the runners' state back into the store, and drives deployments (rolling,
// canary, blue/green, auto-promote, auto-revert, progress deadline) from the runners' health reports.

import { rmSync } from "node:fs";
import { join } from "node:path";
import type { AllocRunner, CreateAllocRunner, HealthSettings } from "../alloc-runtime.js";
import type { Logger } from "../../log.js";
import { jobKey, type Json, type StateStore, type Txn } from "../state/state-store.js";
import { newId, nowNs } from "../state/nomad-time.js";
import { allocTerminal, buildAllocation, clientTerminal, type NodeInfo } from "./alloc-factory.js";
import { evalEvent, newEvaluation } from "./evaluations.js";
import { exhausted, groupAsk, placementFailure, type NodeCapacity } from "./feasibility.js";
import { allocIndex, descMigrating, descNotNeeded, descUpdating, planGroup, type GroupPlan, type Placement } from "./group-reconciler.js";
import { assignPorts, PortConflictError } from "./port-allocator.js";
import { jobStatus } from "./job-status.js";
import * as dep from "./deployments.js";
import { destructiveChange } from "./destructive-change.js";

/** Nomad's DesiredUpdates (plan annotations per task group) as of 1.6. */
export interface DesiredUpdates {
  Ignore: number;
  Place: number;
  Migrate: number;
  Stop: number;
  InPlaceUpdate: number;
  DestructiveUpdate: number;
  Canary: number;
  Preemptions: number;
}

export interface SchedulerDeps {
  store: StateStore;
  createAllocRunner: CreateAllocRunner;
  node: NodeInfo & NodeCapacity;
  region: string;
  dataDir: string;
  log: Logger;
  /** Variable reads on behalf of a task's workload identity (see AllocRunSpec.readVariable). */
  readVariable?: (namespace: string, path: string, identity: { job: string; group: string; task: string }) => Record<string, string> | undefined;
  /** Every task runs with this driver (see AllocRunSpec.driverOverride). */
  driverOverride?: string;
}

/** Asks the job layer to revert a job to a version (auto-revert after a failed deployment). */
export type RevertHook = (namespace: string, jobId: string, version: number) => void;

export class Scheduler {
  readonly runners = new Map<string, AllocRunner>();
  private readonly dirty = new Set<string>();
  private flushQueued = false;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly failedAt = new Map<string, number>();
  /** Runners of garbage-collected allocations still being torn down (close waits for them). */
  private readonly dying = new Set<Promise<void>>();
  private closed = false;
  /** The evaluation the current `process` pass works for; new allocations carry its ID. */
  private evalId = "";
  /** Placements this pass could not make: the AllocationMetric per group, and how many are queued. */
  private failedTGAllocs: Record<string, Json> = {};
  private queued: Record<string, number> = {};
  revertHook: RevertHook = () => {};

  constructor(private readonly deps: SchedulerDeps) {}

  private get store(): StateStore {
    return this.deps.store;
  }

  /** Creates an evaluation for a job in the caller's write (returns it) — process it with `process` afterwards. */
  createEval(txn: Txn, job: Json, triggeredBy: string, extra: Json = {}): Json {
    const ev = newEvaluation(txn, job, triggeredBy, extra);
    this.store.evals.set(ev.ID, ev);
    evalEvent(txn, ev);
    return ev;
  }

  /** Runs the scheduler for a job now: plan every group, apply, start/stop runners, complete the evaluation. */
  process(namespace: string, jobId: string, evalId?: string): void {
    if (this.closed) return;
    const started: Json[] = [];
    const stopped: { alloc: Json; description: string }[] = [];
    let revert: number | undefined;
    this.evalId = evalId ?? "";
    this.failedTGAllocs = {};
    this.queued = {};
    this.store.write((txn) => {
      const job = this.store.jobs.get(jobKey(namespace, jobId));
      const allocs = this.store.allocsOfJob(namespace, jobId);
      if (!job || job.Stop) {
        this.stopEverything(txn, job, allocs, stopped, namespace, jobId);
      } else {
        revert = this.schedule(txn, job, allocs, started, stopped);
      }
      if (evalId) this.completeEval(txn, evalId, job);
      if (job) this.refreshJobStatus(txn, job);
    });
    for (const s of stopped) this.runners.get(s.alloc.ID)?.stop(s.description).catch((e) => this.deps.log.warn("stop failed", { error: e }));
    for (const a of started) this.startRunner(a);
    if (stopped.length) this.unblockSoon();
    if (revert !== undefined) this.revertHook(namespace, jobId, revert);
  }

  /** Capacity was released: blocked evaluations get another chance, as Nomad's blocked-evals tracker gives them. */
  private unblockSoon(): void {
    setImmediate(() => {
      if (this.closed) return;
      for (const ev of [...this.store.evals.values()]) {
        if (ev.Status === "blocked") this.process(ev.Namespace, ev.JobID, ev.ID);
      }
    });
  }

  private recordFailure(group: string, metric: Json): void {
    const seen = this.failedTGAllocs[group];
    if (seen) seen.CoalescedFailures++;
    else this.failedTGAllocs[group] = metric;
    this.queued[group] = (this.queued[group] ?? 0) + 1;
  }

  private stopEverything(txn: Txn, job: Json | undefined, allocs: Json[], stopped: { alloc: Json; description: string }[], ns: string, id: string): void {
    for (const a of allocs) {
      if (a.DesiredStatus !== "run") continue;
      this.markStop(txn, a, descNotNeeded);
      stopped.push({ alloc: a, description: descNotNeeded });
    }
    for (const d of this.store.deploymentsOfJob(ns, id)) if (dep.isActive(d)) dep.setStatus(d, txn, "cancelled", dep.deployStoppedJob);
    void job;
  }

  /** Returns a job version to revert to when a deployment failed with auto-revert during this pass. */
  private schedule(txn: Txn, job: Json, allocs: Json[], started: Json[], stopped: { alloc: Json; description: string }[]): number | undefined {
    const deployment = this.ensureDeployment(txn, job, allocs);
    if (deployment && dep.isActive(deployment)) this.autoPromote(txn, deployment, allocs);
    const versionDeploy = this.versionDeployment(job);
    const inUse = this.portsInUse();
    for (const group of job.TaskGroups) {
      const plan = this.planFor(job, group, allocs, deployment);
      this.applyPlan(txn, job, group, plan, deployment, inUse, started, stopped);
      if (plan.rescheduleAt !== undefined) this.wakeAt(`resched:${job.Namespace}:${job.ID}`, plan.rescheduleAt, job);
    }
    for (const a of allocs) {
      if (a.DesiredStatus === "run" && !job.TaskGroups.some((g: Json) => g.Name === a.TaskGroup)) {
        this.markStop(txn, a, descNotNeeded);
        stopped.push({ alloc: a, description: descNotNeeded });
      }
    }
    if (versionDeploy && dep.isActive(versionDeploy)) return this.checkDeploymentDone(txn, job, versionDeploy);
    return undefined;
  }

  private planFor(job: Json, group: Json, allocs: Json[], deployment: Json | undefined): GroupPlan {
    const versionDeploy = this.versionDeployment(job);
    return planGroup({
      job,
      group,
      allocs: allocs.filter((a) => a.TaskGroup === group.Name),
      cancelledCanaries: this.cancelledCanaries(job),
      deployment: deployment && dep.isActive(deployment) ? deployment : undefined,
      // A paused deployment holds its destructive updates and canaries as a failed one does (the reconciler's
      // deploymentPlaceReady); placements that restore the count still happen.
      deploymentFailed: versionDeploy?.Status === "failed" || versionDeploy?.Status === "cancelled" || (versionDeploy !== undefined && dep.isPaused(versionDeploy)),
      rolling: job.Type === "service" && !!group.Update && group.Update.MaxParallel > 0,
      now: Date.now(),
      destructive: (a) => destructiveChange(a.Job, job, group.Name),
      failedAtMs: (a) => this.failedAt.get(a.ID) ?? a.ModifyTime / 1e6,
    });
  }

  /**
   * Canaries Nomad's reconciler stops (cancelUnneededCanaries): the unpromoted ones of any deployment but the current
   * version's active one — a superseded deployment's, or a failed or cancelled one's. Left running, such a canary
   * would count as an old allocation to update and make the next deployment want canaries of its own.
   */
  private cancelledCanaries(job: Json): Set<string> {
    const current = this.versionDeployment(job);
    const ids = new Set<string>();
    for (const d of this.store.deploymentsOfJob(job.Namespace, job.ID)) {
      if (d === current && dep.isActive(d)) continue;
      for (const s of Object.values(d.TaskGroups) as Json[]) {
        if (!s.Promoted) for (const id of s.PlacedCanaries ?? []) ids.add(id);
      }
    }
    return ids;
  }

  private versionDeployment(job: Json): Json | undefined {
    return this.store
      .deploymentsOfJob(job.Namespace, job.ID)
      .find((d) => d.JobVersion === job.Version && d.JobCreateIndex === job.CreateIndex);
  }

  /**
   * Nomad's plan (Job.Plan): what a pass of this scheduler would do for `job` (a candidate, not stored; its Version
   * and CreateIndex set as registering it would), counted per group as the reconciler's DesiredUpdates, with the
   * placement failures it would record. Writes nothing.
   */
  plan(job: Json): { desired: Record<string, DesiredUpdates>; failed: Record<string, Json> } {
    const allocs = this.store.allocsOfJob(job.Namespace, job.ID);
    let deployment = this.versionDeployment(job);
    if (!deployment) {
      const fresh = this.newDeploymentFor(job, allocs);
      if (fresh) deployment = dep.newDeployment("plan", job, { index: 0 } as Txn, fresh.hasOld);
    }
    const desired: Record<string, DesiredUpdates> = {};
    const failed: Record<string, Json> = {};
    const freed = new Set<string>();
    const added = { cpu: 0, memoryMb: 0 };
    const active = deployment && dep.isActive(deployment) ? deployment : undefined;
    const plans = job.TaskGroups.map((group: Json) => ({ group, plan: this.planFor(job, group, allocs, active) }));
    for (const { plan } of plans) for (const st of plan.stops) if (st.description !== descUpdating) freed.add(st.alloc.ID);
    for (const { group, plan } of plans as { group: Json; plan: GroupPlan }[]) {
      const replaced = new Set(plan.stops.filter((st) => st.description === descUpdating).map((st) => st.alloc.ID));
      const u: DesiredUpdates = { Ignore: 0, Place: 0, Migrate: 0, Stop: 0, InPlaceUpdate: plan.inPlace.length, DestructiveUpdate: 0, Canary: 0, Preemptions: 0 };
      for (const st of plan.stops) {
        if (st.description === descMigrating) u.Migrate++;
        else if (st.description !== descUpdating) u.Stop++;
      }
      const migrated = new Set(plan.stops.filter((st) => st.description === descMigrating).map((st) => st.alloc.ID));
      for (const p of plan.places) {
        if (p.canary) u.Canary++;
        else if (p.previous && replaced.has(p.previous.ID)) u.DestructiveUpdate++;
        else if (!p.previous || !migrated.has(p.previous.ID)) u.Place++;
        const seen = failed[group.Name];
        if (seen) {
          seen.CoalescedFailures++;
          continue;
        }
        const used = this.resourcesInUse(undefined, new Set([...freed, ...(p.previous ? [p.previous.ID] : [])]));
        const failure = placementFailure(job, group, this.deps.node, { cpu: used.cpu + added.cpu, memoryMb: used.memoryMb + added.memoryMb });
        if (failure) {
          failed[group.Name] = failure;
          continue;
        }
        const ask = groupAsk(group);
        added.cpu += ask.cpu;
        added.memoryMb += ask.memoryMb;
        if (p.previous) freed.add(p.previous.ID);
      }
      const touched = new Set([...plan.stops.map((st) => st.alloc.ID), ...plan.inPlace.map((a) => a.ID), ...plan.places.flatMap((p) => (p.previous ? [p.previous.ID] : []))]);
      u.Ignore = allocs.filter((a) => a.TaskGroup === group.Name && a.DesiredStatus === "run" && !clientTerminal(a) && !touched.has(a.ID)).length;
      desired[group.Name] = u;
    }
    return { desired, failed };
  }

  /** Whether a new job version needs a deployment (a rolling group places, replaces or updates), with the groups that have old allocations. */
  private newDeploymentFor(job: Json, allocs: Json[]): { hasOld: (group: string) => boolean } | undefined {
    if (job.Type !== "service") return undefined;
    const rollingGroups = job.TaskGroups.filter((g: Json) => g.Update && g.Update.MaxParallel > 0);
    if (!rollingGroups.length) return undefined;
    const cancelled = this.cancelledCanaries(job);
    const hasOld = (name: string) =>
      allocs.some(
        (a) => a.TaskGroup === name && a.DesiredStatus === "run" && !clientTerminal(a) && !cancelled.has(a.ID) && destructiveChange(a.Job, job, name),
      );
    // Like Nomad, a new version deploys when it places, replaces or updates allocations in place.
    const work = rollingGroups.some((g: Json) => {
      if (hasOld(g.Name)) return true;
      const plan = this.planFor(job, g, allocs, undefined);
      return plan.places.length > 0 || plan.inPlace.length > 0;
    });
    return work ? { hasOld } : undefined;
  }

  /** The deployment of the current job version, created when a rolling group has something to place or replace. */
  private ensureDeployment(txn: Txn, job: Json, allocs: Json[]): Json | undefined {
    const existing = this.versionDeployment(job);
    if (existing) return existing;
    const needed = this.newDeploymentFor(job, allocs);
    if (!needed) return undefined;
    const hasOld = needed.hasOld;
    for (const d of this.store.deploymentsOfJob(job.Namespace, job.ID)) {
      if (dep.isActive(d)) dep.setStatus(d, txn, "cancelled", dep.deployNewerJob);
    }
    const d = dep.newDeployment(newId(), job, txn, hasOld);
    this.store.deployments.set(d.ID, d);
    dep.setStatus(d, txn, d.Status, d.StatusDescription);
    return d;
  }

  private autoPromote(txn: Txn, d: Json, allocs: Json[]): void {
    const groups = Object.values(d.TaskGroups) as Json[];
    const waiting = groups.filter((s) => s.DesiredCanaries > 0 && !s.Promoted);
    if (!waiting.length || !waiting.every((s) => s.AutoPromote)) return;
    if (!dep.canariesHealthy(d, allocs).ok) return;
    this.promoteGroups(txn, d, Object.keys(d.TaskGroups));
  }

  promoteGroups(txn: Txn, d: Json, groups: string[]): void {
    for (const name of groups) {
      const s = d.TaskGroups[name];
      if (s) s.Promoted = true;
    }
    dep.setStatus(d, txn, d.Status, dep.describeRunning(d.TaskGroups));
    txn.event({ Topic: "Deployment", Type: "DeploymentPromotion", Key: d.ID, Namespace: d.Namespace, FilterKeys: [d.JobID], Payload: { Deployment: structuredClone(d) } });
  }

  private applyPlan(
    txn: Txn,
    job: Json,
    group: Json,
    plan: GroupPlan,
    deployment: Json | undefined,
    inUse: Set<number>,
    started: Json[],
    stopped: { alloc: Json; description: string }[],
  ): void {
    // A destructive update stops the old allocation only once its replacement has a place (Nomad backs the stop out
    // of the plan otherwise), and that replacement may use what the old allocation frees.
    const replaced = new Set(plan.places.flatMap((p) => (p.previous ? [p.previous.ID] : [])));
    const deferred = new Map<string, { alloc: Json; description: string }>();
    for (const s of plan.stops) {
      if (s.description === descUpdating && replaced.has(s.alloc.ID)) {
        deferred.set(s.alloc.ID, s);
        continue;
      }
      this.markStop(txn, s.alloc, s.description);
      stopped.push(s);
    }
    const active = deployment && dep.isActive(deployment) && deployment.TaskGroups[group.Name] ? deployment : undefined;
    for (const a of plan.inPlace) this.updateInPlace(txn, job, group, a, active);
    // Replacements first, as Nomad's scheduler does: when a new version both grows and adds allocations, the added
    // ones must not take the room that stopping the old ones frees for their replacements.
    const isReplacement = (p: Placement) => !!p.previous && deferred.has(p.previous.ID);
    for (const p of [...plan.places.filter(isReplacement), ...plan.places.filter((p) => !isReplacement(p))]) {
      const stop = p.previous ? deferred.get(p.previous.ID) : undefined;
      const alloc = this.place(txn, job, group, p, active, inUse, stop?.alloc.ID);
      if (!alloc) continue;
      if (stop) {
        this.markStop(txn, stop.alloc, stop.description);
        stopped.push(stop);
      }
      started.push(alloc);
    }
    if (active) this.startProgressClock(active);
  }

  private updateInPlace(txn: Txn, job: Json, group: Json, a: Json, active: Json | undefined): void {
    a.Job = structuredClone(job);
    // Nomad's inplaceUpdate hands the allocation to the evaluation that updated it (newAlloc.EvalID = eval.ID): the
    // garbage collector then finds it under that evaluation, not under the one that placed it.
    if (this.evalId) a.EvalID = this.evalId;
    // Nomad's plan apply stamps every allocation it upserts, in-place updates included.
    a.AllocModifyIndex = txn.index;
    // An in-place update joins the rollout; a healthy allocation stays healthy (its tasks did not restart).
    if (active && a.DeploymentID !== active.ID) {
      // Placed outside any deployment, it has no health watcher; running, it has proven itself healthy already.
      if (!a.DeploymentID && a.DeploymentStatus?.Healthy == null && a.ClientStatus === "running") {
        a.DeploymentStatus = { Healthy: true, Timestamp: new Date().toISOString(), Canary: false, ModifyIndex: txn.index };
      }
      a.DeploymentID = active.ID;
      const s = active.TaskGroups[group.Name];
      s.PlacedAllocs++;
      if (a.DeploymentStatus?.Healthy === true) s.HealthyAllocs++;
      active.ModifyIndex = txn.index;
      txn.touch("deployments");
    }
    this.touchAlloc(txn, a, "AllocationUpdated");
  }

  /**
   * Places one allocation, or records why it cannot be placed. Like Nomad, once a group failed to place in this
   * pass its further placements are not attempted (CoalescedFailures). `freeing` is an allocation stopped for it.
   */
  private place(txn: Txn, job: Json, group: Json, p: Placement, active: Json | undefined, inUse: Set<number>, freeing?: string): Json | undefined {
    const seen = this.failedTGAllocs[group.Name];
    const failure = seen ?? placementFailure(job, group, this.deps.node, this.resourcesInUse(freeing));
    if (failure) {
      this.recordFailure(group.Name, failure);
      return undefined;
    }
    let ports;
    try {
      ports = assignPorts(group, inUse);
    } catch (err) {
      if (!(err instanceof PortConflictError)) throw err;
      this.recordFailure(group.Name, exhausted(this.deps.node, `network: ${err.message}`));
      return undefined;
    }
    ports.ports.forEach((pp) => inUse.add(pp.Value));
    const alloc = buildAllocation({
      job: structuredClone(job),
      group,
      index: p.index,
      evalId: this.evalId,
      node: this.deps.node,
      ports: ports.ports,
      networks: ports.networks,
      deploymentId: active?.ID ?? "",
      canary: p.canary,
      previous: p.previous,
      rescheduleEvent: p.rescheduleDelayNs !== undefined ? { RescheduleTime: nowNs(), PrevAllocID: p.previous!.ID, PrevNodeID: this.deps.node.id, Delay: p.rescheduleDelayNs } : undefined,
      createIndex: txn.index,
    });
    if (p.previous) {
      p.previous.NextAllocation = alloc.ID;
      this.touchAlloc(txn, p.previous, "AllocationUpdated");
    }
    if (active) {
      const s = active.TaskGroups[group.Name];
      s.PlacedAllocs++;
      if (p.canary) s.PlacedCanaries = [...(s.PlacedCanaries ?? []), alloc.ID];
      active.ModifyIndex = txn.index;
      txn.touch("deployments");
    }
    this.store.allocs.set(alloc.ID, alloc);
    this.allocEvent(txn, alloc, "PlanResult");
    return alloc;
  }

  private completeEval(txn: Txn, evalId: string, job: Json | undefined): void {
    const ev = this.store.evals.get(evalId);
    if (!ev) return;
    ev.Status = "complete";
    ev.SnapshotIndex = txn.index - 1;
    ev.ModifyIndex = txn.index;
    ev.ModifyTime = nowNs();
    if (job && !job.Stop) {
      ev.QueuedAllocations = Object.fromEntries(job.TaskGroups.map((g: Json) => [g.Name, this.queued[g.Name] ?? 0]));
      ev.DeploymentID = this.versionDeployment(job)?.ID ?? "";
    }
    // A newer decision supersedes any evaluation still blocked for this job.
    for (const other of this.store.evalsOfJob(ev.Namespace, ev.JobID)) {
      if (other.Status !== "blocked" || other.ID === ev.ID) continue;
      Object.assign(other, { Status: "canceled", StatusDescription: "evaluation superseded", ModifyIndex: txn.index, ModifyTime: nowNs() });
      evalEvent(txn, other);
    }
    if (job && !job.Stop && Object.keys(this.failedTGAllocs).length) {
      ev.FailedTGAllocs = this.failedTGAllocs;
      const blocked = this.createEval(txn, job, "queued-allocs", {
        Status: "blocked",
        StatusDescription: "created to place remaining allocations",
        PreviousEval: ev.ID,
        FailedTGAllocs: structuredClone(this.failedTGAllocs),
        QueuedAllocations: { ...ev.QueuedAllocations },
      });
      ev.BlockedEval = blocked.ID;
    }
    evalEvent(txn, ev);
  }

  private markStop(txn: Txn, a: Json, description: string): void {
    a.DesiredStatus = "stop";
    a.DesiredDescription = description;
    a.AllocModifyIndex = txn.index;
    this.touchAlloc(txn, a, "AllocationUpdateDesiredStatus");
  }

  private touchAlloc(txn: Txn, a: Json, type: string): void {
    a.ModifyIndex = txn.index;
    a.ModifyTime = nowNs();
    this.allocEvent(txn, a, type);
  }

  private allocEvent(txn: Txn, a: Json, type: string): void {
    txn.touch("allocs");
    txn.event({
      Topic: "Allocation",
      Type: type,
      Key: a.ID,
      Namespace: a.Namespace,
      FilterKeys: [a.JobID, a.DeploymentID].filter(Boolean),
      Payload: { Allocation: { ...a, Job: null } },
    });
  }

  refreshJobStatus(txn: Txn, job: Json): void {
    const status = jobStatus(job, this.store.allocsOfJob(job.Namespace, job.ID), this.store.evalsOfJob(job.Namespace, job.ID));
    if (status === job.Status) return;
    job.Status = status;
    job.ModifyIndex = txn.index;
    txn.touch("jobs");
    txn.event({ Topic: "Job", Type: "JobRegistered", Key: job.ID, Namespace: job.Namespace, FilterKeys: null, Payload: { Job: job } });
  }

  /** CPU MHz and memory MB held by every allocation that is not terminal (but `except`, about to stop). */
  private resourcesInUse(except?: string, alsoFree?: ReadonlySet<string>): { cpu: number; memoryMb: number } {
    const used = { cpu: 0, memoryMb: 0 };
    for (const a of this.store.allocs.values()) {
      if (allocTerminal(a) || a.ID === except || alsoFree?.has(a.ID)) continue;
      const group = a.Job?.TaskGroups?.find((g: Json) => g.Name === a.TaskGroup);
      if (!group) continue;
      const ask = groupAsk(group);
      used.cpu += ask.cpu;
      used.memoryMb += ask.memoryMb;
    }
    return used;
  }

  private portsInUse(): Set<number> {
    const used = new Set<number>();
    for (const a of this.store.allocs.values()) {
      if (allocTerminal(a)) continue;
      for (const p of a.AllocatedResources?.Shared?.Ports ?? []) used.add(p.Value);
    }
    return used;
  }

  private startRunner(alloc: Json): void {
    const group = alloc.Job.TaskGroups.find((g: Json) => g.Name === alloc.TaskGroup);
    const d = alloc.DeploymentID ? this.store.deployments.get(alloc.DeploymentID) : undefined;
    const health: HealthSettings | undefined =
      d && group.Update
        ? {
            mode: group.Update.HealthCheck,
            minHealthyTimeMs: group.Update.MinHealthyTime / 1e6,
            healthyDeadlineMs: group.Update.HealthyDeadline / 1e6,
          }
        : undefined;
    const id: string = alloc.ID;
    const runner = this.deps.createAllocRunner(
      {
        allocId: id,
        allocName: alloc.Name,
        allocIndex: allocIndex(alloc),
        namespace: alloc.Namespace,
        region: this.deps.region,
        datacenter: this.deps.node.datacenter,
        nodeId: this.deps.node.id,
        nodeName: this.deps.node.name,
        job: alloc.Job,
        group,
        ports: alloc.AllocatedResources.Shared.Ports ?? [],
        allocDir: join(this.deps.dataDir, "alloc", id),
        ...(health ? { health } : {}),
        ...(this.deps.readVariable ? { readVariable: this.variableReader(alloc) } : {}),
        hostVolumes: this.deps.node.hostVolumes,
        ...(this.deps.driverOverride ? { driverOverride: this.deps.driverOverride } : {}),
      },
      { onUpdate: () => this.queueSync(id), onHealth: (healthy, description) => this.onHealth(id, healthy, description) },
    );
    this.runners.set(id, runner);
    runner.start();
    this.queueSync(id);
  }

  private variableReader(alloc: Json): (path: string, task: string) => Record<string, string> | undefined {
    const read = this.deps.readVariable!;
    return (path, task) => read(alloc.Namespace, path, { job: alloc.JobID, group: alloc.TaskGroup, task });
  }

  private queueSync(allocId: string): void {
    this.dirty.add(allocId);
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => this.flushSync());
  }

  /** Copies the runners' task states and client status into the store; failures trigger a new evaluation. */
  private flushSync(): void {
    this.flushQueued = false;
    if (this.closed) return;
    const ids = [...this.dirty];
    this.dirty.clear();
    const reschedule = new Map<string, Json>();
    const unhealthy: string[] = [];
    let freed = false;
    this.store.write((txn) => {
      for (const id of ids) {
        const a = this.store.allocs.get(id);
        const runner = this.runners.get(id);
        if (!a || !runner) continue;
        const before = a.ClientStatus;
        a.TaskStates = runner.taskStates();
        a.ClientStatus = runner.clientStatus();
        a.ClientDescription = runner.clientDescription();
        this.touchAlloc(txn, a, "AllocationUpdated");
        if (before !== a.ClientStatus && clientTerminal(a)) freed = true;
        if (before !== a.ClientStatus && clientTerminal(a) && a.DesiredStatus === "run") {
          if (a.ClientStatus === "failed") this.failedAt.set(id, Date.now());
          const job = this.store.jobs.get(jobKey(a.Namespace, a.JobID));
          if (job) reschedule.set(jobKey(a.Namespace, a.JobID), job);
          if (a.ClientStatus === "failed" && a.DeploymentID && a.DeploymentStatus?.Healthy == null) unhealthy.push(id);
        }
        const job = this.store.jobs.get(jobKey(a.Namespace, a.JobID));
        if (job) this.refreshJobStatus(txn, job);
      }
    });
    for (const id of unhealthy) this.onHealth(id, false, "Task failed before becoming healthy");
    for (const job of reschedule.values()) this.evaluate(job, "alloc-failure");
    if (freed) this.unblockSoon();
  }

  /** Creates an evaluation for the job and processes it. */
  evaluate(job: Json, triggeredBy: string, extra: Json = {}): Json {
    const ev = this.store.write((txn) => this.createEval(txn, job, triggeredBy, extra));
    this.process(job.Namespace, job.ID, ev.ID);
    return ev;
  }

  private evaluateJob(namespace: string, jobId: string, triggeredBy: string): void {
    const job = this.store.jobs.get(jobKey(namespace, jobId));
    if (job) this.evaluate(job, triggeredBy);
  }

  private onHealth(allocId: string, healthy: boolean, description: string): void {
    if (this.closed) return;
    let revert: number | undefined;
    let job: Json | undefined;
    this.store.write((txn) => {
      const a = this.store.allocs.get(allocId);
      if (!a || !a.DeploymentID || a.DeploymentStatus?.Healthy != null) return;
      a.DeploymentStatus = { Healthy: healthy, Timestamp: new Date().toISOString(), Canary: a.DeploymentStatus?.Canary ?? false, ModifyIndex: txn.index };
      this.touchAlloc(txn, a, "AllocationUpdated");
      const d = this.store.deployments.get(a.DeploymentID);
      const s = d?.TaskGroups[a.TaskGroup];
      if (!d || !s || !dep.isActive(d)) return;
      if (healthy) {
        s.HealthyAllocs++;
        // Progress: the group's deadline moves to this health report plus the progress deadline.
        if (s.ProgressDeadline > 0) s.RequireProgressBy = new Date(Date.now() + s.ProgressDeadline / 1e6).toISOString();
        this.armProgressDeadline(d);
      } else s.UnhealthyAllocs++;
      d.ModifyIndex = txn.index;
      txn.touch("deployments");
      txn.event({ Topic: "Deployment", Type: "DeploymentAllocHealth", Key: d.ID, Namespace: d.Namespace, FilterKeys: [d.JobID], Payload: { Deployment: structuredClone(d) } });
      job = this.store.jobs.get(jobKey(a.Namespace, a.JobID));
      if (!healthy) revert = this.failDeployment(txn, d, dep.deployFailedAllocs);
      void description;
    });
    if (!job) return;
    if (revert !== undefined) this.revertHook(job.Namespace, job.ID, revert);
    else this.evaluate(job, "deployment-watcher");
  }

  /** Marks a deployment failed; with auto-revert returns the stable version to roll back to. */
  failDeployment(txn: Txn, d: Json, base: string): number | undefined {
    const autoRevert = (Object.values(d.TaskGroups) as Json[]).some((s) => s.AutoRevert);
    let description = base;
    let target: Json | undefined;
    if (autoRevert) {
      const versions = this.store.jobVersions.get(jobKey(d.Namespace, d.JobID)) ?? [];
      target = versions.find((v) => v.Stable && v.Version !== d.JobVersion);
      const current = versions.find((v) => v.Version === d.JobVersion);
      if (!target) description = `${base} - no stable job version to auto revert to`;
      else if (current && !destructiveChange(target, current) && sameSpec(target, current)) {
        description = `${base} - not rolling back to stable job version ${target.Version} as current job has same specification`;
        target = undefined;
      } else description = `${base} - rolling back to job version ${target.Version}`;
    }
    dep.setStatus(d, txn, "failed", description);
    this.clearTimer(`progress:${d.ID}`);
    return target?.Version;
  }

  private checkDeploymentDone(txn: Txn, job: Json, d: Json): number | undefined {
    const allocs = this.store.allocsOfJob(job.Namespace, job.ID).filter((a) => a.DesiredStatus === "run" && !clientTerminal(a));
    for (const [name, s] of Object.entries(d.TaskGroups) as [string, Json][]) {
      if (s.DesiredCanaries > 0 && !s.Promoted) return undefined;
      const mine = allocs.filter((a) => a.TaskGroup === name);
      if (mine.some((a) => a.DeploymentID !== d.ID && destructiveChange(a.Job, job, name))) return undefined;
      const healthy = mine.filter((a) => a.DeploymentID === d.ID && a.DeploymentStatus?.Healthy === true).length;
      if (healthy < s.DesiredTotal) return undefined;
    }
    dep.setStatus(d, txn, "successful", dep.deploySuccessful);
    this.clearTimer(`progress:${d.ID}`);
    const version = (this.store.jobVersions.get(jobKey(job.Namespace, job.ID)) ?? []).find((v) => v.Version === d.JobVersion);
    if (version && !version.Stable) {
      version.Stable = true;
      version.ModifyIndex = txn.index;
      txn.touch("jobs", "job_versions");
      txn.event({ Topic: "Job", Type: "JobRegistered", Key: job.ID, Namespace: job.Namespace, FilterKeys: null, Payload: { Job: version } });
    }
    return undefined;
  }

  /**
   * Nomad starts a group's progress clock at its first placement: RequireProgressBy stays the zero time until then, so
   * a deployment that cannot place anything waits (blocked) instead of failing.
   */
  private startProgressClock(d: Json): void {
    let started = false;
    for (const s of Object.values(d.TaskGroups) as Json[]) {
      if (s.ProgressDeadline > 0 && s.PlacedAllocs > 0 && s.RequireProgressBy === dep.zeroTime) {
        s.RequireProgressBy = new Date(Date.now() + s.ProgressDeadline / 1e6).toISOString();
        started = true;
      }
    }
    if (started) this.armProgressDeadline(d);
  }

  private armProgressDeadline(d: Json): void {
    const deadlines = (Object.values(d.TaskGroups) as Json[])
      .filter((s) => s.ProgressDeadline > 0 && s.RequireProgressBy !== dep.zeroTime)
      .map((s) => Date.parse(s.RequireProgressBy));
    if (!deadlines.length) return;
    const ms = Math.max(0, Math.min(...deadlines) - Date.now());
    this.setTimer(`progress:${d.ID}`, ms, () => {
      let revert: number | undefined;
      let failed = false;
      this.store.write((txn) => {
        if (!dep.isActive(d)) return;
        failed = true;
        revert = this.failDeployment(txn, d, dep.deployProgressDeadline);
      });
      if (revert !== undefined) this.revertHook(d.Namespace, d.JobID, revert);
      else if (failed) this.evaluateJob(d.Namespace, d.JobID, "deployment-watcher");
    });
  }

  /** Whether a failed allocation of the job waits for its reschedule delay (Nomad: a pending follow-up evaluation). */
  awaitsReschedule(namespace: string, jobId: string): boolean {
    return this.timers.has(`resched:${namespace}:${jobId}`);
  }

  private wakeAt(key: string, atMs: number, job: Json): void {
    this.setTimer(key, Math.max(0, atMs - Date.now()), () => {
      const current = this.store.jobs.get(jobKey(job.Namespace, job.ID));
      if (current) this.evaluate(current, "alloc-failure");
    });
  }

  private setTimer(key: string, ms: number, fn: () => void): void {
    this.clearTimer(key);
    if (this.closed) return;
    const t = setTimeout(() => {
      this.timers.delete(key);
      if (!this.closed) fn();
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  private clearTimer(key: string): void {
    const t = this.timers.get(key);
    if (t) clearTimeout(t);
    this.timers.delete(key);
  }

  /**
   * The client's side of the server garbage-collecting allocations (Nomad's client.removeAlloc): it stops tracking
   * them, destroys their runners and removes their alloc dirs, so their client endpoints answer "Unknown allocation".
   */
  forgetAllocs(ids: Iterable<string>): void {
    for (const id of ids) {
      this.failedAt.delete(id);
      this.dirty.delete(id);
      const runner = this.runners.get(id);
      if (!runner) continue;
      this.runners.delete(id);
      const gone: Promise<void> = runner
        .stop("alloc garbage collected")
        .then(() => rmSync(runner.allocDir, { recursive: true, force: true }))
        .catch((e) => this.deps.log.warn("removing a collected allocation failed", { alloc: id, error: e }))
        .finally(() => this.dying.delete(gone));
      this.dying.add(gone);
    }
  }

  /** Stops every task of every allocation and waits for the processes to be gone. */
  async close(): Promise<void> {
    this.closed = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await Promise.allSettled([...this.runners.values()].map((r) => r.stop("agent shutting down")));
    await Promise.allSettled([...this.dying]);
  }
}

function sameSpec(a: Json, b: Json): boolean {
  const strip = (j: Json) => JSON.stringify({ ...j, Status: "", StatusDescription: "", Stable: false, Version: 0, SubmitTime: 0, CreateIndex: 0, ModifyIndex: 0, JobModifyIndex: 0 });
  return strip(a) === strip(b);
}
