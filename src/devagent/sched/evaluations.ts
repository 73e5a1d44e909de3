// Evaluation objects. Nomad encodes structs.Evaluation with omitempty on every field, so empty values are left out
// of the JSON; `evalJson` does that at serving time while the store keeps every field.

import type { Json, Txn } from "../state/state-store.js";
import { newId, nowNs } from "../state/nomad-time.js";

export function newEvaluation(txn: Txn, job: Json, triggeredBy: string, extra: Json = {}): Json {
  const now = nowNs();
  return {
    ID: newId(),
    Namespace: job.Namespace,
    Priority: job.Priority ?? 50,
    Type: job.Type ?? "service",
    TriggeredBy: triggeredBy,
    JobID: job.ID,
    JobModifyIndex: job.JobModifyIndex ?? 0,
    NodeID: "",
    NodeModifyIndex: 0,
    DeploymentID: "",
    Status: "pending",
    StatusDescription: "",
    Wait: 0,
    WaitUntil: null,
    NextEval: "",
    PreviousEval: "",
    BlockedEval: "",
    RelatedEvals: null,
    FailedTGAllocs: null,
    ClassEligibility: null,
    QuotaLimitReached: "",
    EscapedComputedClass: false,
    AnnotatePlan: false,
    QueuedAllocations: null,
    SnapshotIndex: 0,
    CreateIndex: txn.index,
    ModifyIndex: txn.index,
    CreateTime: now,
    ModifyTime: now,
    ...extra,
  };
}

/** `type` is the event type of the write's message (Nomad names an event after the raft message that made it). */
export function evalEvent(txn: Txn, ev: Json, type = "EvaluationUpdated"): void {
  txn.touch("evals");
  txn.event({
    Topic: "Evaluation",
    Type: type,
    Key: ev.ID,
    Namespace: ev.Namespace,
    FilterKeys: [ev.JobID, ev.DeploymentID].filter(Boolean),
    Payload: { Evaluation: evalJson(ev) },
  });
}

export function evalJson(ev: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(ev)) {
    if (v === "" || v === 0 || v === false || v === null || v === undefined) continue;
    if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

export function evalStub(ev: Json): Json {
  return {
    ID: ev.ID,
    Namespace: ev.Namespace,
    Priority: ev.Priority,
    Type: ev.Type,
    TriggeredBy: ev.TriggeredBy,
    JobID: ev.JobID,
    NodeID: ev.NodeID,
    DeploymentID: ev.DeploymentID,
    Status: ev.Status,
    StatusDescription: ev.StatusDescription,
    WaitUntil: ev.WaitUntil,
    NextEval: ev.NextEval,
    PreviousEval: ev.PreviousEval,
    BlockedEval: ev.BlockedEval,
    CreateIndex: ev.CreateIndex,
    ModifyIndex: ev.ModifyIndex,
    CreateTime: ev.CreateTime,
    ModifyTime: ev.ModifyTime,
  };
}
