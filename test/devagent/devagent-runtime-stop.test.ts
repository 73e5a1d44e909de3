import { readFileSync } from "node:fs";
import { groupMembers } from "../../src/devagent/runtime/process-group.js";
import { afterEach, describe, expect, it } from "vitest";
import { cleanupAll, makeRunner, processAlive, rawTask, waitFor } from "./devagent-runtime-harness.js";

afterEach(cleanupAll);

describe("stopping an allocation", () => {
  it("kills the whole process group of each task and leaves no process behind", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("web", "sleep 300 & sleep 301 & wait"), rawTask("worker", "exec sleep 302")],
    });
    runner.start();
    const web = await waitFor(() => runner.taskPids("web")[0], "web pid");
    const worker = await waitFor(() => runner.taskPids("worker")[0], "worker pid");
    // sh + two sleeps + the supervisor's watcher
    await waitFor(() => groupMembers(web).length >= 4, "web children");
    const before = [...groupMembers(web), ...groupMembers(worker)];

    await runner.stop("test");

    expect(before.filter(processAlive)).toEqual([]);
    expect(groupMembers(web)).toEqual([]);
    expect(groupMembers(worker)).toEqual([]);
    const states = runner.taskStates();
    expect(states.web?.Events.slice(-3).map((e) => e.Type)).toEqual(["Killing", "Terminated", "Killed"]);
    expect(states.web?.Events.at(-3)?.DisplayMessage).toBe("Sent interrupt. Waiting 2s before force killing");
    expect(runner.clientStatus()).toBe("complete");
  });

  it("force-kills a task that ignores SIGTERM once its kill timeout has passed", async () => {
    const { runner } = makeRunner({
      tasks: [rawTask("stubborn", "trap '' TERM; echo ready; while :; do sleep 0.05; done", { KillTimeout: 300e6 })],
    });
    runner.start();
    const pid = await waitFor(() => runner.taskPids("stubborn")[0], "pid");
    await waitFor(() => readFileSync(runner.logPath("stubborn", "stdout"), "utf8").includes("ready"), "trap installed");
    await runner.stop("test");
    expect(processAlive(pid)).toBe(false);
    const terminated = runner.taskStates().stubborn?.Events.find((e) => e.Type === "Terminated");
    expect(terminated).toMatchObject({ Signal: 9, ExitCode: 137 });
  });
});
