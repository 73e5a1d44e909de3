// Nomad writes an error that happens during a log stream into the body already under way (status 200 sent) and ends
// it normally; with plain=true nothing marks those bytes as not-log. The dev agent does the same (fault
// failStreamAfterBytes). A read through the plugin never returns that text as log lines: the plain read's held bytes
// are dropped and the read goes on with frames from the last delivered byte, every line once; when the stream keeps
// failing the call fails.

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { LogStream } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { collectLogs, newInstanceId, runNumberedInstance, useObserveStack } from "../helpers/observe-stack.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const stack = useObserveStack();
const errorText = "rpc error: Unknown allocation";

describe("Logs: a plain read that fails partway", () => {
  it("returns every line once and no error text", async () => {
    const id = newInstanceId("plainfail");
    await runNumberedInstance(stack(), id, 30_000);
    stack().agent.faults.set({ failStreamAfterBytes: { bytes: 60_000, body: errorText, pathPrefix: "/v1/client/fs/logs", once: true } });
    try {
      const lines = (await collectLogs(stack().provider.client.logs({ instanceId: id, stream: LogStream.STDOUT }))).map((l) => l.line);
      expect(stack().agent.faults.get().failStreamAfterBytes).toBeUndefined();
      expect(lines.filter((l) => l.includes("rpc error"))).toEqual([]);
      expect(lines).toEqual(Array.from({ length: 30_000 }, (_, i) => String(i + 1)));
    } finally {
      stack().agent.faults.clear();
    }
  });

  it("fails the call when the stream keeps failing, without passing the text on as log", async () => {
    const id = newInstanceId("plainfail");
    await runNumberedInstance(stack(), id, 30_000);
    stack().agent.faults.set({ failStreamAfterBytes: { bytes: 0, body: errorText, pathPrefix: "/v1/client/fs/logs", once: false } });
    try {
      const seen: string[] = [];
      const err = await grpcCode(
        (async () => {
          for await (const r of stack().provider.client.logs({ instanceId: id, stream: LogStream.STDOUT })) seen.push(r.line);
        })(),
      );
      expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
      expect(seen.filter((l) => l.includes("rpc error"))).toEqual([]);
    } finally {
      stack().agent.faults.clear();
    }
  });
});
