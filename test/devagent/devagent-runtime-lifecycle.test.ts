import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, makeRunner, rawTask, waitFor } from "./devagent-runtime-harness.js";

afterEach(cleanupAll);

describe("task lifecycle", () => {
  it("runs the prestart init task to completion, then the main task, then the poststart sidecar", async () => {
    const order = 'echo "$NOMAD_TASK_NAME" >> "$NOMAD_ALLOC_DIR/order"';
    const { runner, allocDir } = makeRunner({
      tasks: [
        rawTask("sidecar", `${order}; exec sleep 30`, { Lifecycle: { Hook: "poststart", Sidecar: true } }),
        rawTask("web", `${order}; echo "alloc=$NOMAD_ALLOC_ID job=$NOMAD_JOB_NAME meta=$NOMAD_META_owner"; exec sleep 30`),
        rawTask("init", `sleep 0.3; ${order}`, { Lifecycle: { Hook: "prestart", Sidecar: false } }),
      ],
    });
    runner.start();
    await waitFor(() => runner.taskStates().sidecar?.State === "running", "sidecar running");
    await waitFor(() => readFileSync(join(allocDir, "alloc/order"), "utf8").split("\n").length >= 4, "three tasks wrote");

    // init ran to completion before anything else started; web and the sidecar then run side by side
    const [first, ...rest] = readFileSync(join(allocDir, "alloc/order"), "utf8").trim().split("\n");
    expect(first).toBe("init");
    expect(rest.sort()).toEqual(["sidecar", "web"]);
    const states = runner.taskStates();
    const time = (task: string, type: string) => states[task]!.Events.find((e) => e.Type === type)!.Time;
    expect(time("init", "Terminated")).toBeLessThanOrEqual(time("web", "Started"));
    expect(time("web", "Started")).toBeLessThanOrEqual(time("sidecar", "Started"));
    expect(Date.parse(states.sidecar!.StartedAt!)).toBeGreaterThanOrEqual(Date.parse(states.web!.StartedAt!));
    expect(states.init).toMatchObject({ State: "dead", Failed: false });
    expect(states.web?.State).toBe("running");
    expect(states.web?.Events.map((e) => e.Type)).toEqual(["Received", "Task Setup", "Started"]);
    expect(states.init?.Events.map((e) => e.Type)).toEqual(["Received", "Task Setup", "Started", "Terminated"]);
    expect(runner.clientStatus()).toBe("running");
    await waitFor(() => readFileSync(runner.logPath("web", "stdout"), "utf8").includes("\n"), "web stdout");
    expect(readFileSync(runner.logPath("web", "stdout"), "utf8")).toBe(
      "alloc=a1b2c3d4-0000-4000-8000-000000000001 job=job-1 meta=tests\n",
    );
  });

  it("does not start the main task when the init task fails, and fails the allocation", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("web", "exec sleep 30"), rawTask("init", "exit 3", { Lifecycle: { Hook: "prestart", Sidecar: false } })],
      restartPolicy: { Attempts: 0, Interval: 60e9, Delay: 1e6, Mode: "fail" },
    });
    runner.start();
    await waitFor(() => runner.clientStatus() === "failed" && runner.taskStates().web?.State === "dead", "alloc failed");
    const states = runner.taskStates();
    expect(states.init).toMatchObject({ State: "dead", Failed: true });
    expect(states.init?.Events.find((e) => e.Type === "Terminated")?.ExitCode).toBe(3);
    expect(states.init?.Events.at(-1)).toMatchObject({ Type: "Not Restarting", DisplayMessage: "Policy allows no restarts" });
    expect(states.web?.StartedAt).toBeNull();
  });

  it("completes a batch allocation when its main task exits 0 and kills the sidecar", async () => {
    const { runner } = makeRunner({
      type: "batch",
      tasks: [rawTask("job", "echo done"), rawTask("proxy", "exec sleep 30", { Lifecycle: { Hook: "prestart", Sidecar: true } })],
    });
    runner.start();
    await waitFor(() => runner.clientStatus() === "complete", "alloc complete");
    const proxy = runner.taskStates().proxy!;
    expect(proxy.Events.map((e) => e.Type)).toContain("Main Tasks Dead");
    expect(proxy.Failed).toBe(false);
    expect(runner.clientDescription()).toBe("All tasks have completed");
  });
});
