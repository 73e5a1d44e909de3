// What the benchmarks with many instances share (bench/scale.mjs, bench/go-status.mjs): a dev agent whose one node
// holds any number of tasks without running processes, provisioning through the plugin, the agent's request counter,
// and waiting until the plugin's instance cache answers Status without asking Nomad.
import { request } from "undici";

/** Dev agent flags: tasks run under mock_driver (no processes) on a node too big to ever fill. */
export const bigNode = ["--driver-override", "mock_driver", "--cpu-mhz", "100000000", "--memory-mb", "100000000"];

const sum = (o) => Object.values(o).reduce((a, b) => a + b, 0);

export async function agentStats(address) {
  const res = await request(`${address}/v1/devagent/stats`);
  return res.body.json();
}

/** Every request the agent has answered so far (its own /v1/devagent/* endpoints are not counted). */
export async function agentRequests(address) {
  return sum((await agentStats(address)).Requests);
}

/** Provisions `ids` through the plugin, 16 in flight; each must come back RUNNING. */
export async function provisionAll(kit, client, ids) {
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      const r = await client.provision(kit.provisionRequest(id), { deadlineMs: 60_000 });
      if (r.state !== kit.InstanceState.RUNNING) throw new Error(`${id}: state ${r.state}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** Calls Status until 10 in a row cost the agent no request; resolves with the milliseconds that took. */
export async function primed(env) {
  const started = performance.now();
  for (;;) {
    const before = await agentRequests(env.agent.address);
    for (let i = 0; i < 10; i++) await env.client.status({ instanceId: env.ids[i % env.ids.length] });
    const after = await agentRequests(env.agent.address);
    // The stats read itself is not counted (/v1/devagent/* is exempt).
    if (after === before) return performance.now() - started;
    if (performance.now() - started > 120_000) throw new Error("the instance cache never answered without Nomad");
  }
}
