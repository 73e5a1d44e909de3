// WatchStatus shares one upstream event stream per plugin process: 20 watchers on 5 instances, through the real
// plugin binary, hold exactly one /v1/event/stream request open on the agent (counted by the agent itself), each
// watcher hears only about its own instance, and the stream is released when the last watcher leaves.

import { setMaxListeners } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InstanceState, ServiceRole, type InstanceStatus } from "../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until, useDevAgent } from "./helpers/dev-agent.js";
import { startPluginProcess, type PluginProcess, providerClientOf } from "./helpers/plugin-process.js";
import type { ProviderClient } from "./helpers/provider-client.js";

const agent = useDevAgent();
let plugin: PluginProcess;
let client: ProviderClient;
const call = { deadlineMs: 20_000 };

beforeAll(async () => {
  plugin = await startPluginProcess({ env: { CP_NOMAD_ADDRESS: agent().address } });
  client = providerClientOf(plugin);
});
afterAll(async () => {
  client?.close();
  await plugin?.kill();
});

const sleeper = (instanceId: string) => ({
  instanceId,
  tenantId: "ten_watch",
  services: [{ name: "web", image: "busybox", role: ServiceRole.MAIN, command: ["/bin/sh", "-c", "exec sleep 600"] }],
});

const streams = async () => (await api(agent(), "GET", "/v1/devagent/stats")).json.EventStreams as { Open: number; Opened: number };

describe("WatchStatus upstream", () => {
  it("serves 20 watchers on 5 instances over a single event stream", async () => {
    const ids = ["one", "two", "three", "four", "five"].map((n) => `inst_up_${n}`);
    await Promise.all(ids.map((id) => client.provision(sleeper(id), call)));
    expect((await streams()).Opened).toBe(0);

    const stop = new AbortController();
    setMaxListeners(40, stop.signal);
    const watchers = ids.flatMap((instanceId) =>
      [1, 2, 3, 4].map(() => {
        const seen: InstanceStatus[] = [];
        const done = (async () => {
          try {
            for await (const msg of client.watchStatus({ instanceId }, { signal: stop.signal })) seen.push(msg.status!);
          } catch (err) {
            if (!stop.signal.aborted) throw err;
          }
        })();
        return { instanceId, seen, done };
      }),
    );
    await until(async () => watchers.every((w) => w.seen.at(-1)?.state === InstanceState.RUNNING), "every watcher sees RUNNING");
    expect(await streams()).toEqual({ Open: 1, Opened: 1 });

    // A change to one instance reaches its four watchers (over that one stream) and nobody else.
    await client.stop({ instanceId: ids[2]! }, call);
    await until(async () => watchers.filter((w) => w.instanceId === ids[2]).every((w) => w.seen.at(-1)?.state === InstanceState.STOPPED), "watchers of the stopped instance see STOPPED");
    for (const w of watchers) {
      for (const s of w.seen) expect(s.metadata["nomad.job_id"]).toBe(`cp-${w.instanceId}`);
      if (w.instanceId !== ids[2]) expect(w.seen.every((s) => s.state === InstanceState.RUNNING)).toBe(true);
    }
    expect(await streams()).toEqual({ Open: 1, Opened: 1 });

    stop.abort();
    await Promise.all(watchers.map((w) => w.done));
    await until(async () => (await streams()).Open === 0, "the upstream stream closed after the last watcher left");
  });
});
