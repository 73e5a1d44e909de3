// /v1/jobs, /v1/job/:id/... and /v1/validate/job: Nomad's job HTTP endpoints (command/agent/job_endpoint.go).

import { blockingQuery } from "../http/blocking-query.js";
import { applyListFilter, listFilter } from "../http/list-filter.js";
import { badRequest, HttpError, methodNotAllowed, notFound } from "../http/http-error.js";
import { readJson, type RequestContext } from "../http/request-context.js";
import { sendJson, setIndex, setQueryMeta } from "../http/reply.js";
import type { Router } from "../http/router.js";
import { allocStub, allocTerminal } from "../sched/alloc-factory.js";
import { isActive } from "../sched/deployments.js";
import { evalJson } from "../sched/evaluations.js";
import { jobStub, jobSummary } from "../sched/job-status.js";
import { jobKey, type Json } from "../state/state-store.js";
import { formatErrors, formatWarnings } from "../jobs/job-validate.js";
import { versionDiffs } from "../jobs/job-diff.js";
import type { RouteDeps } from "./route-deps.js";

const isWrite = (m: string | undefined) => m === "PUT" || m === "POST";

function boolParam(ctx: RequestContext, name: string): boolean {
  const v = ctx.query.get(name);
  if (v === null || v === "") return false;
  if (/^(1|t|T|TRUE|true|True)$/.test(v)) return true;
  if (/^(0|f|F|FALSE|false|False)$/.test(v)) return false;
  throw new HttpError(500, `Failed to parse value of "${name}" (${v}) as a bool: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

export function registerJobRoutes(router: Router, deps: RouteDeps): void {
  const { store, jobs } = deps;
  const inNs = (ctx: RequestContext, ns: string) => ctx.namespace === "*" || ctx.namespace === ns;

  router.add("GET", "/v1/jobs", (ctx) =>
    blockingQuery(ctx, store, () => {
      const prefix = ctx.query.get("prefix") ?? "";
      const withMeta = boolParam(ctx, "meta");
      const filter = listFilter(ctx.query);
      // Nomad walks jobs in ID order and evaluates a filter on the stored job, not on the stub it answers with.
      const jobs = [...store.jobs.values()]
        .filter((j) => inNs(ctx, j.Namespace) && j.ID.startsWith(prefix))
        .sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
      const body = applyListFilter(jobs, filter).map((j) =>
        jobStub(j, store.allocsOfJob(j.Namespace, j.ID), withMeta, store.evalsOfJob(j.Namespace, j.ID), store.summariesReconciled.get(jobKey(j.Namespace, j.ID))),
      );
      return { index: store.indexOf("jobs", "job_summary", "allocs", "evals"), body };
    }),
  );
  router.add(["PUT", "POST"], "/v1/jobs", async (ctx) => {
    const result = jobs.register(await readJson(ctx.req), ctx.query);
    setIndex(ctx.res, result.Index);
    sendJson(ctx.res, result);
  });
  router.add(["PUT", "POST"], "/v1/validate/job", async (ctx) => {
    const body = await readJson(ctx.req);
    if (typeof body !== "object" || body === null || body.Job === undefined || body.Job === null) throw badRequest("Job must be specified");
    const { job, warnings } = jobs.prepare(body, ctx.query);
    const errors = jobs.validate(job);
    sendJson(ctx.res, {
      DriverConfigValidated: true,
      ValidationErrors: errors,
      Error: errors.length ? formatErrors(errors) : "",
      Warnings: formatWarnings(warnings),
    });
  });
  router.add(["GET", "PUT", "POST", "DELETE"], "/v1/job/*rest", (ctx) => jobSpecific(ctx, deps));
}

const suffixes = ["allocations", "evaluations", "versions", "revert", "deployments", "deployment", "stable", "scale", "summary", "evaluate"];

/** Suffixes Nomad's JobSpecificRequest routes that this agent does not serve: 404, never a job named "x/plan". */
const unserved = ["periodic/force", "dispatch", "services", "submission", "actions", "action", "tag"];

async function jobSpecific(ctx: RequestContext, deps: RouteDeps): Promise<void> {
  const rest = ctx.params.rest!;
  if (unserved.some((s) => rest.endsWith(`/${s}`))) throw new HttpError(404, "");
  if (rest.endsWith("/plan")) return jobPlan(ctx, deps, rest.slice(0, -"/plan".length));
  for (const s of suffixes) {
    if (rest.endsWith(`/${s}`)) return jobSub(ctx, deps, rest.slice(0, -s.length - 1), s);
  }
  return jobCrud(ctx, deps, rest);
}

/** PUT/POST /v1/job/:id/plan (command/agent/job_endpoint.go jobPlan): Nomad's JobPlanResponse. */
async function jobPlan(ctx: RequestContext, deps: RouteDeps, jobId: string): Promise<void> {
  if (!isWrite(ctx.req.method)) throw methodNotAllowed();
  const body = await readJson(ctx.req);
  const r = deps.jobs.plan(body, ctx.query, jobId);
  setIndex(ctx.res, r.Index);
  sendJson(ctx.res, r);
}

async function jobCrud(ctx: RequestContext, deps: RouteDeps, jobId: string): Promise<void> {
  const { store, jobs } = deps;
  const m = ctx.req.method;
  if (m === "GET") {
    return blockingQuery(ctx, store, () => {
      const job = store.jobs.get(jobKey(ctx.namespace, jobId));
      if (!job) {
        setQueryMeta(ctx.res, store.indexOf("jobs"));
        throw notFound("job not found");
      }
      return { index: job.ModifyIndex, body: job };
    });
  }
  if (isWrite(m)) {
    const result = jobs.register(await readJson(ctx.req), ctx.query, jobId);
    setIndex(ctx.res, result.Index);
    return sendJson(ctx.res, result);
  }
  if (m === "DELETE") {
    const result = jobs.deregister(ctx.namespace, jobId, boolParam(ctx, "purge"));
    setIndex(ctx.res, result.Index);
    return sendJson(ctx.res, result);
  }
  throw methodNotAllowed();
}

async function jobSub(ctx: RequestContext, deps: RouteDeps, jobId: string, sub: string): Promise<void> {
  const { store, jobs, scheduler } = deps;
  const get = ctx.req.method === "GET";
  const key = jobKey(ctx.namespace, jobId);
  switch (sub) {
    case "allocations":
      if (!get) throw methodNotAllowed();
      return blockingQuery(ctx, store, () => {
        const all = boolParam(ctx, "all");
        const list = store
          .allocsOfJob(ctx.namespace, jobId)
          .filter((a) => all || a.Job?.CreateIndex === store.jobs.get(key)?.CreateIndex || !store.jobs.get(key))
          .map((a) => allocStub(a, boolParam(ctx, "resources")));
        return { index: store.indexOf("allocs"), body: list };
      });
    case "evaluations":
      if (!get) throw methodNotAllowed();
      return blockingQuery(ctx, store, () => ({
        index: store.indexOf("evals"),
        body: store.evalsOfJob(ctx.namespace, jobId).map(evalJson),
      }));
    case "versions":
      if (!get) throw methodNotAllowed();
      const diffs = boolParam(ctx, "diffs");
      return blockingQuery(ctx, store, () => {
        const versions = store.jobVersions.get(key) ?? [];
        if (!versions.length) {
          setQueryMeta(ctx.res, store.indexOf("job_versions"));
          throw notFound("job versions not found");
        }
        const index = store.indexOf("job_versions", "jobs");
        return { index, body: { Versions: versions, Diffs: diffs ? versionDiffs(versions) : null, Index: index, LastContact: 0, KnownLeader: true, NextToken: "" } };
      });
    case "revert": {
      if (!isWrite(ctx.req.method)) throw methodNotAllowed();
      const body = await readJson(ctx.req);
      if (!body.JobID) throw badRequest("JobID must be specified");
      if (body.JobID !== jobId) throw badRequest("Job ID does not match");
      const r = jobs.revert(ctx.namespace, jobId, body);
      setQueryMeta(ctx.res, r.Index);
      return sendJson(ctx.res, r);
    }
    case "stable": {
      if (!isWrite(ctx.req.method)) throw methodNotAllowed();
      const body = await readJson(ctx.req);
      if (!body.JobID) throw badRequest("JobID must be specified");
      if (body.JobID !== jobId) throw badRequest("Job ID does not match");
      const index = jobs.setStable(ctx.namespace, jobId, body.JobVersion ?? 0, !!body.Stable);
      setIndex(ctx.res, index);
      return sendJson(ctx.res, { Index: index, JobModifyIndex: index });
    }
    case "deployments":
      if (!get) throw methodNotAllowed();
      return blockingQuery(ctx, store, () => ({ index: store.indexOf("deployments"), body: store.deploymentsOfJob(ctx.namespace, jobId) }));
    case "deployment":
      if (!get) throw methodNotAllowed();
      return blockingQuery(ctx, store, () => ({
        index: store.indexOf("deployments"),
        body: store.deploymentsOfJob(ctx.namespace, jobId)[0] ?? null,
      }));
    case "summary":
      if (!get) throw methodNotAllowed();
      return blockingQuery(ctx, store, () => {
        const job = store.jobs.get(key);
        if (!job) throw notFound("job not found");
        const body = jobSummary(job, store.allocsOfJob(job.Namespace, job.ID), store.evalsOfJob(job.Namespace, job.ID), store.summariesReconciled.get(key));
        return { index: store.indexOf("jobs", "job_summary", "allocs", "evals"), body };
      });
    case "evaluate": {
      if (!isWrite(ctx.req.method)) throw methodNotAllowed();
      const job = store.jobs.get(key);
      if (!job) throw new HttpError(500, "job not found");
      const ev = scheduler.evaluate(job, "job-register");
      setIndex(ctx.res, ev.CreateIndex);
      return sendJson(ctx.res, { EvalID: ev.ID, EvalCreateIndex: ev.CreateIndex, JobModifyIndex: job.JobModifyIndex, Warnings: "", Index: ev.CreateIndex, LastContact: 0, KnownLeader: false, NextToken: "" });
    }
    case "scale":
      if (get) return blockingQuery(ctx, store, () => scaleStatus(ctx, deps, jobId));
      if (!isWrite(ctx.req.method)) throw methodNotAllowed();
      return scaleAction(ctx, deps, jobId);
  }
}

async function scaleAction(ctx: RequestContext, deps: RouteDeps, jobId: string): Promise<void> {
  const body = await readJson(ctx.req);
  const target = body.Target ?? {};
  if (target.Job && target.Job !== jobId) throw badRequest("job ID in payload did not match URL");
  const r = deps.jobs.scale(ctx.namespace, jobId, body);
  setIndex(ctx.res, r.Index);
  sendJson(ctx.res, r);
}

function scaleStatus(ctx: RequestContext, deps: RouteDeps, jobId: string): { index: number; body: Json } {
  const { store } = deps;
  const job = store.jobs.get(jobKey(ctx.namespace, jobId));
  if (!job) {
    setQueryMeta(ctx.res, store.indexOf("jobs"));
    throw notFound("job not found");
  }
  const allocs = store.allocsOfJob(job.Namespace, job.ID).filter((a) => !allocTerminal(a));
  const latest = store.deploymentsOfJob(job.Namespace, job.ID)[0];
  const events = store.scalingEvents.get(jobKey(job.Namespace, job.ID)) ?? {};
  const groups: Json = {};
  for (const g of job.TaskGroups) {
    const mine = allocs.filter((a) => a.TaskGroup === g.Name);
    groups[g.Name] = {
      Desired: g.Count,
      Placed: mine.length,
      Running: mine.filter((a) => a.ClientStatus === "running").length,
      Healthy: mine.filter((a) => a.DeploymentStatus?.Healthy === true).length,
      Unhealthy: mine.filter((a) => a.DeploymentStatus?.Healthy === false).length,
      Events: events[g.Name] ?? null,
    };
  }
  void isActive(latest ?? { Status: "" });
  return {
    index: store.indexOf("jobs", "allocs", "scaling_events"),
    body: {
      JobID: job.ID,
      Namespace: job.Namespace,
      JobCreateIndex: job.CreateIndex,
      JobModifyIndex: job.ModifyIndex,
      JobStopped: job.Stop,
      TaskGroups: groups,
    },
  };
}
