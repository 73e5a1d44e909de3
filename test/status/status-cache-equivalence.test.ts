// Status from the instance cache is exactly the uncached answer. A seeded random sequence of Provision, Deploy,
// Scale, Stop, Start, Restart, Deprovision, task crashes and writes made behind the plugin's back (straight to the
// dev agent) runs on a dev agent whose tasks use the mock driver; after each step, once the cache has applied the
// agent's latest event index, the cached Status (which must cost no Nomad request) is compared with the uncached
// one, message for message. A pair is only judged when no event happened between the two reads.

import { describe, expect, it } from "vitest";
import { DeployStrategy, InstanceState, type InstanceStatus } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { lifecycleFamily } from "../../src/provider/lifecycle-family.js";
import { releasesFamily } from "../../src/provider/releases-family.js";
import { instanceCache } from "../../src/provider/instance-cache.js";
import { createLogger } from "../../src/log.js";
import { api, useDevAgent } from "../helpers/dev-agent.js";
import { useInProcessProvider } from "../helpers/in-process-provider.js";
import { quick } from "../helpers/release-fixtures.js";

const agent = useDevAgent({ driverOverride: "mock_driver" });
const provider = useInProcessProvider(() => ({ nomadAddress: agent().address, families: [lifecycleFamily, releasesFamily] }));
const call = { deadlineMs: 30_000 };
const ids = ["inst_eq1", "inst_eq2", "inst_eq3"];

/** mulberry32: a small seeded PRNG, so a failing sequence can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function stats(): Promise<{ Requests: { Total: number }; Events: { LastIndex: number } }> {
  const s = (await api(agent(), "GET", "/v1/devagent/stats")).json as { Requests: Record<string, number>; Events: { LastIndex: number } };
  return { Events: s.Events, Requests: { Total: Object.values(s.Requests).reduce((a, b) => a + b, 0) } };
}

type Outcome = { status: InstanceStatus } | { code: number };

async function outcome(instanceId: string, uncached: boolean): Promise<Outcome> {
  try {
    return { status: (await provider().client.status({ instanceId, uncached }, call)).status! };
  } catch (err) {
    return { code: (err as { code: number }).code };
  }
}

/** Cached vs uncached, judged only when nothing happened on the agent between them. */
async function compare(instanceId: string): Promise<{ cached: Outcome; uncached: Outcome; requests: number }> {
  const cache = instanceCache(provider().nomad, createLogger({ level: "warn" }));
  cache.start();
  const deadline = Date.now() + 20_000;
  for (;;) {
    const before = await stats();
    if (!(await cache.waitForIndex(before.Events.LastIndex, 10_000))) throw new Error(`cache did not reach index ${before.Events.LastIndex}`);
    const counted = (await stats()).Requests.Total;
    const cached = await outcome(instanceId, false);
    const requests = (await stats()).Requests.Total - counted;
    const uncached = await outcome(instanceId, true);
    const after = await stats();
    if (after.Events.LastIndex === before.Events.LastIndex) return { cached, uncached, requests };
    if (Date.now() > deadline) throw new Error("the agent never held still for a comparison");
  }
}

function behindTheBack(job: any, change: (job: any) => void): unknown {
  const copy = structuredClone(job);
  change(copy);
  return { Job: copy };
}

describe("Status from the instance cache", () => {
  it("equals the uncached Status after every step of a random sequence, at zero Nomad requests", async () => {
    const seed = Number(process.env.CACHE_EQ_SEED ?? 1311);
    const random = rng(seed);
    const pick = <T,>(xs: readonly T[]) => xs[Math.floor(random() * xs.length)]!;
    const client = provider().client;
    // Provision all three first (the cache primes meanwhile), then mix.
    for (const id of ids) {
      const r = await client.provision(
        { instanceId: id, services: [{ name: "web", image: "nginx:1.25", ports: [{ container: 80, protocol: "http" }] }] },
        call,
      );
      expect(r.state, `provision ${id}: ${r.metadata["ctrlplane.message"] ?? ""}`).toBe(InstanceState.RUNNING);
    }
    const steps = ["deploy", "scale", "stop", "start", "restart", "crash", "backScale", "backStop", "deprovision", "provision"] as const;
    let release = 0;
    let judged = 0;
    for (let i = 0; i < 24; i++) {
      const id = pick(ids);
      const step = pick(steps);
      const jobPath = `/v1/job/cp-${id}`;
      const swallow = (p: Promise<unknown>) => p.catch(() => undefined);
      switch (step) {
        case "deploy":
          await swallow(
            client.deploy(
              { instanceId: id, releaseId: `r${++release}`, strategy: DeployStrategy.ROLLING, services: [{ name: "web", image: `nginx:1.${25 + release}` }], options: quick() },
              call,
            ),
          );
          break;
        case "scale":
          await swallow(client.scale({ instanceId: id, resources: { replicas: 1 + Math.floor(random() * 3) } }, call));
          break;
        case "stop":
          await swallow(client.stop({ instanceId: id }, call));
          break;
        case "start":
          await swallow(client.start({ instanceId: id }, call));
          break;
        case "restart":
          await swallow(client.restart({ instanceId: id }, call));
          break;
        case "crash": {
          // Behind the plugin's back: the task now exits 1 after 50 ms (and its restart policy takes over).
          const job = (await api(agent(), "GET", jobPath)).json;
          if (job) {
            await api(agent(), "POST", "/v1/jobs", behindTheBack(job, (j) => {
              for (const t of j.TaskGroups[0].Tasks) t.Config = { ...t.Config, run_for: "50ms", exit_code: 1 };
            }));
          }
          break;
        }
        case "backScale":
          await api(agent(), "POST", `${jobPath}/scale`, { Count: 1 + Math.floor(random() * 3), Target: { Group: "workload" } });
          break;
        case "backStop":
          await api(agent(), "DELETE", jobPath);
          break;
        case "deprovision":
          await swallow(client.deprovision({ instanceId: id }, call));
          break;
        case "provision":
          await swallow(
            client.provision({ instanceId: id, services: [{ name: "web", image: "nginx:1.25", ports: [{ container: 80, protocol: "http" }] }] }, call),
          );
          break;
      }
      for (const each of ids) {
        const { cached, uncached, requests } = await compare(each);
        expect(cached, `seed ${seed}, step ${i} (${step} ${id}), instance ${each}`).toEqual(uncached);
        if ("status" in cached) {
          expect(requests, `Nomad requests of a cached Status (seed ${seed}, step ${i})`).toBe(0);
          judged++;
        }
      }
    }
    expect(judged).toBeGreaterThan(20);
  }, 240_000);
});
