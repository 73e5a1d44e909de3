// /v1/allocations, /v1/allocation/:id, /v1/allocation/:id/stop and the evaluation/deployment read endpoints.

import { blockingQuery } from "../http/blocking-query.js";
import { applyListFilter, listFilter } from "../http/list-filter.js";
import { badRequest, HttpError, notFound } from "../http/http-error.js";
import { readJson, type RequestContext } from "../http/request-context.js";
import { sendJson, setIndex, setQueryMeta } from "../http/reply.js";
import type { Router } from "../http/router.js";
import { allocStub } from "../sched/alloc-factory.js";
import { canariesHealthy, deployPaused, deployRunning, isActive, setStatus } from "../sched/deployments.js";
import { evalJson, evalStub } from "../sched/evaluations.js";
import { jobKey, type Json } from "../state/state-store.js";
import type { RouteDeps } from "./route-deps.js";

const inNs = (ctx: RequestContext, ns: string) => ctx.namespace === "*" || ctx.namespace === ns;

export function registerAllocRoutes(router: Router, deps: RouteDeps): void {
  const { store, scheduler } = deps;

  router.add("GET", "/v1/allocations", (ctx) =>
    blockingQuery(ctx, store, () => {
      const prefix = ctx.query.get("prefix") ?? "";
      const filter = listFilter(ctx.query);
      // A filter sees the stored allocation (Job, Metrics, ...), not the stub the list answers with.
      const allocs = [...store.allocs.values()].filter((a) => inNs(ctx, a.Namespace) && a.ID.startsWith(prefix));
      const body = applyListFilter(allocs, filter).map((a) => allocStub(a, ctx.query.get("resources") === "true"));
      return { index: store.indexOf("allocs"), body };
    }),
  );
  router.add("GET", "/v1/allocation/:id", (ctx) =>
    blockingQuery(ctx, store, () => {
      const a = store.allocs.get(ctx.params.id!);
      if (!a || !inNs(ctx, a.Namespace)) {
        setQueryMeta(ctx.res, store.indexOf("allocs"));
        throw notFound("alloc not found");
      }
      return { index: a.ModifyIndex, body: a };
    }),
  );
  router.add(["PUT", "POST"], "/v1/allocation/:id/stop", (ctx) => {
    const a = store.allocs.get(ctx.params.id!);
    if (!a || !inNs(ctx, a.Namespace)) throw notFound("alloc not found");
    const job = store.jobs.get(jobKey(a.Namespace, a.JobID));
    let ev: Json | undefined;
    store.write((txn) => {
      a.DesiredTransition = { ...a.DesiredTransition, Migrate: true };
      a.ModifyIndex = txn.index;
      a.AllocModifyIndex = txn.index;
      txn.touch("allocs");
      ev = scheduler.createEval(txn, job ?? { ID: a.JobID, Namespace: a.Namespace, Type: a.Job?.Type, Priority: a.Job?.Priority }, "alloc-stop");
    });
    scheduler.process(a.Namespace, a.JobID, ev!.ID);
    setIndex(ctx.res, ev!.CreateIndex);
    sendJson(ctx.res, { EvalID: ev!.ID, Index: ev!.CreateIndex });
  });

  router.add("GET", "/v1/evaluations", (ctx) =>
    blockingQuery(ctx, store, () => {
      const prefix = ctx.query.get("prefix") ?? "";
      // Nomad's older filters, exact matches (command/agent/eval_endpoint.go; EvalListRequest.ShouldBeFiltered).
      const status = ctx.query.get("status") ?? "";
      const job = ctx.query.get("job") ?? "";
      if (ctx.query.get("filter") && (status || job)) throw badRequest("Filter expression cannot be used with other filter parameters");
      const filter = listFilter(ctx.query);
      const evals = [...store.evals.values()].filter(
        (e) => inNs(ctx, e.Namespace) && e.ID.startsWith(prefix) && (!status || e.Status === status) && (!job || e.JobID === job),
      );
      // The stored evaluation has every field; the answer leaves out the empty ones (evalJson), a filter does not.
      const body = applyListFilter(evals, filter).map(evalJson);
      return { index: store.indexOf("evals"), body };
    }),
  );
  router.add("GET", "/v1/evaluation/:id", (ctx) =>
    blockingQuery(ctx, store, () => {
      const ev = store.evals.get(ctx.params.id!);
      if (!ev || !inNs(ctx, ev.Namespace)) {
        setQueryMeta(ctx.res, store.indexOf("evals"));
        throw notFound("eval not found");
      }
      const body = evalJson(ev);
      if (ctx.query.get("related") === "true") {
        body.RelatedEvals = store.evalsOfJob(ev.Namespace, ev.JobID).filter((e) => e.ID !== ev.ID).map(evalStub);
      }
      return { index: ev.ModifyIndex, body };
    }),
  );
  router.add("GET", "/v1/evaluation/:id/allocations", (ctx) =>
    blockingQuery(ctx, store, () => ({
      index: store.indexOf("allocs"),
      body: [...store.allocs.values()].filter((a) => a.EvalID === ctx.params.id).map((a) => allocStub(a)),
    })),
  );

  registerDeploymentRoutes(router, deps);
}

