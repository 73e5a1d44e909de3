// Exec and ExecStream through the plugin against the dev agent's exec WebSocket, with real processes.
import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { until } from "../helpers/dev-agent.js";
import type { ExecStreamResponse } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { newInstanceId, runInstance, useObserveStack } from "../helpers/observe-stack.js";

const stack = useObserveStack();
const instance = newInstanceId("exec");
let allocId = "";

async function ready(): Promise<void> {
  if (!allocId) allocId = (await runInstance(stack().agent, instance, { script: "exec sleep 3600" }))[0]!;
}

describe("Exec", () => {
  it("returns the command's real exit code, stdout and stderr", async () => {
    await ready();
    const res = await stack().provider.client.exec({ instanceId: instance, command: ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"] });
    expect(res.exitCode).toBe(3);
    expect(Buffer.from(res.stdout).toString()).toBe("out\n");
    expect(Buffer.from(res.stderr).toString()).toBe("err\n");
    expect(res.allocId).toBe(allocId);
    expect(res.stdoutTruncated || res.stderrTruncated).toBe(false);
  });

  it("feeds stdin and closes it", async () => {
    await ready();
    const res = await stack().provider.client.exec({ instanceId: instance, command: ["cat"], stdin: Buffer.from("piped\n") });
    expect(res.exitCode).toBe(0);
    expect(Buffer.from(res.stdout).toString()).toBe("piped\n");
  });

  it("keeps max_output_bytes of output and says it truncated", async () => {
    await ready();
    const res = await stack().provider.client.exec({ instanceId: instance, command: ["/bin/sh", "-c", "seq 1 10000"], maxOutputBytes: 10 });
    expect(Buffer.from(res.stdout).toString()).toBe("1\n2\n3\n4\n5\n");
    expect(res.stdoutTruncated).toBe(true);
    expect(res.exitCode).toBe(0);
  });

  it("kills a command that outlives its timeout and fails with DEADLINE_EXCEEDED", async () => {
    await ready();
    const call = stack().provider.client.exec({ instanceId: instance, command: ["sleep", "31.4159"], timeout: { seconds: 0n, nanos: 300_000_000 } });
    await expect(call).rejects.toMatchObject({ code: 4 });
    await until(async () => !execFileSync("ps", ["-eo", "args"]).toString().includes("sleep 31.4159"), "the timed-out command to be killed");
  });

  it("rejects an empty command with INVALID_ARGUMENT and an unknown allocation with NOT_FOUND", async () => {
    await ready();
    await expect(stack().provider.client.exec({ instanceId: instance, command: [] })).rejects.toMatchObject({ code: 3 });
    await expect(stack().provider.client.exec({ instanceId: instance, command: ["true"], allocId: "00000000-0000-0000-0000-000000000000" })).rejects.toMatchObject({ code: 5 });
  });
});

describe("ExecStream", () => {
  it("echoes stdin through cat and ends with the exit code", async () => {
    await ready();
    const call = stack().provider.client.execStream();
    call.send({ request: { case: "start", value: { instanceId: instance, command: ["cat"] } } });
    const it = call.responses[Symbol.asyncIterator]();
    const first = (await it.next()).value as ExecStreamResponse;
    expect(first.response).toEqual({ case: "started", value: expect.objectContaining({ allocId }) });
    call.send({ request: { case: "stdin", value: Buffer.from("hello\n") } });
    let echoed = "";
    while (echoed !== "hello\n") {
      const r = (await it.next()).value as ExecStreamResponse;
      if (r.response.case === "stdout") echoed += Buffer.from(r.response.value).toString();
      else throw new Error(`unexpected ${r.response.case}`);
    }
    call.send({ request: { case: "closeStdin", value: {} } });
    const rest: ExecStreamResponse[] = [];
    for (let r = await it.next(); !r.done; r = await it.next()) rest.push(r.value as ExecStreamResponse);
    expect(rest.at(-1)!.response).toEqual({ case: "exited", value: expect.objectContaining({ exitCode: 0 }) });
    call.end();
  });

  it("reports a non-zero exit and rejects a first message that is not start", async () => {
    await ready();
    const call = stack().provider.client.execStream();
    call.send({ request: { case: "start", value: { instanceId: instance, command: ["/bin/sh", "-c", "echo bye >&2; exit 7"] } } });
    const got: ExecStreamResponse[] = [];
    for await (const r of call.responses) got.push(r);
    call.end();
    expect(got.map((r) => r.response.case)).toEqual(["started", "stderr", "exited"]);
    expect(got.at(-1)!.response.value).toMatchObject({ exitCode: 7 });

    const bad = stack().provider.client.execStream();
    bad.send({ request: { case: "stdin", value: Buffer.from("x") } });
    bad.end();
    await expect((async () => {
      for await (const _ of bad.responses) void _;
    })()).rejects.toMatchObject({ code: 3 });

    // A session closed before any message is a malformed call too, not a success.
    const empty = stack().provider.client.execStream();
    empty.end();
    await expect((async () => {
      for await (const _ of empty.responses) void _;
    })()).rejects.toMatchObject({ code: 3, details: expect.stringMatching(/first message must be start/) });
  });
});
