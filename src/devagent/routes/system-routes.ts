// PUT /v1/system/gc and PUT /v1/system/reconcile/summaries (command/agent/system_endpoint.go, nomad/system_endpoint.go).
// Any other method is 405 "Invalid method". Both RPCs want a management token (acl.ts: a route not listed in
// routeCapabilities needs it). Both handlers return nothing, which Nomad's HTTP wrapper answers as 200 with an empty
// body, no Content-Type and no X-Nomad-Index.
//
// Nomad answers GC as soon as it has enqueued the core scheduler's force-gc evaluation and collects a moment later;
// this agent collects before it answers, so the caller's next read already sees the result.

import { parseBlocking } from "../http/blocking-query.js";
import { sendEmpty } from "../http/reply.js";
import type { Router } from "../http/router.js";
import { forceGarbageCollect } from "../sched/garbage-collection.js";
import { jobKey } from "../state/state-store.js";
import type { RouteDeps } from "./route-deps.js";

export function registerSystemRoutes(router: Router, deps: RouteDeps): void {
  const { store, scheduler } = deps;

  router.add("PUT", "/v1/system/gc", (ctx) => {
    // The handler parses the query options first (s.parse): a bad ?wait or ?index is a 400 before any RPC.
    parseBlocking(ctx.query);
    forceGarbageCollect(store, scheduler);
    sendEmpty(ctx.res);
  });

  // ReconcileJobSummaries (state store): every job's summary is rebuilt at a fresh index. A periodic or parameterized
  // job's is rebuilt from its children's statuses alone, which leaves it no task groups (see SummaryReconciliation).
  router.add("PUT", "/v1/system/reconcile/summaries", (ctx) => {
    parseBlocking(ctx.query);
    store.write((txn) => {
      for (const job of store.jobs.values()) {
        const parent = !!job.Periodic || (!!job.ParameterizedJob && !job.Dispatched);
        store.summariesReconciled.set(jobKey(job.Namespace, job.ID), { index: txn.index, groupsCleared: parent });
      }
      txn.touch("job_summary");
    });
    sendEmpty(ctx.res);
  });
}