function registerDeploymentRoutes(router: Router, deps: RouteDeps): void {
  const { store, scheduler } = deps;
  const find = (ctx: RequestContext, id: string) => {
    const d = store.deployments.get(id);
    if (!d || !inNs(ctx, d.Namespace)) throw notFound("deployment not found");
    return d;
  };
  router.add("GET", "/v1/deployments", (ctx) =>
    blockingQuery(ctx, store, () => {
      const filter = listFilter(ctx.query);
      const deployments = [...store.deployments.values()].filter((d) => inNs(ctx, d.Namespace) && d.ID.startsWith(ctx.query.get("prefix") ?? ""));
      return { index: store.indexOf("deployments"), body: applyListFilter(deployments, filter) };
    }),
  );
  router.add("GET", "/v1/deployment/:id", (ctx) =>
    blockingQuery(ctx, store, () => {
      const d = store.deployments.get(ctx.params.id!);
      if (!d || !inNs(ctx, d.Namespace)) {
        setQueryMeta(ctx.res, store.indexOf("deployments"));
        throw notFound("deployment not found");
      }
      return { index: d.ModifyIndex, body: d };
    }),
  );
  router.add("GET", "/v1/deployment/allocations/:id", (ctx) =>
    blockingQuery(ctx, store, () => ({
      index: store.indexOf("allocs"),
      body: [...store.allocs.values()].filter((a) => a.DeploymentID === ctx.params.id).map((a) => allocStub(a)),
    })),
  );
  router.add(["PUT", "POST"], "/v1/deployment/promote/:id", async (ctx) => {
    const body = await readJson(ctx.req, { optional: true });
    if (body.DeploymentID && body.DeploymentID !== ctx.params.id) throw badRequest("Deployment ID does not match");
    const d = find(ctx, ctx.params.id!);
    if (!isActive(d)) throw new HttpError(500, `can't promote terminal deployment: status "${d.Status}"`);
    const groups: string[] = body.All || !body.Groups?.length ? Object.keys(d.TaskGroups) : body.Groups;
    const canaryGroups = groups.filter((g) => d.TaskGroups[g]?.DesiredCanaries > 0);
    if (!canaryGroups.length) throw new HttpError(500, "No canaries to promote");
    const check = canariesHealthy({ ...d, TaskGroups: Object.fromEntries(canaryGroups.map((g) => [g, d.TaskGroups[g]])) }, [...store.allocs.values()]);
    if (!check.ok) throw new HttpError(500, `Task group "${check.group}" has ${check.healthy}/${check.desired} healthy allocations`);
    const job = store.jobs.get(jobKey(d.Namespace, d.JobID));
    const r = deploymentWrite(deps, d, job, (txn) => scheduler.promoteGroups(txn, d, canaryGroups), "deployment-watcher");
    setIndex(ctx.res, r.Index);
    sendJson(ctx.res, r);
  });
  // Nomad's Deployment.Pause: Pause=true pauses (no evaluation), false resumes (status running and an evaluation).
  router.add(["PUT", "POST"], "/v1/deployment/pause/:id", async (ctx) => {
    const body = await readJson(ctx.req, { optional: true });
    if (!body.DeploymentID) throw badRequest("DeploymentID must be specified");
    if (body.DeploymentID !== ctx.params.id) throw badRequest("Deployment ID does not match");
    const d = store.deployments.get(ctx.params.id!);
    if (!d || !inNs(ctx, d.Namespace)) throw new HttpError(500, "deployment not found");
    const pause = body.Pause === true;
    if (!isActive(d)) throw new HttpError(500, pause ? "can't pause terminal deployment" : "can't resume terminal deployment");
    const job = pause ? undefined : store.jobs.get(jobKey(d.Namespace, d.JobID));
    const r = deploymentWrite(deps, d, job, (txn) => setStatus(d, txn, pause ? "paused" : "running", pause ? deployPaused : deployRunning), "deployment-watcher");
    setIndex(ctx.res, r.Index);
    sendJson(ctx.res, r);
  });
  router.add(["PUT", "POST"], "/v1/deployment/fail/:id", async (ctx) => {
    await readJson(ctx.req, { optional: true });
    const d = find(ctx, ctx.params.id!);
    if (!isActive(d)) throw new HttpError(500, `can't fail terminal deployment: status "${d.Status}"`);
    const job = store.jobs.get(jobKey(d.Namespace, d.JobID));
    let revert: number | undefined;
    const r = deploymentWrite(deps, d, job, (txn) => (revert = scheduler.failDeployment(txn, d, "Deployment marked as failed")), "deployment-watcher");
    if (revert !== undefined) {
      scheduler.revertHook(d.Namespace, d.JobID, revert);
      r.RevertedJobVersion = revert;
    }
    setIndex(ctx.res, r.Index);
    sendJson(ctx.res, r);
  });
}

function deploymentWrite(deps: RouteDeps, d: Json, job: Json | undefined, change: (txn: any) => void, trigger: string): Json {
  let ev: Json | undefined;
  const index = deps.store.write((txn) => {
    change(txn);
    if (job) ev = deps.scheduler.createEval(txn, job, trigger, { DeploymentID: d.ID });
    return txn.index;
  });
  if (ev) deps.scheduler.process(d.Namespace, d.JobID, ev.ID);
  // Nomad's DeploymentUpdateResponse: RevertedJobVersion is a *uint64, so null unless a failure reverted the job.
  return { EvalID: ev?.ID ?? "", EvalCreateIndex: ev ? index : 0, DeploymentModifyIndex: index, RevertedJobVersion: null, Index: index };
}
