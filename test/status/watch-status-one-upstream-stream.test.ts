// WatchStatus shares one upstream event stream per plugin process (the instance cache's, which serves Status too):
// 20 watchers on 5 instances, through the real plugin binary, hold exactly one /v1/event/stream request open on the
// agent (counted by the agent itself), each watcher hears only about its own instance, a change reaches its watchers
// without any of them reading Nomad again, and the stream stays (one) after the watchers leave, for Status.

import { setMaxListeners } from "node:events";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InstanceState, ServiceRole, type InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { startPluginProcess, type PluginProcess, providerClientOf } from "../helpers/plugin-process.js";
import type { ProviderClient } from "../helpers/provider-client.js";

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
/** GET requests the agent served on the instance's job and allocation routes (what a re-reading watcher would cost). */
const statusReads = async () => {
  const requests = (await api(agent(), "GET", "/v1/devagent/stats")).json.Requests as Record<string, number>;
  return Object.entries(requests)
    .filter(([route]) => route.startsWith("GET /v1/job/") || route.startsWith("GET /v1/allocation"))
    .reduce((n, [, v]) => n + v, 0);
};

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

    // A change to one instance, made behind the plugin's back (as with `nomad job stop`), reaches its four watchers
    // (over that one stream) and nobody else, and none of the 20 reads Nomad for it: the status comes from the cache.
    const readsBefore = await statusReads();
    expect((await api(agent(), "DELETE", `/v1/job/cp-${ids[2]}`)).status).toBe(200);
    await until(async () => watchers.filter((w) => w.instanceId === ids[2]).every((w) => w.seen.at(-1)?.state === InstanceState.STOPPED), "watchers of the stopped instance see STOPPED");
    for (const w of watchers) {
      for (const s of w.seen) expect(s.metadata["nomad.job_id"]).toBe(`cp-${w.instanceId}`);
      if (w.instanceId !== ids[2]) expect(w.seen.every((s) => s.state === InstanceState.RUNNING)).toBe(true);
    }
    expect(await statusReads()).toBe(readsBefore);
    expect(await streams()).toEqual({ Open: 1, Opened: 1 });

    stop.abort();
    await Promise.all(watchers.map((w) => w.done));
    // The stream belongs to the process's cache: Status keeps using it, nobody opens another.
    await client.status({ instanceId: ids[0]! }, call);
    expect(await streams()).toEqual({ Open: 1, Opened: 1 });
  });
});
