// Nomad answers a client endpoint with 404 "No path to node" when no server holds a connection to the allocation's
// node (the dev agent's fault noPathToNode). That is not "no log file": a read that does not follow fails UNAVAILABLE
// with Nomad's text; a follow waits for the node with backoff and goes on when it is back, every line once; and a
// follow whose allocation ends while its node is unreachable ends normally.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { LogStream, type LogsResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until } from "../helpers/dev-agent.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { collectLogs, newInstanceId, runInstance, runNumberedInstance, stopInstance, useObserveStack } from "../helpers/observe-stack.js";

const stack = useObserveStack();
const logRequests = async (allocId: string) =>
  ((await api(stack().agent, "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>)[`GET /v1/client/fs/logs/${allocId}`] ?? 0;

function followInBackground(instanceId: string, signal: AbortSignal) {
  const seen: LogsResponse[] = [];
  const done = (async () => {
    for await (const r of stack().provider.client.logs({ instanceId, stream: LogStream.STDOUT, follow: true }, { signal })) seen.push(r);
  })();
  done.catch(() => undefined);
  return { seen, done };
}

describe("Logs when the allocation's node cannot be reached", () => {
  it("fails a read that does not follow with UNAVAILABLE and Nomad's text", async () => {
    const id = newInstanceId("nopath");
    const allocId = await runNumberedInstance(stack(), id, 3);
    stack().agent.faults.set({ noPathToNode: { allocId } });
    try {
      const err = await grpcCode(collectLogs(stack().provider.client.logs({ instanceId: id, stream: LogStream.STDOUT })));
      expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(err.details).toContain("No path to node");
    } finally {
      stack().agent.faults.clear();
    }
  });

  it("keeps following until the node is back, then delivers every line once", async () => {
    const id = newInstanceId("nopath");
    const [allocId] = await runInstance(stack().agent, id, { script: "i=0; while true; do i=$((i+1)); echo $i; sleep 0.2; done" });
    stack().agent.faults.set({ noPathToNode: { allocId: allocId! } });
    const stop = new AbortController();
    const f = followInBackground(id, stop.signal);
    try {
      // Longer than one read's own reconnect budget (6 attempts, twice over): the follow keeps waiting past it.
      await until(async () => (await logRequests(allocId!)) >= 14, "the follow retrying");
      stack().agent.faults.clear();
      await until(async () => f.seen.filter((r) => r.line).length >= 5, "lines after the node is back");
      const lines = f.seen.map((r) => r.line).filter(Boolean);
      expect(lines.slice(0, 5)).toEqual(["1", "2", "3", "4", "5"]);
    } finally {
      stop.abort();
      stack().agent.faults.clear();
    }
  });

  it("waits for the node before a follow's tail too", async () => {
    const id = newInstanceId("nopath");
    const allocId = await runNumberedInstance(stack(), id, 5);
    stack().agent.faults.set({ noPathToNode: { allocId } });
    const stop = new AbortController();
    const seen: LogsResponse[] = [];
    const done = (async () => {
      for await (const r of stack().provider.client.logs({ instanceId: id, stream: LogStream.STDOUT, follow: true, tail: 2 }, { signal: stop.signal })) seen.push(r);
    })();
    done.catch(() => undefined);
    try {
      // Longer than one read's own reconnect budget (6 attempts, twice over): the follow keeps waiting past it.
      await until(async () => (await logRequests(allocId)) >= 14, "the tail read retrying");
      stack().agent.faults.clear();
      await until(async () => seen.length >= 2, "the tail once the node is back");
      expect(seen.map((r) => r.line)).toEqual(["4", "5"]);
    } finally {
      stop.abort();
      stack().agent.faults.clear();
    }
  });

  it("ends a follow normally when the allocation stops while its node is unreachable", async () => {
    const id = newInstanceId("nopath");
    const [allocId] = await runInstance(stack().agent, id, { script: "echo up; exec sleep 600" });
    stack().agent.faults.set({ noPathToNode: { allocId: allocId! } });
    try {
      const f = followInBackground(id, AbortSignal.timeout(60_000));
      await until(async () => (await logRequests(allocId!)) >= 2, "the follow retrying");
      await stopInstance(stack().agent, id);
      await f.done;
    } finally {
      stack().agent.faults.clear();
    }
  });
});
