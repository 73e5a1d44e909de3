// Nomad refuses a log stream or the event stream for want of a capability with 500 "Permission denied". Through the
// plugin that is PERMISSION_DENIED at once (no retries ending in UNAVAILABLE), and an event stream so
// refused is refused for good: no reconnecting. A token with read-logs reads logs.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { LogStream } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { Code, ProviderError } from "../../src/errors.js";
import { NomadHttp } from "../../src/nomad/nomad-http.js";
import { followEventStream } from "../../src/nomad/event-stream.js";
import { logsFamily } from "../../src/provider/observe-family.js";
import { startedInstanceCache } from "../../src/provider/instance-cache.js";
import { api, shJob, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";
import { collectLogs } from "../helpers/observe-stack.js";

const agent = useDevAgent({ acl: true });
const readOnly = useInProcessProvider(() => ({ nomadAddress: agent().address, token: agent().tokens!.read, families: [logsFamily] }));
const logsReader = useInProcessProvider(() => ({ nomadAddress: agent().address, token: agent().tokens!["read-logs"], families: [logsFamily] }));
const requests = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;

describe("permission refusals that Nomad sends as 500", () => {
  it("Logs without read-logs is PERMISSION_DENIED after one request; with read-logs it reads", async () => {
    const job = shJob("cp-inst_perm", "echo hello; exec sleep 600");
    (job.Job.TaskGroups[0] as any).Tasks[0].Meta = { "ctrlplane.role": "main" };
    await api(agent(), "PUT", "/v1/jobs", job);
    const allocId = await until(async () => {
      const allocs = (await api(agent(), "GET", "/v1/job/cp-inst_perm/allocations")).json as { ID: string; ClientStatus: string }[];
      return allocs.find((a) => a.ClientStatus === "running")?.ID;
    }, "a running allocation");
    const err = await grpcCode(collectLogs(readOnly().client.logs({ instanceId: "inst_perm", stream: LogStream.STDOUT })));
    expect(err.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(err.details).toContain("Permission denied");
    // The plain read and its end probe go out together; neither is retried.
    expect((await requests())[`GET /v1/client/fs/logs/${allocId}`]).toBeLessThanOrEqual(2);

    const lines = await until(async () => {
      const got = await collectLogs(logsReader().client.logs({ instanceId: "inst_perm", stream: LogStream.STDOUT }));
      return got.length > 0 && got;
    }, "a line read with read-logs");
    expect(lines.map((l) => l.line)).toEqual(["hello"]);
  });

  it("an event stream refused with 500 is refused for good: one request, PERMISSION_DENIED", async () => {
    // The Logs calls above started their plugins' instance caches, whose event streams are theirs: counted once settled.
    await until(
      async () => [readOnly, logsReader].every((p) => ["idle", "live", "refused", undefined].includes(startedInstanceCache(p().nomad)?.state)),
      "the plugins' instance caches settled",
    );
    const streamsBefore = (await requests())["GET /v1/event/stream"] ?? 0;
    const nomad = new NomadHttp({ address: agent().address, token: agent().tokens!["no-read-job"] });
    try {
      const notices: string[] = [];
      const failure = await (async () => {
        try {
          for await (const n of followEventStream(nomad, { topics: ["Job:*"], signal: AbortSignal.timeout(3_000), minBackoffMs: 10 })) notices.push(n.kind);
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(failure).toBeInstanceOf(ProviderError);
      expect((failure as ProviderError).code).toBe(Code.PermissionDenied);
      expect(notices).toEqual([]);
      expect((await requests())["GET /v1/event/stream"]).toBe(streamsBefore + 1);
    } finally {
      await nomad.close();
    }
  });
});
