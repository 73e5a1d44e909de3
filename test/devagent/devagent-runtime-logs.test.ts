import { readFileSync } from "node:fs";
import { get, type IncomingMessage } from "node:http";
import { afterEach, describe, expect, it } from "vitest";
import { decodeFrames, type StreamFrame } from "../../src/devagent/runtime/log-frames.js";
import { serveEndpoints } from "./devagent-runtime-endpoints-harness.js";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
  await cleanupAll();
});

async function setup(script: string, heartbeatMs = 60_000) {
  const h = makeRunner({ tasks: [rawTask("app", script)] });
  h.runner.start();
  await waitFor(() => h.runner.taskStates().app?.State === "running", "task running");
  const server = await serveEndpoints(h.runner, { logHeartbeatMs: heartbeatMs });
  closers.push(server.close);
  return { ...h, base: `${server.base}/v1/client/fs/logs/${"a1b2c3d4"}` };
}

/** Opens a streaming GET and collects its body as it arrives. */
function openStream(url: string): Promise<{ res: IncomingMessage; body: () => string }> {
  return new Promise((resolve, reject) => {
    const req = get(url, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      closers.push(async () => void req.destroy());
      resolve({ res, body: () => text });
    });
    req.on("error", reject);
  });
}

const dataOf = (frames: StreamFrame[]) => Buffer.concat(frames.map((f) => f.Data ?? Buffer.alloc(0))).toString();

describe("GET /v1/client/fs/logs", () => {
  it("follows a live process: frames carry the new lines as they are written", async () => {
    const { base } = await setup('i=0; while :; do echo "line $i"; i=$((i+1)); sleep 0.05; done');
    const { res, body } = await openStream(`${base}?task=app&type=stdout&follow=true&origin=end&offset=0`);
    expect(res.statusCode).toBe(200);
    expect(res.headers["content-type"]).toBe("application/json");
    const lines = await waitFor(() => {
      const { frames, rest } = decodeFrames(body());
      const text = dataOf(frames);
      return rest === "" && text.split("\n").length > 6 && text;
    }, "six new lines");
    const numbers = lines.trim().split("\n").map((l) => Number(/^line (\d+)$/.exec(l)?.[1]));
    // consecutive lines, each exactly once, starting wherever the file ended when the stream opened
    expect(numbers.every((n, i) => i === 0 || n === numbers[i - 1]! + 1)).toBe(true);
    const frames = decodeFrames(body()).frames.filter((f) => f.Data);
    expect(frames.every((f) => f.File === "alloc/logs/app.stdout.0")).toBe(true);
    // Offset is the file offset right after the frame's data (Nomad's streamFile), so frames chain without gaps
    for (let i = 1; i < frames.length; i++) {
      expect(frames[i]!.Offset! - frames[i]!.Data!.length).toBe(frames[i - 1]!.Offset);
    }
  });

  it("sends {} heartbeats while a followed log is idle", async () => {
    const { base, runner } = await setup("echo once; exec sleep 300", 50);
    await waitFor(() => readFileSync(runner.logPath("app", "stdout"), "utf8") === "once\n", "line written");
    const { body } = await openStream(`${base}?task=app&type=stdout&follow=true`);
    await waitFor(() => decodeFrames(body()).frames.filter((f) => Object.keys(f).length === 1).length >= 2, "two heartbeats");
    expect(body().startsWith(`{"Offset":5,"Data":"${Buffer.from("once\n").toString("base64")}","File":"alloc/logs/app.stdout.0"}{}{}`)).toBe(true);
  });

  it("returns the whole file and ends when not following; plain=true gives raw bytes", async () => {
    const { base, runner } = await setup('printf "a\\nb\\n" >&2; exec sleep 300');
    await waitFor(() => readFileSync(runner.logPath("app", "stderr"), "utf8") === "a\nb\n", "stderr written");
    const framed = await fetch(`${base}?task=app&type=stderr`);
    expect(await framed.text()).toBe(`{"Offset":4,"Data":"${Buffer.from("a\nb\n").toString("base64")}","File":"alloc/logs/app.stderr.0"}`);
    const plain = await fetch(`${base}?task=app&type=stderr&plain=true&origin=end&offset=2`);
    expect(plain.headers.get("content-type")).toBe("text/plain");
    expect(await plain.text()).toBe("b\n");
  });

  it("answers Nomad's errors for bad parameters and unknown tasks", async () => {
    const { base } = await setup("exec sleep 300");
    const cases: [string, number, string][] = [
      ["?type=stdout", 400, "must provide task name"],
      ["?task=app&type=both", 400, "must provide log type (stdout/stderr)"],
      ["?task=app&type=stdout&origin=middle", 400, "origin must be start or end"],
      ["?task=app&type=stdout&follow=yes", 400, 'failed to parse follow field to boolean: strconv.ParseBool: parsing "yes": invalid syntax'],
      ["?task=nope&type=stdout", 400, 'unknown task name "nope"'],
    ];
    for (const [query, status, message] of cases) {
      const res = await fetch(base + query);
      expect([res.status, await res.text()]).toEqual([status, message]);
    }
  });
});
