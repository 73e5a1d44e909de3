// The instance cache: one per plugin process (per Nomad transport), like a Kubernetes shared informer. It lists the
// cp- jobs of the namespace with their allocations, deployments and blocked evaluations once (priming), then keeps
// them current from one /v1/event/stream, applying each batch in index order. Status is then answered from memory
// with no Nomad request.
//
// Correctness rules:
//  - The stream is opened at the lowest index of the priming lists, so nothing between a list and the stream is
//    missed; events older than what a list already showed are recognised by the object's ModifyIndex and skipped.
//  - A batch at or below the applied index changes nothing: Nomad resumes AT the index passed (the batch at that
//    index comes again), other agents after it; both are right.
//  - After any drop the cache lists again (re-primes) before it serves again: an index older than Nomad's event
//    buffer silently skips events, so resuming is never trusted.
//  - Allocation events carry no job (Nomad strips it), hence no job version: a new or server-updated allocation
//    takes the version of the job in force at its AllocModifyIndex, known from the job events applied in order;
//    when the cache does not know that version it reads the allocation once.
//  - Read-your-writes: the transport records the index of the plugin's own writes; a Status (and the allocation list
//    of a Resources sample or a Logs call) waits (bounded) until the cache has applied it, else it is answered by
//    the uncached path.
//  - A job's status is computed once per change: the result is kept until an event (or a re-prime) touches the job,
//    so N watchers and the Status calls of one job share one computation.
// While the cache is not live (priming, stream down or refused) callers use the uncached reads.

