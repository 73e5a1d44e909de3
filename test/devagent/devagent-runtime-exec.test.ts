import { afterEach, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { serveEndpoints } from "./devagent-runtime-endpoints-harness.js";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await cleanupAll();
});

interface Session {
  messages: Record<string, any>[];
  closed: Promise<{ code: number; reason: string }>;
  ws: WebSocket;
}

async function openExec(query: Record<string, string>): Promise<Session> {
  const { runner } = makeRunner({ tasks: [rawTask("web", "exec sleep 300")] });
  runner.start();
  await waitFor(() => runner.taskStates().web?.State === "running", "running");
  const server = await serveEndpoints(runner);
  closers.push(server.close);
  const ws = new WebSocket(`${server.base.replace("http", "ws")}/v1/client/allocation/x/exec?${new URLSearchParams(query)}`);
  const messages: Record<string, any>[] = [];
  ws.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  return { messages, closed, ws };
}

const text = (messages: Record<string, any>[], channel: string) =>
  messages.filter((m) => m[channel]?.data).map((m) => Buffer.from(m[channel].data, "base64").toString()).join("");

describe("exec WebSocket", () => {
  it("runs the command next to the task with its stdin and returns the real exit code", async () => {
    const script = 'echo "in $(basename "$PWD") as $NOMAD_TASK_NAME"; echo oops >&2; read line; echo "got $line"; exit 42';
    const { messages, closed, ws } = await openExec({ task: "web", command: JSON.stringify(["/bin/sh", "-c", script]) });
    ws.send(JSON.stringify({ stdin: { data: Buffer.from("hello\n").toString("base64") } }));
    ws.send(JSON.stringify({ stdin: { close: true } }));
    const { code } = await closed;
    // Like Nomad: the exit message, then the connection closes without a close frame.
    expect(code).toBe(1006);
    expect(text(messages, "stdout")).toBe("in web as web\ngot hello\n");
    expect(text(messages, "stderr")).toBe("oops\n");
    expect(messages.at(-1)).toEqual({ exited: true, result: { exit_code: 42 } });
  });

  it("omits exit_code for a successful command, and merges stderr into stdout with tty=true", async () => {
    const { messages, closed } = await openExec({ task: "web", tty: "true", command: JSON.stringify(["/bin/sh", "-c", "echo a; echo b >&2"]) });
    await closed;
    expect(messages.at(-1)).toEqual({ exited: true, result: {} });
    expect(text(messages, "stderr")).toBe("");
    expect(text(messages, "stdout").split("\r\n").sort()).toEqual(["", "a", "b"]);
  });

  it("closes with Nomad's policy-violation code for an unknown command and task state errors", async () => {
    const { closed } = await openExec({ task: "web", command: "[]" });
    expect(await closed).toEqual({ code: 1008, reason: "command is not present" });
  });
});
