import { readFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

afterEach(cleanupAll);

/** A port that was free a moment ago (the scheduler's job in the real agent). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe("docker tasks", () => {
  it("stands in for nginx with a web server on the allocated host port that logs each request", async () => {
    const port = await freePort();
    const { runner } = makeRunner({
      tasks: [{ Name: "web", Driver: "docker", Config: { image: "nginx:1.25", ports: ["http"] }, KillTimeout: 2e9 }],
      ports: [{ Label: "http", Value: port, To: 80, HostIP: "127.0.0.1" }],
    });
    runner.start();
    const res = await waitFor(() => fetch(`http://127.0.0.1:${port}/hello`).catch(() => undefined), "stand-in answering");
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("nginx:1.25");
    await waitFor(() => readFileSync(runner.logPath("web", "stdout"), "utf8").includes('"GET /hello HTTP/1.1" 200'), "access log line");
  });

  it("stands in for other images with an idle process accepting TCP on its port", async () => {
    const port = await freePort();
    const { runner } = makeRunner({
      tasks: [{ Name: "db", Driver: "docker", Config: { image: "redis:7", ports: ["db"] }, KillTimeout: 2e9 }],
      ports: [{ Label: "db", Value: port, To: 6379, HostIP: "127.0.0.1" }],
    });
    runner.start();
    await waitFor(
      () => new Promise<boolean>((resolve) => connect(port, "127.0.0.1").once("connect", function (this: any) { this.destroy(); resolve(true); }).once("error", () => resolve(false))),
      "tcp accept",
    );
    expect(readFileSync(runner.logPath("db", "stdout"), "utf8")).toMatch(/^stand-in for redis:7 started/);
  });

  it("runs the docker task's own command when it has one, with the memory limit as RLIMIT_AS", async () => {
    const { runner } = makeRunner({
      tasks: [
        { Name: "c", Driver: "docker", Config: { image: "alpine", command: "/bin/sh", args: ["-c", "echo limit=$(ulimit -v)"] }, Resources: { MemoryMB: 64 } },
        rawTask("r", "echo limit=$(ulimit -v)", { Resources: { MemoryMB: 64 } }),
      ],
      type: "batch",
    });
    runner.start();
    await waitFor(() => runner.clientStatus() === "complete", "complete");
    expect(readFileSync(runner.logPath("c", "stdout"), "utf8")).toBe(`limit=${64 * 1024}\n`);
    expect(readFileSync(runner.logPath("r", "stdout"), "utf8")).toBe("limit=unlimited\n");
  });

  it("reports a missing executable as Nomad's unrecoverable Driver Failure", async () => {
    const { runner } = makeRunner({ tasks: [{ Name: "x", Driver: "raw_exec", Config: { command: "no-such-binary-here" } }] });
    runner.start();
    await waitFor(() => runner.clientStatus() === "failed", "failed");
    const events = runner.taskStates().x!.Events;
    expect(events.map((e) => e.Type)).toEqual(["Received", "Task Setup", "Driver Failure", "Not Restarting"]);
    expect(events[2]?.DisplayMessage).toContain('exec: "no-such-binary-here": executable file not found in $PATH');
    expect(events[3]?.DisplayMessage).toBe("Error was unrecoverable");
  });
});
