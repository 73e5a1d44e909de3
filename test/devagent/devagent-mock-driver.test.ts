// Nomad's mock_driver in the dev agent: tasks that run without a process, with Nomad's config knobs, and the
// --driver-override that runs every task of any job with it (what scale tests of jobs the plugin builds need).

import { afterEach, describe, expect, it } from "vitest";
import { startDevAgent, type DevAgent } from "../../src/devagent/index.js";
import { api, until } from "../helpers/dev-agent.js";

let agent: DevAgent | undefined;
afterEach(async () => {
  await agent?.close();
  agent = undefined;
});

function mockJob(id: string, config: Record<string, unknown>, restartAttempts = 0) {
  return {
    Job: {
      ID: id,
      TaskGroups: [
        {
          Name: "g",
          Count: 1,
          RestartPolicy: { Attempts: restartAttempts, Mode: "fail" },
          ReschedulePolicy: { Unlimited: false, Attempts: 0 },
          Tasks: [{ Name: "t", Driver: "mock_driver", Config: config }],
        },
      ],
    },
  };
}

async function onlyAlloc(a: DevAgent, job: string, done: (alloc: any) => boolean) {
  return until(async () => {
    const list = (await api(a, "GET", `/v1/job/${job}/allocations`)).json as any[];
    return list.length === 1 && done(list[0]) ? list[0] : undefined;
  }, `allocation of ${job}`);
}

describe("mock_driver", () => {
  it("writes stdout_string to the task's log, runs for run_for, then exits with exit_code", async () => {
    agent = await startDevAgent({ port: 0 });
    await api(agent, "PUT", "/v1/jobs", mockJob("m1", { run_for: "200ms", exit_code: 3, stdout_string: "hello from mock\n" }));
    const alloc = await onlyAlloc(agent, "m1", (a) => a.ClientStatus === "failed");
    const events = alloc.TaskStates.t.Events.map((e: any) => e.Type);
    expect(events).toContain("Started");
    const terminated = alloc.TaskStates.t.Events.find((e: any) => e.Type === "Terminated");
    expect(terminated.ExitCode).toBe(3);
    const log = await api(agent, "GET", `/v1/client/fs/logs/${alloc.ID}?task=t&type=stdout&plain=true&origin=start`);
    expect(log.text).toBe("hello from mock\n");
  });

  it("fails the start with start_error as a driver failure", async () => {
    agent = await startDevAgent({ port: 0 });
    await api(agent, "PUT", "/v1/jobs", mockJob("m2", { start_error: "no such image (mock)" }));
    const alloc = await onlyAlloc(agent, "m2", (a) => a.ClientStatus === "failed");
    const failure = alloc.TaskStates.t.Events.find((e: any) => e.Type === "Driver Failure");
    expect(failure.DriverError).toBe("no such image (mock)");
  });
});

describe("--driver-override mock_driver", () => {
  it("runs a docker job with no process: the service stays running, an init hook completes, stop ends it", async () => {
    agent = await startDevAgent({ port: 0, driverOverride: "mock_driver" });
    const job = {
      Job: {
        ID: "cp-over",
        TaskGroups: [
          {
            Name: "workload",
            Count: 2,
            Tasks: [
              { Name: "web", Driver: "docker", Config: { image: "nginx:1.25" } },
              { Name: "migrate", Driver: "docker", Config: { image: "migrate:1" }, Lifecycle: { Hook: "prestart", Sidecar: false } },
            ],
          },
        ],
      },
    };
    expect((await api(agent, "PUT", "/v1/jobs", job)).status).toBe(200);
    const allocs = await until(async () => {
      const list = (await api(agent!, "GET", "/v1/job/cp-over/allocations")).json as any[];
      return list.length === 2 && list.every((a) => a.ClientStatus === "running" && a.TaskStates?.web?.State === "running") ? list : undefined;
    }, "two running allocations");
    for (const a of allocs) {
      expect(a.TaskStates.migrate.State).toBe("dead");
      expect(a.TaskStates.migrate.Failed).toBe(false);
    }
    // No process behind the task: the stats endpoint answers, with nothing measured.
    const stats = await api(agent, "GET", `/v1/client/allocation/${allocs[0].ID}/stats`);
    expect(stats.status).toBe(200);

    await api(agent, "DELETE", "/v1/job/cp-over");
    await until(async () => {
      const list = (await api(agent!, "GET", "/v1/job/cp-over/allocations")).json as any[];
      return list.every((a) => a.ClientStatus === "complete");
    }, "allocations complete after stop");
  });
});
