// Nomad writes an exec error as a WebSocket close frame, but gorilla/websocket drops control frames over 125 bytes:
// a long driver error (docker's "OCI runtime exec failed ...") closes the connection with no frame at all (1006), and
// a normal finish too closes without a frame after the exit message. The dev agent closes the same way; through the
// plugin a session that ends with neither an exit status nor a reason says what is known (command, allocation, task,
// that Nomad gave no reason), and a normal finish is still a success with its exit code.

import WebSocket from "ws";
import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { ServiceRole } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { execFamily } from "../../src/provider/observe-family.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { grpcCode } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, execFamily] }));
const call = { deadlineMs: 30_000 };
const id = "inst_exec_reasonless";

async function execRaw(allocId: string, command: string[]): Promise<{ code: number; reason: string }> {
  const q = new URLSearchParams({ task: "web", command: JSON.stringify(command) });
  const ws = new WebSocket(`${agent().address.replace("http", "ws")}/v1/client/allocation/${allocId}/exec?${q}`);
  return new Promise((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
}

describe("exec sessions Nomad closes without a reason", () => {
  it("the dev agent drops a driver error over 123 bytes (1006) and keeps a short one (1011 with the text)", async () => {
    await provider().client.provision(
      { instanceId: id, tenantId: "t", services: [{ name: "web", image: "busybox:1", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "exec sleep 600"] }] },
      call,
    );
    const allocId = await until(async () => {
      const allocs = (await api(agent(), "GET", `/v1/job/cp-${id}/allocations`)).json as { ID: string; ClientStatus: string }[];
      return allocs.find((a) => a.ClientStatus === "running")?.ID;
    }, "running");
    // docker's error for a missing program is ~170 bytes: no close frame.
    expect(await execRaw(allocId, ["no-such-tool"])).toEqual({ code: 1006, reason: "" });
    // A short refusal still arrives as a close frame with its text.
    const q = new URLSearchParams({ task: "nope", command: JSON.stringify(["true"]) });
    const ws = new WebSocket(`${agent().address.replace("http", "ws")}/v1/client/allocation/${allocId}/exec?${q}`);
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
    expect(closed).toEqual({ code: 1011, reason: "task not found" });
  });

  it("Exec says what is known when the session ends with no exit status and no reason", async () => {
    const err = await grpcCode(provider().client.exec({ instanceId: id, command: ["no-such-tool", "--flag"] }, call));
    expect(err.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(err.details).toContain('["no-such-tool","--flag"]');
    expect(err.details).toMatch(/in allocation [0-9a-f-]{36} \(task web\)/);
    expect(err.details).toContain("Nomad closed the session without an exit status or a reason (code 1006");
  });

  it("a normal finish without a close frame is still the command's exit code", async () => {
    const res = await provider().client.exec({ instanceId: id, command: ["/bin/sh", "-c", "echo hi; exit 3"] }, call);
    expect(res.exitCode).toBe(3);
    expect(Buffer.from(res.stdout).toString()).toBe("hi\n");
  });
});
