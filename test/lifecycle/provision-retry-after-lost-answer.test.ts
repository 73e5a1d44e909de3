// A Provision whose answer is lost after Nomad accepted the job (the plugin process dies while it waits for placement,
// so the host never learns the outcome), then the host's reconciler retries the same Provision against a new plugin
// process: the retry must finish the job, and Nomad must end up exactly as after one clean Provision (one job version,
// the same allocations).

import { describe, expect, it } from "vitest";
import { status as GrpcStatus } from "@grpc/grpc-js";
import { InstanceState } from "../../gen/ctrlplane/provider/v1/provider_pb.js";
import { api, until, useDevAgent } from "../helpers/dev-agent.js";
import { pluginProcessesFor } from "../helpers/plugin-process.js";
import { grpcCode, threeServiceRequest } from "../helpers/lifecycle-fixtures.js";

const agent = useDevAgent();
const plugin = pluginProcessesFor(() => agent().address);

async function nomadState(instance: string) {
  const job = (await api(agent(), "GET", `/v1/job/cp-${instance}`)).json;
  const versions = ((await api(agent(), "GET", `/v1/job/cp-${instance}/versions`)).json.Versions as { Version: number }[]).map((v) => v.Version);
  const allocs = ((await api(agent(), "GET", `/v1/job/cp-${instance}/allocations`)).json as { ClientStatus: string; DesiredStatus: string }[])
    .map((a) => `${a.DesiredStatus}/${a.ClientStatus}`)
    .sort();
  return { version: job.Version, stop: job.Stop, versions, allocs };
}

describe("Provision retried after a lost answer and a plugin restart", () => {
  it("finishes the instance and leaves Nomad as one clean Provision does", async () => {
    // The reference: one clean call.
    const clean = await plugin();
    const reference = await clean.client.provision(threeServiceRequest("inst_clean", 4), { deadlineMs: 30_000 });
    expect(reference.state).toBe(InstanceState.RUNNING);

    // The first attempt: init takes 4 s; once Nomad has the job, the plugin dies while the call waits for placement.
    const first = await plugin();
    const lost = grpcCode(first.client.provision(threeServiceRequest("inst_lost", 4), { deadlineMs: 30_000 }));
    await until(async () => (await api(agent(), "GET", "/v1/job/cp-inst_lost")).status === 200, "the job registered");
    await first.p.kill();
    expect((await lost).code).toBe(GrpcStatus.UNAVAILABLE);
    first.client.close();

    // The reconciler's retry, on a fresh plugin process.
    const second = await plugin();
    const retried = await second.client.provision(threeServiceRequest("inst_lost", 4), { deadlineMs: 30_000 });
    expect(retried.state).toBe(reference.state);
    expect(retried.serviceRefs).toEqual(reference.serviceRefs);
    expect(retried.endpoints.map((e) => [e.serviceName, e.protocol])).toEqual(reference.endpoints.map((e) => [e.serviceName, e.protocol]));
    expect(retried.metadata["ctrlplane.provision"]).toBe("unchanged");

    await until(async () => (await nomadState("inst_lost")).allocs.join() === (await nomadState("inst_clean")).allocs.join(), "same allocations");
    expect(await nomadState("inst_lost")).toEqual(await nomadState("inst_clean"));
    expect((await nomadState("inst_lost")).versions).toEqual([0]);
    second.client.close();
    clean.client.close();
  });
});
