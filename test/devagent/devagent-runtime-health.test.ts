import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

afterEach(cleanupAll);

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const httpCheck = { Name: "alive", Type: "http", Path: "/", PortLabel: "http", Interval: 50e6, Timeout: 1e9 };

describe("deployment health", () => {
  it("is healthy once the service's http check has passed for min_healthy_time", async () => {
    const port = await freePort();
    const started = Date.now();
    const { runner, health } = makeRunner({
      tasks: [{ Name: "web", Driver: "docker", Config: { image: "httpd" }, KillTimeout: 2e9 }],
      ports: [{ Label: "http", Value: port, To: 80, HostIP: "127.0.0.1" }],
      services: [{ Name: "web", PortLabel: "http", Checks: [httpCheck] }],
      health: { mode: "checks", minHealthyTimeMs: 300, healthyDeadlineMs: 20_000 },
    });
    runner.start();
    await waitFor(() => health.length > 0, "health decided");
    expect(health).toEqual([{ healthy: true, description: "Healthy" }]);
    expect(runner.health()).toBe(true);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  it("is unhealthy when the check never passes before healthy_deadline", async () => {
    const port = await freePort();
    const { runner, health } = makeRunner({
      tasks: [rawTask("web", "exec sleep 300")],
      ports: [{ Label: "http", Value: port, To: 0, HostIP: "127.0.0.1" }],
      services: [{ Name: "web", PortLabel: "http", Checks: [httpCheck] }],
      health: { mode: "checks", minHealthyTimeMs: 100, healthyDeadlineMs: 500 },
    });
    runner.start();
    await waitFor(() => health.length > 0, "health decided");
    expect(health[0]?.healthy).toBe(false);
    expect(health[0]?.description).toBe("Task not running for min_healthy_time of 100ms by healthy_deadline of 500ms");
  });

  it("is unhealthy as soon as a task fails (task_states)", async () => {
    const { runner, health } = makeRunner({
      tasks: [rawTask("web", "exit 1")],
      restartPolicy: { Attempts: 0, Interval: 60e9, Delay: 1e6, Mode: "fail" },
      health: { mode: "task_states", minHealthyTimeMs: 100, healthyDeadlineMs: 20_000 },
    });
    runner.start();
    await waitFor(() => health.length > 0, "health decided");
    expect(health).toEqual([{ healthy: false, description: 'Task "web" failed' }]);
  });

  it("restarts a task whose check keeps failing (check_restart limit)", async () => {
    const port = await freePort();
    const { runner } = makeRunner({
      tasks: [
        rawTask("web", "exec sleep 300", {
          Services: [{ Name: "web", PortLabel: "db", Checks: [{ Name: "tcp-alive", Type: "tcp", Interval: 50e6, Timeout: 1e9, CheckRestart: { Limit: 2, Grace: 0 } }] }],
        }),
      ],
      restartPolicy: { Attempts: 5, Interval: 600e9, Delay: 10e6, Mode: "fail" },
      ports: [{ Label: "db", Value: port, To: 0, HostIP: "127.0.0.1" }],
    });
    runner.start();
    await waitFor(() => (runner.taskStates().web?.Restarts ?? 0) >= 1, "restart by check");
    const signaled = runner.taskStates().web!.Events.find((e) => e.Type === "Restart Signaled");
    expect(signaled?.DisplayMessage).toBe('healthcheck: check "tcp-alive" unhealthy');
  });
});
