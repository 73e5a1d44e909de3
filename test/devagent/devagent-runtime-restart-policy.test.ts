import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

afterEach(cleanupAll);

describe("restart policy", () => {
  it("restarts a failing task Attempts times, then fails it and the allocation (mode fail)", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("flaky", "echo try; exit 7")],
      restartPolicy: { Attempts: 2, Interval: 600e9, Delay: 20e6, Mode: "fail" },
    });
    runner.start();
    await waitFor(() => runner.clientStatus() === "failed", "alloc failed");
    const state = runner.taskStates().flaky!;
    expect(state).toMatchObject({ State: "dead", Failed: true, Restarts: 2 });
    expect(state.LastRestart).not.toBeNull();
    const types = state.Events.map((e) => e.Type);
    expect(types.filter((t) => t === "Started")).toHaveLength(3);
    expect(types.at(-1)).toBe("Not Restarting");
    expect(state.Events.at(-1)?.DisplayMessage).toBe('Exceeded allowed attempts 2 in interval 10m0s and mode is "fail"');
    const restarting = state.Events.find((e) => e.Type === "Restarting")!;
    expect(restarting.StartDelay).toBeGreaterThanOrEqual(20e6);
    expect(restarting.DisplayMessage).toMatch(/^Task restarting in \d+(\.\d+)?ms$/);
  });

  it("restarts a service task in place on request and counts it", async () => {
    const { runner } = makeRunner({ tasks: [rawTask("web", "exec sleep 300")] });
    runner.start();
    const first = await waitFor(() => runner.taskPids("web")[0], "first pid");
    await runner.restart({ task: "web" });
    const second = await waitFor(() => runner.taskPids("web")[0] !== first && runner.taskPids("web")[0], "new pid");
    expect(second).not.toBe(first);
    const state = runner.taskStates().web!;
    expect(state.Restarts).toBe(1);
    expect(state.Events.map((e) => e.Type)).toEqual(["Received", "Task Setup", "Started", "Restart Signaled", "Terminated", "Restarting", "Started"]);
    expect(state.Events[3]?.DisplayMessage).toBe("User requested restart");
  });

  it("re-runs the prestart task when all tasks are restarted", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("web", "exec sleep 300"), rawTask("init", "true", { Lifecycle: { Hook: "prestart", Sidecar: false } })],
    });
    runner.start();
    await waitFor(() => runner.taskStates().web?.State === "running", "running");
    await runner.restart({ allTasks: true });
    await waitFor(() => {
      const s = runner.taskStates();
      return s.web?.State === "running" && s.init?.State === "dead" && s.init.Events.filter((e) => e.Type === "Started").length === 2;
    }, "init re-ran");
    expect(runner.taskStates().init?.Restarts).toBe(1);
    expect(runner.taskStates().web?.Restarts).toBe(1);
  });
});
