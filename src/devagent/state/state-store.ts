// The dev agent's single source of truth: Nomad's tables (jobs, job versions, allocations, evaluations, deployments)
// held in memory, with one raft-like index that every write bumps. Blocking queries wait on `changed()`, the event
// stream reads the events every write publishes.

export type Json = Record<string, any>;
export type Table = "jobs" | "job_versions" | "job_summary" | "allocs" | "evals" | "deployments" | "scaling_events" | "variables";

export interface StoreEvent {
  Topic: "Job" | "Allocation" | "Evaluation" | "Deployment";
  Type: string;
  Key: string;
  Namespace: string;
  FilterKeys: string[] | null;
  Index: number;
  Payload: Json;
}

/**
 * What Nomad's ReconcileJobSummaries left in a job's summary: ModifyIndex `index`, Queued back to 0 until an
 * evaluation reports queued allocations again; a periodic or parameterized job's summary rebuilt with no task groups at
 * all (`groupsCleared`), until the job is registered again (updateSummaryWithJob adds the missing groups back).
 */
export interface SummaryReconciliation {
  index: number;
  groupsCleared: boolean;
}

export interface Txn {
  readonly index: number;
  touch(...tables: Table[]): void;
  event(event: Omit<StoreEvent, "Index">): void;
}

export function jobKey(namespace: string, id: string): string {
  return `${namespace}\u0000${id}`;
}

/**
 * A table keyed by object ID that also indexes its rows by job (Nomad's memdb has a "job" index on allocs, evals and
 * deployments), so per-job reads cost what the job has, not what the cluster has. Rows never change job.
 */
export class JobIndexedTable extends Map<string, Json> {
  readonly #byJob = new Map<string, Map<string, Json>>();

  override set(id: string, row: Json): this {
    const previous = super.get(id);
    if (previous) this.#byJob.get(jobKey(previous.Namespace, previous.JobID))?.delete(id);
    super.set(id, row);
    const key = jobKey(row.Namespace, row.JobID);
    let rows = this.#byJob.get(key);
    if (!rows) this.#byJob.set(key, (rows = new Map()));
    rows.set(id, row);
    return this;
  }

  override delete(id: string): boolean {
    const previous = super.get(id);
    if (previous) {
      const key = jobKey(previous.Namespace, previous.JobID);
      const rows = this.#byJob.get(key);
      rows?.delete(id);
      if (rows?.size === 0) this.#byJob.delete(key);
    }
    return super.delete(id);
  }

  override clear(): void {
    this.#byJob.clear();
    super.clear();
  }

  /** The job's rows, in insertion order (as a scan of the whole table would give them). */
  ofJob(namespace: string, jobId: string): Json[] {
    const rows = this.#byJob.get(jobKey(namespace, jobId));
    return rows ? [...rows.values()] : [];
  }
}

export class StateStore {
  private index = 1;
  private readonly tableIndex = new Map<Table, number>();
  private wake: { promise: Promise<void>; resolve: () => void } = deferred();
  private readonly listeners = new Set<(events: StoreEvent[]) => void>();

  /** Current job per namespace/ID. */
  readonly jobs = new Map<string, Json>();
  /** Every stored version of a job, newest first. */
  readonly jobVersions = new Map<string, Json[]>();
  readonly allocs = new JobIndexedTable();
  readonly evals = new JobIndexedTable();
  readonly deployments = new JobIndexedTable();
  /** Scaling events per job and group (GET /v1/job/:id/scale "Events"). */
  readonly scalingEvents = new Map<string, Record<string, Json[]>>();
  /**
   * Per job, the last PUT /v1/system/reconcile/summaries, which rebuilt its JobSummary (see SummaryReconciliation).
   * Summaries are otherwise derived from the job's allocations and evaluations when served.
   */
  readonly summariesReconciled = new Map<string, SummaryReconciliation>();
  /** Nomad Variables per namespace/path (jobKey(namespace, path)), stored decrypted: there is no keyring here. */
  readonly variables = new Map<string, Json>();

  latestIndex(): number {
    return this.index;
  }

  /** Index of the last write that touched any of the tables (at least 1, like Nomad). */
  indexOf(...tables: Table[]): number {
    let max = 1;
    for (const t of tables) max = Math.max(max, this.tableIndex.get(t) ?? 0);
    return max;
  }

  /** Runs one write at a fresh index; everything it touches and publishes carries that index. */
  write<T>(fn: (txn: Txn) => T): T {
    const index = ++this.index;
    const touched = new Set<Table>();
    const events: StoreEvent[] = [];
    const txn: Txn = {
      index,
      touch: (...tables) => tables.forEach((t) => touched.add(t)),
      event: (e) => events.push({ ...e, Index: index }),
    };
    const result = fn(txn);
    for (const t of touched) this.tableIndex.set(t, index);
    const { resolve } = this.wake;
    this.wake = deferred();
    resolve();
    if (events.length) for (const l of this.listeners) l(events);
    return result;
  }

  /** Resolves at the next write. */
  changed(): Promise<void> {
    return this.wake.promise;
  }

  subscribe(listener: (events: StoreEvent[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  allocsOfJob(namespace: string, jobId: string): Json[] {
    return this.allocs.ofJob(namespace, jobId);
  }

  evalsOfJob(namespace: string, jobId: string): Json[] {
    return this.evals.ofJob(namespace, jobId);
  }

  /**
   * Nomad's DeleteJobTxn (a purge, or the garbage collector's batch deregister): the job, its versions, its summary
   * and its scaling events go; its allocations, evaluations and deployments stay (the garbage collector reaps those
   * on its own terms). Returns the job as it was, undefined when there is none.
   */
  deleteJob(txn: Txn, namespace: string, id: string): Json | undefined {
    const key = jobKey(namespace, id);
    const job = this.jobs.get(key);
    if (!job) return undefined;
    this.jobs.delete(key);
    this.jobVersions.delete(key);
    this.scalingEvents.delete(key);
    this.summariesReconciled.delete(key);
    txn.touch("jobs", "job_versions", "job_summary", "scaling_events");
    return job;
  }

  /** Deployments of a job, newest first. */
  deploymentsOfJob(namespace: string, jobId: string): Json[] {
    return this.deployments.ofJob(namespace, jobId).sort((a, b) => b.CreateIndex - a.CreateIndex);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