import { setMaxListeners } from "node:events";
import { delayUnlessAborted } from "../abortable-delay.js";
import type { InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import type { NomadHttp } from "../nomad/nomad-http.js";
import type { AllocListStub, Allocation, Deployment, Evaluation, Job, StreamEvent, TaskState } from "../nomad/types.js";
import { readEventStream, isPermanentStreamError, type IndexedBatch } from "../nomad/event-stream.js";
import { listAllocationStubs, listBlockedEvaluations, listDeployments, listJobStubs } from "../nomad/namespace-state.js";
import { readJob } from "../nomad/jobs.js";
import { readAllocation } from "../nomad/allocations.js";
import { Code, ProviderError } from "../errors.js";
import type { Logger } from "../log.js";
import {
  allocatedPorts,
  blockedPlacementFrom,
  byId,
  instanceStatusFrom,
  placementMayBeBlocked,
  statusMarks,
  withNotices,
  type StatusMarks,
  type StatusSnapshot,
} from "./status.js";
import { autoRevertNoticeWith } from "./auto-revert-notice.js";
import { jobIdPrefix } from "./instance-id.js";

/** What the cache holds per job ID (the job may be gone while its allocations and deployments remain, as in Nomad). */
export interface CachedInstance {
  job: Job | undefined;
  /** Every version of the job seen by this cache, by JobModifyIndex (ascending): an allocation's version at its index. */
  versions: { index: number; version: number }[];
  allocs: Map<string, AllocListStub>;
  deployments: Map<string, Deployment>;
  /** Only evaluations that are blocked now (the one thing Status asks of evaluations). */
  blockedEvals: Map<string, Evaluation>;
}

export type CacheState = "idle" | "priming" | "live" | "down" | "refused";

export interface InstanceCacheOptions {
  /** Job ID prefix of the instances (default "cp-"). */
  prefix?: string;
  /** How long a Status waits for the cache to apply the plugin's last write before reading Nomad (default 2 s). */
  readYourWritesMs?: number;
  /** Parallel job reads while priming (default 16). */
  primeConcurrency?: number;
  /**
   * How often a live cache lists the allocations and deployments again to drop what Nomad garbage-collected (Nomad
   * publishes no event for that; default 30 min), as an informer's resync period.
   */
  resyncMs?: number;
  /** Retry bounds after a drop (default 100 ms .. 5 s); a refused stream is retried every refusedRetryMs (30 s). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  refusedRetryMs?: number;
}

const topics = ["Job:*", "Allocation:*", "Deployment:*", "Evaluation:*"];

export class InstanceCache {
  readonly #nomad: NomadHttp;
  readonly #log: Logger;
  readonly #prefix: string;
  readonly #rywMs: number;
  readonly #concurrency: number;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #refusedRetry: number;
  readonly #resyncMs: number;
  #instances = new Map<string, CachedInstance>();
  #applied = 0;
  #state: CacheState = "idle";
  #stopper = new AbortController();
  #waiters = new Set<{ index: number; wake: () => void }>();
  readonly #listeners = new Set<(jobIds: ReadonlySet<string>) => void>();
  readonly #stateListeners = new Set<(state: CacheState, was: CacheState) => void>();
  /** Computed snapshots (status and what it was computed from) by job ID, dropped when an event touches the job. */
  readonly #memo = new Map<string, Promise<StatusSnapshot>>();
  /** Jobs a re-prime changed, announced when the cache serves again (not before: readers would only read Nomad). */
  #primed: Set<string> | undefined;
  #runSignal: AbortSignal | undefined;
  #lastError = "";
  /** Counters for HealthCheck, tests and benchmarks. */
  readonly stats = { primes: 0, lastPrimeMs: 0, batches: 0, allocReads: 0, resyncs: 0, collected: 0 };

  constructor(nomad: NomadHttp, log: Logger, options: InstanceCacheOptions = {}) {
    this.#nomad = nomad;
    this.#log = log;
    this.#prefix = options.prefix ?? jobIdPrefix;
    this.#rywMs = options.readYourWritesMs ?? 2_000;
    this.#concurrency = options.primeConcurrency ?? 16;
    this.#minBackoff = options.minBackoffMs ?? 100;
    this.#maxBackoff = options.maxBackoffMs ?? 5_000;
    this.#refusedRetry = options.refusedRetryMs ?? 30_000;
    this.#resyncMs = options.resyncMs ?? 30 * 60_000;
  }

  get state(): CacheState {
    return this.#state;
  }

  get live(): boolean {
    return this.#state === "live";
  }

  /** The highest Nomad index whose events the cache has applied. */
  get appliedIndex(): number {
    return this.#applied;
  }

  /** Why the cache is not live ("" when it is). */
  get problem(): string {
    return this.#state === "live" ? "" : this.#lastError;
  }

  get size(): number {
    return this.#instances.size;
  }

  /** Starts priming and following (once); stops when the transport closes or close() is called. */
  start(): void {
    if (this.#state !== "idle") return;
    this.#setState("priming");
    const signal = AbortSignal.any([this.#nomad.closing, this.#stopper.signal]);
    // Every request in flight for the cache (a prime reads up to primeConcurrency jobs at once) listens on it.
    setMaxListeners(this.#concurrency + 16, signal);
    this.#runSignal = signal;
    void this.#run(signal);
    void this.#resyncLoop(signal);
  }

  close(): void {
    this.#stopper.abort();
  }

  /** Called with the job IDs each applied batch touched, and with every job when the cache serves after a (re-)prime. */
  onChange(listener: (jobIds: ReadonlySet<string>) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Called on every state change, and on each failed attempt while down (state and was both "down"). */
  onState(listener: (state: CacheState, was: CacheState) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /**
   * Called with true when the cache goes live and false when it stops being live (followers switch between the cache
   * and their own reads of Nomad; what changed meanwhile is theirs to read again).
   */
  onLiveChange(listener: (live: boolean) => void): () => void {
    return this.onState((state, was) => {
      if ((state === "live") !== (was === "live")) listener(state === "live");
    });
  }

  /** Resolves true once the cache is live and has applied `index`, false after `timeoutMs` or on abort. */
  waitForIndex(index: number, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (this.live && this.#applied >= index) return Promise.resolve(true);
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener("abort", onAbort);
        this.#waiters.delete(waiter);
        resolve(ok);
      };
      const waiter = { index, wake: () => finish(true) };
      const onAbort = () => finish(false);
      const timer = setTimeout(() => finish(false), timeoutMs);
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiters.add(waiter);
    });
  }

  /** The cached entry of a job (for Resources, Logs and tests); undefined when the cache is not live. */
  instance(jobId: string): CachedInstance | undefined {
    return this.live ? this.#instances.get(jobId) : undefined;
  }

  /**
   * What GET /v1/job/:id/allocations answers now, also for a job that is gone (Nomad then lists every allocation it
   * still holds of that ID; none for an ID never seen), in Nomad's order (by allocation ID); undefined when not live.
   * For followers of a job's allocations, which must see them end after the job was purged.
   */
  allocationList(jobId: string): AllocListStub[] | undefined {
    if (!this.live) return undefined;
    const inst = this.#instances.get(jobId);
    return inst ? incarnationAllocs(inst).sort(byId) : [];
  }

  /**
   * The job and its allocations (as allocationList) under Status's read-your-writes rule, for Resources and Logs;
   * undefined when the cache cannot answer: not live (an idle cache is started), the plugin's last write not applied
   * within the bound, or the job unknown (the caller's read of Nomad then decides NOT_FOUND).
   */
  async jobWithAllocations(jobId: string, signal: AbortSignal | undefined): Promise<{ job: Job; allocations: AllocListStub[] } | undefined> {
    if (!(await this.#caughtUp(signal))) return undefined;
    const inst = this.live ? this.#instances.get(jobId) : undefined;
    if (!inst?.job) return undefined;
    return { job: inst.job, allocations: incarnationAllocs(inst).sort(byId) };
  }

  /** True when the cache may answer: live, with the plugin's last write applied (waiting at most the bound). */
  async #caughtUp(signal: AbortSignal | undefined): Promise<boolean> {
    if (!this.live) {
      this.start();
      return false;
    }
    const want = Number(this.#nomad.lastWriteIndex);
    return this.#applied >= want || (await this.waitForIndex(want, this.#rywMs, signal));
  }

  /**
   * The instance's status from memory, exactly what readInstanceStatus answers; undefined when the cache cannot
   * answer (not live, the plugin's last write not applied within the bound, the job unknown, or the cache older than
   * `floor`, the marks of a status the caller already read from Nomad: the caller then reads Nomad). The answer is
   * shared with every other reader of the job until the job changes: treat it as read-only. Only a job whose
   * deployments show an auto-revert costs a read (its version history).
   */
  async status(jobId: string, signal: AbortSignal | undefined, floor?: StatusMarks): Promise<InstanceStatus | undefined> {
    const snapshot = await this.snapshot(jobId, signal);
    if (!snapshot || (floor && !atLeast(snapshot.marks, floor))) return undefined;
    return snapshot.status;
  }

  /**
   * What readInstanceStatus reports (status, marks, job, allocations, blocked placement) from memory, for Status,
   * WatchStatus and writes waiting for their instance to converge; undefined when the cache cannot answer (as
   * status()). Computed once per change of the job and shared (read-only); the job is the compact one.
   */
  async snapshot(jobId: string, signal: AbortSignal | undefined): Promise<StatusSnapshot | undefined> {
    if (!(await this.#caughtUp(signal))) return undefined;
    const inst = this.#instances.get(jobId);
    if (!inst?.job) return undefined;
    let memo = this.#memo.get(jobId);
    if (!memo) {
      const computing = this.#compute(inst, inst.job);
      memo = computing;
      this.#memo.set(jobId, computing);
      computing.catch(() => {
        if (this.#memo.get(jobId) === computing) this.#memo.delete(jobId);
      });
    }
    return memo;
  }

  /** Rings `changes` whenever a batch touches the job or the cache's state changes; returns the unsubscribe. */
  follow(jobId: string, changes: { ring(): void }): () => void {
    const offChange = this.onChange((ids) => {
      if (ids.has(jobId)) changes.ring();
    });
    const offState = this.onState(() => changes.ring());
    return () => {
      offChange();
      offState();
    };
  }

  /** Computed with the cache's own signal: the result is shared, so one reader's cancellation must not fail the rest. */
  async #compute(inst: CachedInstance, job: Job): Promise<StatusSnapshot> {
    const allocations = incarnationAllocs(inst).sort(byId);
    const deployments = [...inst.deployments.values()].sort((a, b) => b.CreateIndex - a.CreateIndex);
    const deployment = deployments[0];
    const marks = statusMarks(job, allocations, deployment);
    const status = instanceStatusFrom({ job, allocations, deployment });
    const reverted = await autoRevertNoticeWith(this.#nomad, job, deployment, deployments, this.#runSignal);
    const placementBlocked = placementMayBeBlocked(job, allocations) ? blockedPlacementFrom(inst.blockedEvals.values()) : "";
    withNotices(status, reverted, placementBlocked);
    return { status, marks, job, allocations, allocationsIndex: undefined, deploymentIndex: undefined, placementBlocked, cached: true };
  }

  async #run(signal: AbortSignal): Promise<void> {
    let backoff = this.#minBackoff;
    while (!signal.aborted) {
      try {
        const from = await this.#prime(signal);
        for await (const item of readEventStream(this.#nomad, { topics, index: from, signal })) {
          if ("heartbeat" in item) {
            if (this.#state !== "live") this.#goLive();
            backoff = this.#minBackoff;
            continue;
          }
          if (this.#state !== "live") this.#goLive();
          await this.#apply(item, signal);
        }
        throw new ProviderError(Code.Unavailable, "nomad: event stream closed");
      } catch (err) {
        if (signal.aborted) return;
        const error = ProviderError.from(err, Code.Unavailable);
        const refused = isPermanentStreamError(error);
        this.#goDown(refused ? "refused" : "down", error);
        await delayUnlessAborted(refused ? this.#refusedRetry : backoff, signal);
        backoff = Math.min(backoff * 2, this.#maxBackoff);
      }
    }
  }

  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await delayUnlessAborted(this.#resyncMs, signal);
      if (signal.aborted || !this.live) continue;
      try {
        await this.#resync(signal);
      } catch (err) {
        if (!signal.aborted) this.#log.debug("instance cache resync failed; trying again next period", { error: err });
      }
    }
  }

  /**
   * Drops the allocations and deployments Nomad no longer lists (garbage-collected: no event says so), and instances
   * left with nothing; the stream keeps running. Only what the list could have shown is dropped: an object changed
   * after the list's index came from an event and stays.
   */
  async #resync(signal: AbortSignal): Promise<void> {
    const primes = this.stats.primes;
    const [allocs, deployments] = await Promise.all([
      listAllocationStubs(this.#nomad, this.#prefix, signal),
      listDeployments(this.#nomad, this.#prefix, signal),
    ]);
    // A re-prime meanwhile replaced everything with newer lists.
    if (primes !== this.stats.primes || !this.live) return;
    const allocIndex = Number(allocs.index ?? 0n);
    const deploymentIndex = Number(deployments.index ?? 0n);
    const listedAllocs = new Set(allocs.value.map((a) => a.ID));
    const listedDeployments = new Set(deployments.value.map((d) => d.ID));
    const touched = new Set<string>();
    for (const [jobId, inst] of this.#instances) {
      for (const [id, a] of inst.allocs) {
        if (a.ModifyIndex <= allocIndex && !listedAllocs.has(id)) {
          inst.allocs.delete(id);
          touched.add(jobId);
          this.stats.collected++;
        }
      }
      for (const [id, d] of inst.deployments) {
        if (d.ModifyIndex <= deploymentIndex && !listedDeployments.has(id)) {
          inst.deployments.delete(id);
          touched.add(jobId);
          this.stats.collected++;
        }
      }
      if (!inst.job && inst.allocs.size === 0 && inst.deployments.size === 0 && inst.blockedEvals.size === 0) this.#instances.delete(jobId);
    }
    this.stats.resyncs++;
    if (touched.size) this.#notify(touched);
  }

  #setState(state: CacheState): CacheState {
    const was = this.#state;
    this.#state = state;
    for (const l of this.#stateListeners) l(state, was);
    return was;
  }

  #goLive(): void {
    this.#lastError = "";
    const was = this.#setState("live");
    if (was === "down" || was === "refused") this.#log.info("instance cache back: Status answers from memory again");
    this.#wakeWaiters();
    const primed = this.#primed;
    this.#primed = undefined;
    if (primed?.size) this.#notify(primed);
  }

  #goDown(state: "down" | "refused", error: ProviderError): void {
    this.#lastError = error.message;
    this.#memo.clear();
    const was = this.#setState(state);
    // Once per outage, not once per retry.
    if (was === "live" || was === "priming") {
      this.#log.warn("instance cache unavailable: Status reads Nomad directly until the event stream is back", {
        state,
        error: error.message,
      });
    }
  }

  /** Lists everything, swaps it in, and returns the index to open the stream at. */
  async #prime(signal: AbortSignal): Promise<number> {
    const started = performance.now();
    const [jobs, allocs, deployments, evals] = await Promise.all([
      listJobStubs(this.#nomad, this.#prefix, signal),
      listAllocationStubs(this.#nomad, this.#prefix, signal),
      listDeployments(this.#nomad, this.#prefix, signal),
      listBlockedEvaluations(this.#nomad, this.#prefix, signal),
    ]);
    const indexes = [jobs.index, allocs.index, deployments.index, evals.index].map((i) => Number(i ?? 0n));
    const from = Math.min(...indexes);
    const next = new Map<string, CachedInstance>();
    const entry = (jobId: string) => {
      let e = next.get(jobId);
      if (!e) next.set(jobId, (e = emptyInstance()));
      return e;
    };
    const toRead: string[] = [];
    for (const stub of jobs.value) {
      if (!stub.ID.startsWith(this.#prefix)) continue;
      const known = this.#instances.get(stub.ID);
      if (known?.job && known.job.ModifyIndex === stub.ModifyIndex) {
        const e = entry(stub.ID);
        e.job = known.job;
        e.versions = known.versions;
      } else toRead.push(stub.ID);
    }
    await pool(toRead, this.#concurrency, async (id) => {
      try {
        const { value } = await readJob(this.#nomad, id, { signal });
        const e = entry(id);
        e.job = compactJob(value);
        e.versions = [{ index: value.JobModifyIndex ?? 0, version: value.Version ?? 0 }];
      } catch (err) {
        if (!(err instanceof ProviderError && err.code === Code.NotFound)) throw err;
      }
    });
    // Nomad sends only the prefix's objects (and only blocked evaluations); checked again in case a server did not filter.
    for (const a of allocs.value) if (a.JobID.startsWith(this.#prefix)) entry(a.JobID).allocs.set(a.ID, compactAlloc(a, a.JobVersion));
    for (const d of deployments.value) if (d.JobID.startsWith(this.#prefix)) entry(d.JobID).deployments.set(d.ID, compactDeployment(d));
    for (const e of evals.value) if (e.JobID.startsWith(this.#prefix) && e.Status === "blocked") entry(e.JobID).blockedEvals.set(e.ID, e);
    const touched = new Set([...this.#instances.keys(), ...next.keys()]);
    this.#instances = next;
    this.#applied = from;
    this.#memo.clear();
    this.stats.primes++;
    this.stats.lastPrimeMs = performance.now() - started;
    this.#primed = touched;
    return from;
  }

  async #apply(batch: IndexedBatch, signal: AbortSignal): Promise<void> {
    if (batch.index <= this.#applied) return;
    const touched = new Set<string>();
    for (const event of batch.events) {
      const jobId = await this.#applyEvent(event, signal);
      if (jobId) touched.add(jobId);
    }
    for (const jobId of removedWithoutJobEvent(batch, this.#nomad.namespace, this.#prefix)) {
      const inst = this.#instances.get(jobId);
      if (inst?.job && (inst.job.ModifyIndex ?? 0) < batch.index) {
        inst.job = undefined;
        touched.add(jobId);
      }
    }
    this.#applied = batch.index;
    this.stats.batches++;
    this.#wakeWaiters();
    if (touched.size) this.#notify(touched);
  }

  /** Applies one event; returns the job it touched. */
  async #applyEvent(event: StreamEvent, signal: AbortSignal): Promise<string | undefined> {
    const ns = this.#nomad.namespace;
    if (event.Namespace && ns && event.Namespace !== ns) return undefined;
    const p = event.Payload ?? {};
    switch (event.Topic) {
      case "Job": {
        const job = p.Job;
        if (!job?.ID?.startsWith(this.#prefix)) return undefined;
        const inst = this.#entry(job.ID);
        const cur = inst.job;
        if (isJobDeletion(event, job)) {
          if (!cur || (cur.ModifyIndex ?? 0) <= event.Index) inst.job = undefined;
          return job.ID;
        }
        if (cur && !newerJob(job, cur)) return undefined;
        if (cur && (job.CreateIndex ?? 0) !== (cur.CreateIndex ?? 0)) inst.versions = [];
        inst.job = compactJob(job);
        const last = inst.versions[inst.versions.length - 1];
        if (!last || last.version !== (job.Version ?? 0)) inst.versions.push({ index: job.JobModifyIndex ?? event.Index, version: job.Version ?? 0 });
        if (inst.versions.length > 16) inst.versions.splice(0, inst.versions.length - 16);
        return job.ID;
      }
      case "Allocation": {
        const a = p.Allocation;
        if (!a?.JobID?.startsWith(this.#prefix)) return undefined;
        const inst = this.#entry(a.JobID);
        const cur = inst.allocs.get(a.ID);
        if (cur && cur.ModifyIndex > a.ModifyIndex) return undefined;
        const serverIndex = (a.AllocModifyIndex as number | undefined) ?? a.CreateIndex;
        let version: number | undefined =
          a.JobVersion ?? a.Job?.Version ?? (cur && (cur.AllocModifyIndex as number) === serverIndex ? cur.JobVersion : undefined);
        version ??= versionAt(inst, serverIndex);
        if (version === undefined) {
          // The version in force when the server last changed this allocation is older than this cache: ask once.
          this.stats.allocReads++;
          try {
            const full = await readAllocation(this.#nomad, a.ID, { signal });
            version = full.Job?.Version ?? 0;
          } catch (err) {
            if (!(err instanceof ProviderError && err.code === Code.NotFound)) throw err;
            version = inst.job?.Version ?? 0;
          }
        }
        inst.allocs.set(a.ID, compactAlloc(a, version));
        return a.JobID;
      }
      case "Deployment": {
        const d = p.Deployment;
        if (!d?.JobID?.startsWith(this.#prefix)) return undefined;
        const inst = this.#entry(d.JobID);
        const cur = inst.deployments.get(d.ID);
        if (cur && cur.ModifyIndex > d.ModifyIndex) return undefined;
        inst.deployments.set(d.ID, compactDeployment(d));
        return d.JobID;
      }
      case "Evaluation": {
        const e = p.Evaluation;
        if (!e?.JobID?.startsWith(this.#prefix)) return undefined;
        const inst = this.#entry(e.JobID);
        const cur = inst.blockedEvals.get(e.ID);
        if (cur && cur.ModifyIndex > e.ModifyIndex) return undefined;
        if (e.Status === "blocked") inst.blockedEvals.set(e.ID, e);
        else if (!inst.blockedEvals.delete(e.ID)) return undefined;
        return e.JobID;
      }
      default:
        return undefined;
    }
  }

  #entry(jobId: string): CachedInstance {
    let e = this.#instances.get(jobId);
    if (!e) this.#instances.set(jobId, (e = emptyInstance()));
    return e;
  }

  #wakeWaiters(): void {
    if (!this.live) return;
    for (const w of [...this.#waiters]) if (this.#applied >= w.index) w.wake();
  }

  #notify(jobIds: ReadonlySet<string>): void {
    for (const id of jobIds) this.#memo.delete(id);
    for (const l of this.#listeners) l(jobIds);
  }
}

function emptyInstance(): CachedInstance {
  return { job: undefined, versions: [], allocs: new Map(), deployments: new Map(), blockedEvals: new Map() };
}

/** True when every mark of `have` is at least the one of `floor`: the cache has seen what that read saw. */
function atLeast(have: StatusMarks, floor: StatusMarks): boolean {
  return have.job >= floor.job && have.allocations >= floor.allocations && have.deployment >= floor.deployment;
}

/** The allocations of the job's current incarnation (a purged and re-registered job does not inherit the old ones). */
function incarnationAllocs(inst: CachedInstance): AllocListStub[] {
  const created = inst.job?.CreateIndex ?? 0;
  const out: AllocListStub[] = [];
  for (const a of inst.allocs.values()) if (a.CreateIndex >= created) out.push(a);
  return out;
}

/**
 * Jobs this batch removed without saying so in a Job event. Nomad 1.6.0-1.7.4 publish nothing for a removed job (a
 * purge, or garbage collection): the write shows only as the job-deregister evaluation it creates. A stop creates the
 * same evaluation but also publishes the stopped job, written at the batch's index; a purge publishes no such job
 * (1.7.5+ publish the job as it was, older than the batch: isJobDeletion). Later updates of that evaluation were
 * created earlier, so only an evaluation created in this very batch counts.
 */
function removedWithoutJobEvent(batch: IndexedBatch, namespace: string, prefix: string): string[] {
  const deregistered = new Set<string>();
  const written = new Set<string>();
  for (const event of batch.events) {
    if (event.Namespace && namespace && event.Namespace !== namespace) continue;
    const e = event.Payload?.Evaluation;
    if (event.Topic === "Evaluation" && e?.TriggeredBy === "job-deregister" && e.CreateIndex === batch.index && e.JobID?.startsWith(prefix)) {
      deregistered.add(e.JobID);
    }
    const job = event.Payload?.Job;
    if (event.Topic === "Job" && job?.ID && (job.ModifyIndex ?? 0) === batch.index) written.add(job.ID);
  }
  return [...deregistered].filter((id) => !written.has(id));
}

/**
 * Whether a Job event reports the job's removal (a purge, or garbage collection). Nomad 2.0 says so (JobEvent.Deleted);
 * 1.7.5-1.11 publish the job as it was before, so its ModifyIndex is older than the event, while a stop (deregister
 * without purge) publishes the stopped job written at the event's index. 1.6.0-1.7.4 publish no Job event for a
 * removal at all: removedWithoutJobEvent.
 */
function isJobDeletion(event: StreamEvent, job: Job): boolean {
  if (event.Payload?.Deleted === true) return true;
  const deregister = event.Type === "JobDeregistered" || event.Type === "JobBatchDeregistered";
  return deregister && (job.ModifyIndex ?? 0) < event.Index;
}

/** A job event is news when it is a newer incarnation, or the same incarnation at a version and index not older. */
function newerJob(job: Job, cur: Job): boolean {
  const created = job.CreateIndex ?? 0;
  const curCreated = cur.CreateIndex ?? 0;
  if (created !== curCreated) return created > curCreated;
  return (job.Version ?? 0) >= (cur.Version ?? 0) && (job.ModifyIndex ?? 0) >= (cur.ModifyIndex ?? 0);
}

/** The job version in force at `index`, if this cache saw it being registered. */
function versionAt(inst: CachedInstance, index: number): number | undefined {
  for (let i = inst.versions.length - 1; i >= 0; i--) {
    const v = inst.versions[i]!;
    if (v.index <= index) return v.version;
  }
  return undefined;
}

/** Only what Status reads of a job: identity, version, state, meta and per group the count, static ports and tasks. */
export function compactJob(job: Job): Job {
  return {
    ID: job.ID,
    Name: job.Name,
    Type: job.Type,
    Namespace: job.Namespace ?? null,
    Meta: job.Meta ?? null,
    Stop: job.Stop ?? false,
    Status: job.Status ?? "",
    Version: job.Version ?? 0,
    CreateIndex: job.CreateIndex ?? 0,
    ModifyIndex: job.ModifyIndex ?? 0,
    JobModifyIndex: job.JobModifyIndex ?? 0,
    TaskGroups: (job.TaskGroups ?? []).map((g) => ({
      Name: g.Name,
      Count: g.Count,
      Networks: (g.Networks ?? []).map((n) => ({ ReservedPorts: (n.ReservedPorts ?? []).map((p) => ({ Label: p.Label })) })),
      Tasks: (g.Tasks ?? []).map((t) => ({ Name: t.Name, Lifecycle: t.Lifecycle ?? null, Meta: t.Meta ?? null })),
    })),
  } as Job;
}

function compactTaskState(ts: TaskState): TaskState {
  const events = ts.Events ?? [];
  const last = events[events.length - 1];
  return {
    State: ts.State,
    Failed: ts.Failed,
    Restarts: ts.Restarts ?? 0,
    StartedAt: ts.StartedAt ?? null,
    Events: last ? [{ Type: last.Type, Time: last.Time, Message: last.Message ?? "", DisplayMessage: last.DisplayMessage ?? "" }] : [],
  };
}

/** Only what Status reads of an allocation, with its ports resolved and its job version. */
export function compactAlloc(a: AllocListStub | Allocation, jobVersion: number): AllocListStub {
  const states: Record<string, TaskState> = {};
  for (const [name, ts] of Object.entries(a.TaskStates ?? {})) states[name] = compactTaskState(ts);
  const ports = allocatedPorts(a);
  return {
    ID: a.ID,
    Name: a.Name,
    NodeID: a.NodeID,
    JobID: a.JobID,
    TaskGroup: a.TaskGroup,
    JobVersion: jobVersion,
    DesiredStatus: a.DesiredStatus,
    ClientStatus: a.ClientStatus,
    ClientDescription: a.ClientDescription ?? "",
    DeploymentStatus: a.DeploymentStatus ? { Healthy: a.DeploymentStatus.Healthy ?? null } : null,
    TaskStates: states,
    AllocatedResources: ports.length ? { Shared: { Ports: ports } } : null,
    CreateIndex: a.CreateIndex,
    ModifyIndex: a.ModifyIndex,
    AllocModifyIndex: (a.AllocModifyIndex as number | undefined) ?? a.CreateIndex,
  };
}

function compactDeployment(d: Deployment): Deployment {
  return {
    ID: d.ID,
    JobID: d.JobID,
    JobVersion: d.JobVersion,
    Status: d.Status,
    StatusDescription: d.StatusDescription ?? "",
    CreateIndex: d.CreateIndex,
    ModifyIndex: d.ModifyIndex,
  };
}

async function pool<T>(items: T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, worker));
}


const caches = new WeakMap<NomadHttp, InstanceCache>();

/** The process-wide cache of a transport. */
export function instanceCache(nomad: NomadHttp, log: Logger): InstanceCache {
  let cache = caches.get(nomad);
  if (!cache) {
    cache = new InstanceCache(nomad, log.child("instance-cache"));
    caches.set(nomad, cache);
  }
  return cache;
}

/** The transport's cache if something started it (HealthCheck reports on it without creating one). */
export function startedInstanceCache(nomad: NomadHttp): InstanceCache | undefined {
  const cache = caches.get(nomad);
  return cache && cache.state !== "idle" ? cache : undefined;
}

/** What HealthCheck says of the cache: never unhealthy (Status then reads Nomad directly), but the operator sees it. */
export function cacheHealth(cache: InstanceCache): { name: string; healthy: boolean; message: string } {
  const message =
    cache.state === "live"
      ? `live: ${cache.size} instances from the event stream, applied index ${cache.appliedIndex}; Status answers from memory`
      : cache.state === "priming"
        ? "priming: listing the instances; Status reads Nomad directly meanwhile"
        : `${cache.state}: ${cache.problem || "the event stream is unavailable"}; Status reads Nomad directly until it is back`;
  return { name: "instance_cache", healthy: true, message };
}
